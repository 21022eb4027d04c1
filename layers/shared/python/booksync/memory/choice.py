"""Which vector store keeps a company's vectors: the choice per company (VectorStoreSettings).

- ``dynamodb`` (the default): MemoryTable, searched in the function (``store/memory.py``), for
  every company.
- ``s3vectors``: Amazon S3 Vectors, one index per company (``memory/s3vectors.py``), for every
  company.
- ``auto``: DynamoDB until a company holds ``MEMORY_S3VECTORS_MOVE_AT`` vectors (the size past
  which the DynamoDB store's in-function search stops being fast), then S3 Vectors for good. The
  company moves on a search that finds it that large: its index is created, every vector copied,
  then a marker vector (key ``#moved``) is put; from then on its puts, deletes and searches go to
  S3 Vectors. Its DynamoDB vectors stay where they are (nothing reads them again).

Nothing is lost in a move: a put or delete checks the marker after writing DynamoDB and writes
S3 Vectors too once it is there, and the move copies again when the company's stamp (moved by
every DynamoDB write) changed since it read the vectors, so a write that saw no marker is in a copy.
A move cut short (a timeout) leaves no marker: the next search moves the company again
(every step repeats safely).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from booksync.errors import ConfigurationError
from booksync.memory.ports import VectorStore
from booksync.memory.s3vectors import MAX_TOP_K, S3VectorsStore, index_name

if TYPE_CHECKING:
    from mypy_boto3_s3vectors import S3VectorsClient

    from booksync.settings import VectorStoreSettings

__all__ = ["MOVED_KEY", "PerCompanyVectorStore", "memory_vector_store", "s3vectors_client", "vector_store"]

# The key of the vector a finished move puts in the company's index.
MOVED_KEY = "#moved"
# A move copies again at most this many times while DynamoDB writes keep coming.
_COPIES = 5


class MovableVectors(VectorStore, Protocol):
    """The store a company moves from: its vectors can be read whole, and a stamp moves on every write."""

    def vectors(self, company_id: str) -> tuple[list[str], Any]: ...

    def stamp(self, company_id: str) -> int: ...


class PerCompanyVectorStore:
    """``VectorStore`` that keeps each company in ``small`` until it holds ``move_at`` vectors,
    then in ``large`` (S3 Vectors). Companies known to have moved are remembered for the life of
    the process, by bucket and index (a company never moves back)."""

    _known_moved: ClassVar[set[tuple[str, str]]] = set()

    def __init__(self, small: MovableVectors, large: S3VectorsStore, move_at: int) -> None:
        self.small = small
        self.large = large
        self.move_at = move_at

    def put(self, company_id: str, items: Sequence[tuple[str, Sequence[float]]]) -> None:
        if not self.moved(company_id):
            self.small.put(company_id, items)
            if not self.moved(company_id):  # a move that finished meanwhile copied them, or not:
                return
        self.large.put(company_id, items)

    def delete(self, company_id: str, keys: Collection[str]) -> None:
        if not self.moved(company_id):
            self.small.delete(company_id, keys)
            if not self.moved(company_id):
                return
        self.large.delete(company_id, keys)

    def query(
        self, company_id: str, vector: Sequence[float], top_k: int, keys: set[str] | None = None
    ) -> list[tuple[str, float]]:
        if self.moved(company_id):
            wanted = top_k if keys is not None else min(top_k + 1, MAX_TOP_K)
            found = self.large.query(company_id, vector, wanted, keys)
            return [(key, score) for key, score in found if key != MOVED_KEY][:top_k]
        found = self.small.query(company_id, vector, top_k, keys)
        names, _ = self.small.vectors(company_id)
        if len(names) >= self.move_at:
            self.move(company_id)
        return found

    def moved(self, company_id: str) -> bool:
        """Whether the company's vectors are in S3 Vectors (its index holds the marker)."""
        if self._where(company_id) in self._known_moved:
            return True
        if not self.large.get(company_id, [MOVED_KEY]):
            return False
        self._known_moved.add(self._where(company_id))
        return True

    def _where(self, company_id: str) -> tuple[str, str]:
        return self.large.bucket, index_name(company_id, self.large.dimension)

    def move(self, company_id: str) -> None:
        """Copy the company's vectors into its S3 Vectors index, then mark it moved."""
        self.large.ensure_index(company_id)
        copied: set[str] = set()
        for attempt in range(_COPIES):
            stamp = self.small.stamp(company_id)
            names, rows = self.small.vectors(company_id)
            self.large.put(company_id, list(zip(names, rows.tolist(), strict=True)))
            self.large.delete(company_id, copied - set(names))  # deleted in DynamoDB since
            copied = set(names)
            if attempt == 0:
                marker = [1.0] + [0.0] * (self.large.dimension - 1)  # any vector: cosine takes no zero
                self.large.put(company_id, [(MOVED_KEY, marker)])
            if self.small.stamp(company_id) == stamp:  # no write since this copy read them
                break
        self._known_moved.add(self._where(company_id))


def s3vectors_client(settings: VectorStoreSettings) -> S3VectorsClient:
    """boto3's ``s3vectors`` client (at MEMORY_S3VECTORS_ENDPOINT_URL when set); a runtime whose
    boto3 predates S3 Vectors is said so at cold start."""
    import boto3
    from botocore.exceptions import UnknownServiceError

    try:
        return boto3.client("s3vectors", endpoint_url=settings.s3vectors_endpoint_url)
    except UnknownServiceError:
        raise ConfigurationError(
            f"this runtime's boto3 {boto3.__version__} has no s3vectors client (1.40 and later have it)",
            fix="Ship boto3>=1.40 in the layer (remove boto3 and botocore from RUNTIME_PROVIDED in "
            "layers/shared/Makefile), or set MEMORY_VECTOR_STORE=dynamodb.",
        ) from None


def vector_store(
    settings: VectorStoreSettings,
    dimension: int,
    dynamo: MovableVectors,
    client: S3VectorsClient | None = None,
) -> VectorStore:
    """The store MEMORY_VECTOR_STORE names, for vectors of ``dimension`` (the embedder's)."""
    if settings.store == "dynamodb" or settings.s3vectors_bucket is None:
        return dynamo
    s3 = S3VectorsStore(client or s3vectors_client(settings), settings.s3vectors_bucket, dimension)
    if settings.store == "s3vectors":
        return s3
    return PerCompanyVectorStore(dynamo, s3, settings.s3vectors_move_at)


def memory_vector_store(dimension: int) -> VectorStore:
    """The vector store this function's environment names (VectorStoreSettings, read now), for
    the embedder's ``dimension``: what the memory functions' wiring builds their indexer and search
    with. A setting that cannot work is a ConfigurationError naming it."""
    from booksync.settings import VectorStoreSettings
    from booksync.store.memory import DynamoVectorStore

    return vector_store(VectorStoreSettings.from_env(), dimension, DynamoVectorStore(dimension))
