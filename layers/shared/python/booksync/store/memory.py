"""The billing memory in DynamoDB (MemoryTable): records, their vectors, and a stamp per company.

Rows, all under the company's partition (``company_id``):
- ``<kind>#<doc id>``: a record (``MemoryRecordModel``) with the content hash and embedder its
  vector was made from;
- ``vec#<kind>#<doc id>``: its vector (``MemoryVectorModel``), int8 with a scale;
- ``#stamp``: two counters (``MemoryStampModel``), moved after every write of a record or vector.

A warm function keeps each company's records and vectors read once, and reads them again only when
the stamp has moved: one consistent GetItem per use while nothing changed. The stamp is read before
the rows, so a copy is never newer than the stamp it is kept under (at worst older: read again).
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from booksync.memory.ports import Indexed
from booksync.memory.records import BillingRecord, RecordFilter, RecordKind
from booksync.store.models import MemoryRecordModel, MemoryStampModel, MemoryVectorModel

if TYPE_CHECKING:  # numpy is imported only where vectors are used (the memory functions' paths)
    import numpy as np
    import numpy.typing as npt

    from booksync.memory.matrix import VectorMatrix

VECTOR_PREFIX = "vec#"
# DynamoDB's BatchGetItem and BatchWriteItem limits.
_BATCH_GET = 100

Counter = Literal["records", "vectors"]
T = TypeVar("T")


def read_stamp(company_id: str, counter: Counter) -> int:
    try:
        stamp = MemoryStampModel.get(company_id, "#stamp", consistent_read=True)
    except MemoryStampModel.DoesNotExist:
        return 0
    return int(stamp.records if counter == "records" else stamp.vectors)


def bump_stamp(company_id: str, counter: Counter) -> None:
    attribute = MemoryStampModel.records if counter == "records" else MemoryStampModel.vectors
    MemoryStampModel(company_id, "#stamp").update(actions=[attribute.add(1)])


@dataclass
class _Copy(Generic[T]):
    stamp: int
    value: T
    size: int  # bytes, measured (vectors) or estimated (records)


# The memory Lambda gives the function (its MemorySize), and what is assumed where it is unset
# (template.yaml's Globals MemorySize).
MEMORY_SIZE_VARIABLE = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
DEFAULT_MEMORY_MB = 512
MEGABYTE = 1024 * 1024


def function_memory_bytes() -> int:
    """The function's memory in bytes: AWS_LAMBDA_FUNCTION_MEMORY_SIZE (MB), else 512 MB."""
    said = os.environ.get(MEMORY_SIZE_VARIABLE, "").strip()
    megabytes = int(said) if said.isdigit() and int(said) > 0 else DEFAULT_MEMORY_MB
    return megabytes * MEGABYTE


class WarmCache(Generic[T]):
    """Per-company copies kept across warm invocations, each under the stamp it was read at; the
    least recently used are dropped while all together take more than ``share`` of the function's
    memory (the copy just read is always kept: the search needs it)."""

    def __init__(self, share: float, memory_bytes: int | None = None) -> None:
        self.share = share
        self.max_bytes = int(share * (memory_bytes if memory_bytes is not None else function_memory_bytes()))
        self._copies: OrderedDict[tuple[str, ...], _Copy[T]] = OrderedDict()

    def get(
        self, company_id: str, counter: Counter, load: Callable[[], tuple[T, int]], variant: str = ""
    ) -> T:
        """The company's copy at the current stamp: ``load()`` (value, its bytes) when it moved.
        ``variant`` tells apart copies of one company read differently (a vector dimension)."""
        key = (MemoryRecordModel.Meta.table_name, company_id, variant)
        stamp = read_stamp(company_id, counter)
        copy = self._copies.get(key)
        if copy is None or copy.stamp != stamp:
            value, size = load()
            copy = _Copy(stamp, value, size)
            self._copies[key] = copy
        self._copies.move_to_end(key)
        while len(self._copies) > 1 and self.bytes_held() > self.max_bytes:
            self._copies.popitem(last=False)
        return copy.value

    def bytes_held(self) -> int:
        return sum(c.size for c in self._copies.values())

    def __len__(self) -> int:
        return len(self._copies)

    def clear(self) -> None:
        self._copies.clear()


# What one record takes in a warm copy, estimated (a one-line record measures about 1.4 KB in
# Python objects, its key and embedder in the embedders map about 0.2 KB more): generous, so the
# budget is not overrun.
RECORD_BYTES = 1_024 + 256
LINE_BYTES = 512
# A vector's key in the warm matrix (a str and its list slot), besides its row's bytes.
KEY_BYTES = 128


def record_bytes(record: BillingRecord) -> int:
    return RECORD_BYTES + LINE_BYTES * len(record.lines)


def _record(row: MemoryRecordModel) -> BillingRecord:
    return BillingRecord.from_dict(row.record)


