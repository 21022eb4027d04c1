"""The billing memory's ports: what embeds text, what keeps vectors, what keeps records.

Adapters: embedders in ``local_embedder.py`` (no network) and ``voyage.py``; vector stores in
``booksync/store/memory.py`` (DynamoDB) and ``s3vectors.py``; the record store in
``booksync/store/memory.py``. Everything is per company: no method reads or writes across companies.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from booksync.memory.records import BillingRecord, RecordFilter

InputType = Literal["document", "query"]


@dataclass(frozen=True)
class Embedded:
    """Vectors in the order of the texts given, and the tokens the call used (as billed)."""

    vectors: list[list[float]]
    total_tokens: int


class Embedder(Protocol):
    """Turns texts into unit vectors of ``dimension`` floats.

    ``max_inputs`` and ``max_tokens`` are one request's limits (texts, and tokens as
    ``estimate_tokens`` counts them): the indexer never sends more in one call.
    """

    @property
    def model(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_inputs(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def embed(self, texts: Sequence[str], input_type: InputType) -> Embedded: ...


def estimate_tokens(text: str) -> int:
    """An estimate of a text's tokens, for batching and cost estimates (never billing): one per
    4 characters, rounded up, at least 1 (English prose runs about 4 characters a token in the
    common subword tokenizers; numbers and codes run shorter, so this errs low on them)."""
    return max(1, math.ceil(len(text) / 4))


class VectorStore(Protocol):
    """Vectors by key, per company. ``query`` returns at most ``top_k`` (key, cosine score) pairs,
    best first, among ``keys`` when given (the keys a filter lets through)."""

    def put(self, company_id: str, items: Sequence[tuple[str, Sequence[float]]]) -> None: ...

    def query(
        self, company_id: str, vector: Sequence[float], top_k: int, keys: set[str] | None = None
    ) -> list[tuple[str, float]]: ...

    def delete(self, company_id: str, keys: Collection[str]) -> None: ...


@dataclass(frozen=True)
class Indexed:
    """What a record was last embedded from: its content hash, and the embedder (model and
    dimension, ``embedder_id``) that made its vector."""

    content_hash: str
    embedder: str


def embedder_id(embedder: Embedder) -> str:
    """``<model>/<dimension>``: vectors of two ids are not comparable."""
    return f"{embedder.model}/{embedder.dimension}"


class RecordStore(Protocol):
    """A company's records, each with what it was last embedded from.

    ``version`` changes whenever any of the company's records is put: what is derived from
    ``all`` (a keyword index) may be kept while it is the same.
    """

    def get(self, company_id: str, key: str) -> BillingRecord | None: ...

    def put(self, record: BillingRecord, indexed: Indexed) -> None: ...

    def put_many(self, items: Sequence[tuple[BillingRecord, Indexed]]) -> None:
        """Several records (of any companies) at once, each with what it was embedded from."""
        ...

    def all(self, company_id: str, filter: RecordFilter | None = None) -> list[BillingRecord]: ...

    def indexed(self, company_id: str, keys: Collection[str]) -> dict[str, Indexed]: ...

    def embedders(self, company_id: str) -> dict[str, str]:
        """Each of the company's records' keys, and the ``embedder_id`` that made its vector."""
        ...

    def version(self, company_id: str) -> str: ...
