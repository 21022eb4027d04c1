"""``VectorStore`` on Amazon S3 Vectors: one vector index per company in one vector bucket.

For companies past the size the DynamoDB store stays fast at (``choice.py`` picks the store per
company). The facts it holds to are S3 Vectors' (providers.md 7.5; the user guide's "Limitations
and restrictions"): an index is float32 with a fixed dimension and metric (cosine here), created on
a company's first put; PutVectors and DeleteVectors take at most 500 keys, GetVectors 100,
QueryVectors answers at most 100; a request is at most 20 MiB; a vector's metadata holds at most
2 KB filterable, 40 KB in all.

AWS advises one index per tenant: a company's index is named from its id (``index_name``), so no
request for one company can name another's index, and a query never sees another's vectors. Each
vector carries its key and the record's kind as filterable metadata: a query restricted to
``keys`` (what a search filter lets through, computed from the record store, which holds every
field a filter reads, items included) filters on the key, in the service, before the search.

Errors are typed: ``VectorStoreUnavailable`` (throttled, 5xx, timeouts: retry later; botocore's
own retries have run first), ``VectorStoreRefused`` (the service refused the request or the
bucket: a setting or a bug to fix, saying which), ``VectorIndexMismatch`` (the company's index
holds vectors of another dimension or metric than the embedder's).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from booksync.errors import BooksyncError

if TYPE_CHECKING:
    from mypy_boto3_s3vectors import S3VectorsClient
    from mypy_boto3_s3vectors.type_defs import PutInputVectorTypeDef

__all__ = [
    "MAX_DELETE",
    "MAX_GET",
    "MAX_PUT",
    "MAX_TOP_K",
    "S3VectorsStore",
    "VectorIndexMismatch",
    "VectorStoreError",
    "VectorStoreRefused",
    "VectorStoreUnavailable",
    "index_name",
]

# S3 Vectors' limits (providers.md 7.5).
MAX_PUT = 500
MAX_DELETE = 500
MAX_GET = 100
MAX_TOP_K = 100
MAX_FILTERABLE_METADATA_BYTES = 2 * 1024
# A request's payload is at most 20 MiB: a PutVectors of 500 vectors of 2,048 floats (about 20
# bytes each as JSON) comes close, so a put also holds to a budget of 16 MiB, counting 24 bytes a
# float and 512 for a vector's key and metadata.
MAX_PUT_BYTES = 16 * 1024 * 1024
_BYTES_PER_FLOAT = 24
_BYTES_PER_VECTOR = 512
# Keys named in one query's ``$in`` filter. The guide gives no limit of a filter's own (a request
# is at most 20 MiB); 500 keys of ~60 bytes is ~30 KB.
KEYS_PER_FILTER = 500
METRIC: Literal["cosine"] = "cosine"
DATA_TYPE: Literal["float32"] = "float32"

_THROTTLED = {"TooManyRequestsException", "ThrottlingException", "SlowDown"}
_UNAVAILABLE = {"ServiceUnavailableException", "InternalServerException", "RequestTimeoutException"}
_SLUG = re.compile(r"[^a-z0-9]+")

T = TypeVar("T")


class VectorStoreError(BooksyncError):
    """The vector store (S3 Vectors) failed a call; ``retryable`` says whether trying later helps."""

    code = "vector_store_error"
    retryable = False

    def __init__(self, message: str, *, fix: str = "", service_code: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.service_code = service_code


class VectorStoreUnavailable(VectorStoreError):
    """Throttled, a 5xx or no answer, after botocore's retries: the same call may succeed later
    (every call here is safe to repeat: a put overwrites by key, a delete of a gone key is done)."""

    code = "vector_store_unavailable"
    retryable = True


class VectorStoreRefused(VectorStoreError):
    """The service refused the call (a missing bucket, no permission, a request it finds invalid):
    repeating it will not help."""

    code = "vector_store_refused"


class VectorIndexMismatch(VectorStoreError):
    """The company's index exists with another dimension or metric than this store's."""

    code = "vector_index_mismatch"


def index_name(company_id: str, dimension: int) -> str:
    """The company's index for vectors of ``dimension``: ``co-<slug>-<digest>-d<dimension>``.

    Index names are 3 to 63 lowercase letters, digits, hyphens and dots, starting and ending with a
    letter or digit. The slug (the id lowercased, other characters as hyphens, at most 30) keeps it
    readable; the digest (SHA-256 of the exact id, 16 hex digits) keeps two ids apart that slug alike
    (``Acme`` and ``acme``). The dimension is in the name: an embedder of another dimension gets an
    index of its own instead of vectors the old one cannot hold.
    """
    if not company_id:
        raise VectorStoreRefused("a company id is required to name its vector index")
    slug = _SLUG.sub("-", company_id.lower()).strip("-")[:30].strip("-")
    digest = hashlib.sha256(company_id.encode("utf-8")).hexdigest()[:16]
    return f"co-{slug}-{digest}-d{dimension}" if slug else f"co-{digest}-d{dimension}"


def key_metadata(key: str) -> dict[str, str]:
    """A vector's filterable metadata: its key (what ``query(keys=...)`` filters on) and, from a
    record key ``<kind>#<doc id>``, the record's kind."""
    kind, sep, _ = key.partition("#")
    metadata = {"key": key, "kind": kind} if sep else {"key": key}
    size = len(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_FILTERABLE_METADATA_BYTES:
        raise VectorStoreRefused(
            f"the vector key {key[:60]!r}... makes {size} bytes of filterable metadata; "
            f"S3 Vectors keeps at most {MAX_FILTERABLE_METADATA_BYTES}",
            fix="Use shorter record keys (document ids).",
        )
    return metadata


@dataclass
class _Best:
    """The best (key, score) pairs seen over several queries."""

    top_k: int
    found: dict[str, float]

    def add(self, pairs: Sequence[tuple[str, float]]) -> None:
        for key, score in pairs:
            if score > self.found.get(key, float("-inf")):
                self.found[key] = score

    def result(self) -> list[tuple[str, float]]:
        return sorted(self.found.items(), key=lambda pair: (-pair[1], pair[0]))[: self.top_k]


class S3VectorsStore:
    """``VectorStore`` on one S3 Vectors bucket, one cosine index of ``dimension`` per company.

    ``client`` is boto3's ``s3vectors`` client (its ``endpoint_url`` the stand-in in tests). The
    bucket must exist (created once per deployment; the template's ``MemoryVectorBucketName``);
    indexes are created here, on a company's first put. Indexes known to exist are remembered
    for the life of the process.
    """

    def __init__(self, client: S3VectorsClient, bucket: str, dimension: int) -> None:
        if not bucket:
            raise VectorStoreRefused(
                "no S3 Vectors bucket is named (MEMORY_S3VECTORS_BUCKET is empty)",
                fix="Set MEMORY_S3VECTORS_BUCKET to the vector bucket's name.",
            )
        if not 1 <= dimension <= 4096:
            raise VectorStoreRefused(f"S3 Vectors takes dimensions 1 to 4096, not {dimension}")
        self.client = client
        self.bucket = bucket
        self.dimension = dimension
        self._ready: set[str] = set()
        self._bucket_seen = False

    # ------------------------------------------------------------ the port

    def put(self, company_id: str, items: Sequence[tuple[str, Sequence[float]]]) -> None:
        """Store each (key, vector), replacing a key's earlier vector; the index is created first
        when the company has none. The last of a key given twice wins."""
        latest = dict(items)
        if not latest:
            return
        vectors: list[PutInputVectorTypeDef] = [
            {"key": key, "data": {"float32": self._vector(vector, key)}, "metadata": key_metadata(key)}
            for key, vector in latest.items()
        ]
        index = self.ensure_index(company_id)
        for chunk in _chunks(vectors, self.put_batch):
            self._call(
                "PutVectors",
                partial(
                    self.client.put_vectors, vectorBucketName=self.bucket, indexName=index, vectors=chunk
                ),
            )

    @property
    def put_batch(self) -> int:
        """Vectors a PutVectors carries: 500, fewer where that many would pass the payload budget."""
        size = self.dimension * _BYTES_PER_FLOAT + _BYTES_PER_VECTOR
        return max(1, min(MAX_PUT, MAX_PUT_BYTES // size))

    def query(
        self, company_id: str, vector: Sequence[float], top_k: int, keys: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """At most ``top_k`` (≤ 100) (key, cosine similarity) pairs, best first, among ``keys`` when
        given. A company without an index has no vectors: nothing is found.

        Restricted to ``keys``: up to ``KEYS_PER_FILTER`` of them are one query filtered on the
        key. More: the 100 nearest of the whole index first, kept when ``top_k`` of them are among
        ``keys`` (then they are the nearest among ``keys``), else one filtered query per
        ``KEYS_PER_FILTER`` keys, merged."""
        if top_k <= 0 or (keys is not None and not keys):
            return []
        if top_k > MAX_TOP_K:
            raise VectorStoreRefused(
                f"S3 Vectors answers at most {MAX_TOP_K} vectors a query, not {top_k}",
                fix=f"Ask for top_k of {MAX_TOP_K} or fewer.",
            )
        index = index_name(company_id, self.dimension)
        data = self._vector(vector, "the query")
        if keys is None or len(keys) <= KEYS_PER_FILTER:
            return self._query(index, data, top_k, keys)
        everywhere = self._query(index, data, MAX_TOP_K, None)
        nearest = [(k, s) for k, s in everywhere if k in keys]
        if len(nearest) >= top_k or len(everywhere) < MAX_TOP_K:  # enough, or the whole index
            return nearest[:top_k]
        best = _Best(top_k, {})
        for chunk in _chunks(sorted(keys), KEYS_PER_FILTER):
            best.add(self._query(index, data, top_k, set(chunk)))
        return best.result()

    def delete(self, company_id: str, keys: Collection[str]) -> None:
        """Remove these keys' vectors (a key without one is skipped; no index, nothing to do)."""
        wanted = sorted(set(keys))
        if not wanted:
            return
        index = index_name(company_id, self.dimension)
        for chunk in _chunks(wanted, MAX_DELETE):
            try:
                self._call(
                    "DeleteVectors",
                    partial(
                        self.client.delete_vectors, vectorBucketName=self.bucket, indexName=index, keys=chunk
                    ),
                    missing_index_ok=True,
                )
            except _NoIndex:
                return

    # ------------------------------------------------------------ beyond the port

    def get(self, company_id: str, keys: Collection[str]) -> dict[str, list[float]]:
        """The stored vectors of these keys (those that have one), 100 keys a call."""
        wanted = sorted(set(keys))
        index = index_name(company_id, self.dimension)
        found: dict[str, list[float]] = {}
        for chunk in _chunks(wanted, MAX_GET):
            try:
                answer = self._call(
                    "GetVectors",
                    partial(
                        self.client.get_vectors,
                        vectorBucketName=self.bucket,
                        indexName=index,
                        keys=chunk,
                        returnData=True,
                    ),
                    missing_index_ok=True,
                )
            except _NoIndex:
                return {}
            for vector in answer["vectors"]:
                data = vector.get("data", {}).get("float32")
                if data is not None:
                    found[vector["key"]] = list(data)
        return found

    def has_index(self, company_id: str) -> bool:
        """Whether the company's index exists (it does from the company's first put on)."""
        index = index_name(company_id, self.dimension)
        if index in self._ready:
            return True
        try:
            self._check_index(index)
        except _NoIndex:
            return False
        return True

    def ensure_index(self, company_id: str) -> str:
        """The company's index name, the index created (cosine, float32, ``dimension``) if missing."""
        index = index_name(company_id, self.dimension)
        if index in self._ready:
            return index
        try:
            self._check_index(index)
        except _NoIndex:
            try:
                self._call(
                    "CreateIndex",
                    lambda: self.client.create_index(
                        vectorBucketName=self.bucket,
                        indexName=index,
                        dataType=DATA_TYPE,
                        dimension=self.dimension,
                        distanceMetric=METRIC,
                    ),
                )
            except VectorStoreRefused as refused:
                if refused.service_code != "ConflictException":  # another process created it first
                    raise
                self._check_index(index)
        self._ready.add(index)
        return index

    # ------------------------------------------------------------ parts

    def _query(
        self, index: str, data: list[float], top_k: int, keys: set[str] | None
    ) -> list[tuple[str, float]]:
        request: dict[str, Any] = {
            "vectorBucketName": self.bucket,
            "indexName": index,
            "topK": top_k,
            "queryVector": {"float32": data},
            "returnDistance": True,
        }
        if keys is not None:
            request["filter"] = {"key": {"$in": sorted(keys)}}
        try:
            answer = self._call(
                "QueryVectors", lambda: self.client.query_vectors(**request), missing_index_ok=True
            )
        except _NoIndex:
            return []
        # A cosine index answers the cosine distance: 1 - cosine similarity.
        return [(found["key"], 1.0 - float(found["distance"])) for found in answer["vectors"]]

    def _check_index(self, index: str) -> None:
        answer = self._call(
            "GetIndex",
            lambda: self.client.get_index(vectorBucketName=self.bucket, indexName=index),
            missing_index_ok=True,
        )
        found = answer["index"]
        if found["dimension"] != self.dimension or found["distanceMetric"] != METRIC:
            raise VectorIndexMismatch(
                f"the index {index} holds {found['distanceMetric']} vectors of dimension "
                f"{found['dimension']}; this store writes {METRIC} vectors of {self.dimension}",
                fix=f"Delete {index} from {self.bucket}, then embed the company's records again.",
            )

    def _vector(self, vector: Sequence[float], what: str) -> list[float]:
        values = [float(v) for v in vector]
        if len(values) != self.dimension:
            raise VectorStoreRefused(
                f"{what}: the vector has {len(values)} dimensions; the index takes {self.dimension}",
                fix="Embed with the embedder this store was set up for.",
            )
        return values

    def _call(self, operation: str, call: Callable[[], T], *, missing_index_ok: bool = False) -> T:
        try:
            return call()
        except ClientError as error:
            raise self._typed(operation, error, missing_index_ok) from error
        except BotoCoreError as error:  # no answer: connection, timeout
            raise VectorStoreUnavailable(
                f"S3 Vectors did not answer {operation}: {error}", fix="Try again later."
            ) from error

    def _typed(self, operation: str, error: ClientError, missing_index_ok: bool) -> Exception:
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = str(error.response.get("Error", {}).get("Message", ""))
        said = f"S3 Vectors refused {operation} ({code}): {message}"
        if code in _THROTTLED or code in _UNAVAILABLE:
            return VectorStoreUnavailable(
                f"S3 Vectors could not serve {operation} now ({code}): {message}",
                fix="Try again later.",
                service_code=code,
            )
        if code == "NotFoundException":
            # The index or the bucket: only a missing index is a company without vectors yet.
            if missing_index_ok and self._bucket_exists():
                return _NoIndex()
            return VectorStoreRefused(
                said,
                fix=f"Create the vector bucket {self.bucket}, or set MEMORY_S3VECTORS_BUCKET to another.",
                service_code=code,
            )
        if code == "AccessDeniedException":
            return VectorStoreRefused(
                said,
                fix=f"Allow the function s3vectors:{operation} on the bucket {self.bucket} and its indexes.",
                service_code=code,
            )
        return VectorStoreRefused(said, service_code=code)

    def _bucket_exists(self) -> bool:
        if self._bucket_seen:
            return True
        try:
            self.client.get_vector_bucket(vectorBucketName=self.bucket)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NotFoundException":
                return False
            raise self._typed("GetVectorBucket", error, missing_index_ok=False) from error
        self._bucket_seen = True
        return True


class _NoIndex(Exception):
    """The company's index does not exist (yet)."""


def _chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