class DynamoRecordStore:
    """``RecordStore`` on MemoryTable."""

    # One process keeps companies' records (each with the embedder that made its vector) in at
    # most 15% of the function's memory, by record_bytes; the vectors' copies take 35%.
    cache: WarmCache[tuple[list[BillingRecord], dict[str, str]]] = WarmCache(share=0.15)

    def get(self, company_id: str, key: str) -> BillingRecord | None:
        try:
            return _record(MemoryRecordModel.get(company_id, key, consistent_read=True))
        except MemoryRecordModel.DoesNotExist:
            return None

    def put(self, record: BillingRecord, indexed: Indexed) -> None:
        self.put_many([(record, indexed)])

    def put_many(self, items: Sequence[tuple[BillingRecord, Indexed]]) -> None:
        now = time.time()
        with MemoryRecordModel.batch_write() as batch:
            for record, indexed in items:
                batch.save(
                    MemoryRecordModel(
                        record.company_id,
                        record.key,
                        record=record.to_dict(),
                        content_hash=indexed.content_hash,
                        embedder=indexed.embedder,
                        updated_at=now,
                    )
                )
        for company_id in sorted({record.company_id for record, _ in items}):
            bump_stamp(company_id, "records")

    def _load(self, company_id: str) -> tuple[tuple[list[BillingRecord], dict[str, str]], int]:
        rows = [
            row
            for kind in RecordKind
            for row in MemoryRecordModel.query(
                company_id, MemoryRecordModel.record_key.startswith(f"{kind.value}#"), consistent_read=True
            )
        ]
        records = [_record(row) for row in rows]
        embedders = {str(row.record_key): str(row.embedder) for row in rows}
        return (records, embedders), sum(map(record_bytes, records))

    def _warm(self, company_id: str) -> tuple[list[BillingRecord], dict[str, str]]:
        return self.cache.get(company_id, "records", lambda: self._load(company_id))

    def all(self, company_id: str, filter: RecordFilter | None = None) -> list[BillingRecord]:
        return [r for r in self._warm(company_id)[0] if filter is None or filter.matches(r)]

    def embedders(self, company_id: str) -> dict[str, str]:
        return dict(self._warm(company_id)[1])

    def indexed(self, company_id: str, keys: Collection[str]) -> dict[str, Indexed]:
        wanted = sorted(set(keys))
        found: dict[str, Indexed] = {}
        for start in range(0, len(wanted), _BATCH_GET):
            chunk = [(company_id, key) for key in wanted[start : start + _BATCH_GET]]
            for row in MemoryRecordModel.batch_get(
                chunk,
                consistent_read=True,
                attributes_to_get=["company_id", "record_key", "content_hash", "embedder"],
            ):
                found[row.record_key] = Indexed(row.content_hash, row.embedder)
        return found

    def version(self, company_id: str) -> str:
        return str(read_stamp(company_id, "records"))


def quantize(vector: Sequence[float]) -> tuple[bytes, float]:
    """int8 bytes and the scale that brings them back (``int8 * scale``): the largest component
    maps to ±127, so the error per component is at most half a step (``scale / 2``)."""
    import numpy as np

    values = np.asarray(vector, dtype=np.float32)
    peak = float(np.abs(values).max()) if values.size else 0.0
    scale = peak / 127.0 if peak > 0 else 1.0
    return np.round(values / scale).astype(np.int8).tobytes(), scale


class DynamoVectorStore:
    """``VectorStore`` on MemoryTable: each vector a row of int8 bytes; the company's vectors read
    once into a matrix (unit rows) and searched with numpy, kept while the stamp has not moved."""

    # One process keeps companies' matrices in at most 35% of the function's memory, by their
    # bytes (float32: 4 KB a vector at dimension 1024; 512 MB keep about 44,000), each company's
    # copy apart per dimension (two stores of different dimensions never share one).
    cache: WarmCache[VectorMatrix] = WarmCache(share=0.35)

    def __init__(self, dimension: int | None = None) -> None:
        """``dimension``: the embedder's; a vector of another (made before the embedder changed)
        is left out of the search (never stacked with the others), until it is embedded again."""
        self.dimension = dimension

    def put(self, company_id: str, items: Sequence[tuple[str, Sequence[float]]]) -> None:
        if not items:
            return
        with MemoryVectorModel.batch_write() as batch:
            for key, vector in items:
                data, scale = quantize(vector)
                batch.save(MemoryVectorModel(company_id, VECTOR_PREFIX + key, vector=data, scale=scale))
        bump_stamp(company_id, "vectors")

    def delete(self, company_id: str, keys: Collection[str]) -> None:
        if not keys:
            return
        with MemoryVectorModel.batch_write() as batch:
            for key in keys:
                batch.delete(MemoryVectorModel(company_id, VECTOR_PREFIX + key))
        bump_stamp(company_id, "vectors")

    def _load(self, company_id: str) -> tuple[VectorMatrix, int]:
        import numpy as np

        from booksync.memory.matrix import VectorMatrix

        keys: list[str] = []
        rows: list[npt.NDArray[np.float32]] = []
        for row in MemoryVectorModel.query(
            company_id, MemoryVectorModel.record_key.startswith(VECTOR_PREFIX), consistent_read=True
        ):
            if self.dimension is not None and len(row.vector) != self.dimension:
                continue  # int8: one byte a component
            keys.append(row.record_key[len(VECTOR_PREFIX) :])
            rows.append(np.frombuffer(row.vector, dtype=np.int8).astype(np.float32) * np.float32(row.scale))
        matrix = VectorMatrix(keys, np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32))
        return matrix, int(matrix.rows.nbytes) + KEY_BYTES * len(keys)

    def vectors(self, company_id: str) -> tuple[list[str], npt.NDArray[np.float32]]:
        """The company's keys and their vectors (unit rows, as searched), from the warm copy: what
        moving a company to S3 Vectors copies (``memory/choice.py``)."""
        matrix = self._warm(company_id)
        return list(matrix.keys), matrix.rows

    def _warm(self, company_id: str) -> VectorMatrix:
        return self.cache.get(
            company_id, "vectors", lambda: self._load(company_id), variant=str(self.dimension)
        )

    def stamp(self, company_id: str) -> int:
        """The company's vector stamp: it moves on every put and delete."""
        return read_stamp(company_id, "vectors")

    def query(
        self, company_id: str, vector: Sequence[float], top_k: int, keys: set[str] | None = None
    ) -> list[tuple[str, float]]:
        return self._warm(company_id).search(vector, top_k, keys)
