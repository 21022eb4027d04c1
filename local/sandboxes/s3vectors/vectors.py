"""The stand-in's vector buckets, indexes and vectors, and what each operation does with them.

Each operation takes a request body the model has already accepted and answers its output body
(the wire form: timestamps as epoch seconds). What the model cannot say and the service enforces
is checked here, each rule from providers.md 7.5 / the S3 Vectors user guide ("Limitations and
restrictions", "Vector bucket naming rules", "Metadata filtering"), or marked assumed:
names, a vector's dimension, topK <= 100, metadata (at most 50 keys; 2 KB filterable, 40 KB in
all, measured as the UTF-8 bytes of its compact JSON: the measure is assumed), a cosine index
refusing an all-zero vector (assumed), one key twice in a PutVectors (assumed refused).

Search is exact (every filtered vector's distance, nearest first); the service's is approximate.
Vectors are kept as float32, as the service keeps them, so GetVectors answers what it stored.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from local.sandboxes.s3vectors.filters import FilterError, compile_filter

MAX_TOP_K = 100
MAX_METADATA_KEYS = 50
MAX_FILTERABLE_METADATA_BYTES = 2 * 1024
MAX_METADATA_BYTES = 40 * 1024
MAX_LIST_PAGE = 1000
MAX_PAYLOAD_BYTES = 20 * 1024 * 1024
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
INDEX_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class ServiceError(Exception):
    """An answer of the service's error shapes: ``code`` is the model's shape name."""

    def __init__(self, code: str, message: str, fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.fields is not None:
            body["fieldList"] = self.fields
        return body


def invalid(message: str, path: str | None = None) -> ServiceError:
    fields = [{"path": path, "message": message}] if path else None
    return ServiceError("ValidationException", message, fields)


@dataclass
class Stored:
    data: np.ndarray[Any, np.dtype[np.float32]]
    metadata: dict[str, Any] | None


@dataclass
class VectorIndex:
    bucket: str
    name: str
    arn: str
    created: float
    dimension: int
    metric: str
    non_filterable: tuple[str, ...]
    vectors: dict[str, Stored] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "vectorBucketName": self.bucket,
            "indexName": self.name,
            "indexArn": self.arn,
            "creationTime": self.created,
        }


@dataclass
class VectorBucket:
    name: str
    arn: str
    created: float
    indexes: dict[str, VectorIndex] = field(default_factory=dict)


class VectorService:
    """All vector buckets of one account in one region; every operation under one lock."""

    def __init__(self, region: str, account: str, now: Callable[[], float]) -> None:
        self.region = region
        self.account = account
        self.now = now
        self.lock = threading.Lock()
        self.buckets: dict[str, VectorBucket] = {}

    def reset(self) -> None:
        with self.lock:
            self.buckets.clear()

    # ------------------------------------------------------------ buckets

    def bucket_arn(self, name: str) -> str:
        return f"arn:aws:s3vectors:{self.region}:{self.account}:bucket/{name}"

    def create_vector_bucket(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body["vectorBucketName"]
        if BUCKET_NAME.fullmatch(name) is None:
            raise invalid(
                "a vector bucket name is 3 to 63 lowercase letters, numbers and hyphens, "
                "beginning and ending with a letter or number",
                "vectorBucketName",
            )
        if name in self.buckets:
            raise ServiceError("ConflictException", f"the vector bucket {name} already exists")
        self.buckets[name] = VectorBucket(name, self.bucket_arn(name), self.now())
        return {"vectorBucketArn": self.bucket_arn(name)}

    def get_vector_bucket(self, body: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(body)
        return {
            "vectorBucket": {
                "vectorBucketName": bucket.name,
                "vectorBucketArn": bucket.arn,
                "creationTime": bucket.created,
            }
        }

    def delete_vector_bucket(self, body: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(body)
        if bucket.indexes:
            raise ServiceError("ConflictException", f"the vector bucket {bucket.name} still has indexes")
        del self.buckets[bucket.name]
        return {}

    # ------------------------------------------------------------ indexes

    def create_index(self, body: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(body)
        name = body["indexName"]
        if INDEX_NAME.fullmatch(name) is None:
            raise invalid(
                "an index name is 3 to 63 lowercase letters, numbers, hyphens and dots, "
                "beginning and ending with a letter or number",
                "indexName",
            )
        if name in bucket.indexes:
            raise ServiceError("ConflictException", f"the index {name} already exists in {bucket.name}")
        keys = tuple(body.get("metadataConfiguration", {}).get("nonFilterableMetadataKeys", ()))
        arn = f"{bucket.arn}/index/{name}"
        bucket.indexes[name] = VectorIndex(
            bucket.name, name, arn, self.now(), body["dimension"], body["distanceMetric"], keys
        )
        return {"indexArn": arn}

    def get_index(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        found: dict[str, Any] = {
            **index.summary(),
            "dataType": "float32",
            "dimension": index.dimension,
            "distanceMetric": index.metric,
        }
        if index.non_filterable:
            found["metadataConfiguration"] = {"nonFilterableMetadataKeys": list(index.non_filterable)}
        return {"index": found}

    def list_indexes(self, body: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(body)
        prefix = body.get("prefix", "")
        names = sorted(name for name in bucket.indexes if name.startswith(prefix))
        page, token = _page(names, body.get("nextToken"), body.get("maxResults", 500))
        answer: dict[str, Any] = {"indexes": [bucket.indexes[name].summary() for name in page]}
        if token is not None:
            answer["nextToken"] = token
        return answer

    def delete_index(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        del self.buckets[index.bucket].indexes[index.name]
        return {}

    # ------------------------------------------------------------ vectors

    def put_vectors(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        staged: dict[str, Stored] = {}
        for i, vector in enumerate(body["vectors"]):
            key = vector["key"]
            if key in staged:
                raise invalid(f"the key {key!r} is given twice in one request", f"vectors[{i}].key")
            data = self._data(index, vector["data"], f"vectors[{i}].data")
            metadata = vector.get("metadata")
            _check_metadata(metadata, index, f"vectors[{i}].metadata")
            staged[key] = Stored(data, metadata)
        index.vectors.update(staged)
        return {}

    def get_vectors(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        found = [self._vector(key, index.vectors[key], body) for key in body["keys"] if key in index.vectors]
        return {"vectors": found}

    def list_vectors(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        count, segment = body.get("segmentCount"), body.get("segmentIndex")
        if (count is None) != (segment is None) or (count is not None and segment >= count):
            raise invalid("segmentCount and segmentIndex go together, segmentIndex below segmentCount")
        keys = sorted(index.vectors)
        if count is not None:
            keys = keys[segment::count]
        page, token = _page(keys, body.get("nextToken"), body.get("maxResults", 500))
        answer: dict[str, Any] = {"vectors": [self._vector(k, index.vectors[k], body) for k in page]}
        if token is not None:
            answer["nextToken"] = token
        return answer

    def delete_vectors(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        for key in body["keys"]:
            index.vectors.pop(key, None)
        return {}

    def query_vectors(self, body: dict[str, Any]) -> dict[str, Any]:
        index = self._index(body)
        for unsupported in ("queryTexts", "returnScores", "queryMode", "nextToken"):
            if unsupported in body:
                raise invalid(
                    f"{unsupported} is not served by this stand-in (vector queries only)", unsupported
                )
        if "queryVector" not in body:
            raise invalid("queryVector is required for a vector query", "queryVector")
        top_k = body["topK"]
        if top_k > MAX_TOP_K:
            raise invalid(f"topK must be at most {MAX_TOP_K}, got {top_k}", "topK")
        query = self._data(index, body["queryVector"], "queryVector")
        candidates = list(index.vectors.items())
        if "filter" in body:
            try:
                keep = compile_filter(body["filter"], index.non_filterable)
            except FilterError as bad:
                raise invalid(str(bad), "filter") from None
            candidates = [(k, v) for k, v in candidates if keep(v.metadata or {})]
        answer: list[dict[str, Any]] = []
        if candidates:
            matrix = np.stack([stored.data for _, stored in candidates])
            distances = _distances(matrix, query, index.metric)
            for position in np.argsort(distances, kind="stable")[:top_k]:
                key, stored = candidates[int(position)]
                found: dict[str, Any] = {"key": key}
                if body.get("returnDistance"):
                    found["distance"] = float(distances[position])
                if body.get("returnMetadata") and stored.metadata is not None:
                    found["metadata"] = stored.metadata
                answer.append(found)
        return {"vectors": answer, "distanceMetric": index.metric}

    # ------------------------------------------------------------ parts

    def _bucket(self, body: dict[str, Any]) -> VectorBucket:
        name, arn = body.get("vectorBucketName"), body.get("vectorBucketArn")
        if (name is None) == (arn is None):
            raise invalid("name the vector bucket by exactly one of vectorBucketName or vectorBucketArn")
        if arn is not None:
            prefix = self.bucket_arn("")
            name = arn[len(prefix) :] if arn.startswith(prefix) else None
        bucket = self.buckets.get(name) if name is not None else None
        if bucket is None:
            raise ServiceError("NotFoundException", f"the vector bucket {name or arn} does not exist")
        return bucket

    def _index(self, body: dict[str, Any]) -> VectorIndex:
        arn = body.get("indexArn")
        if arn is not None:
            if "vectorBucketName" in body or "indexName" in body:
                raise invalid("name the index by indexArn alone, or by vectorBucketName and indexName")
            bucket_arn, _, name = arn.partition("/index/")
            bucket = self._bucket({"vectorBucketArn": bucket_arn})
        else:
            if "indexName" not in body or "vectorBucketName" not in body:
                raise invalid("name the index by indexArn, or by vectorBucketName and indexName")
            bucket, name = self._bucket({"vectorBucketName": body["vectorBucketName"]}), body["indexName"]
        index = bucket.indexes.get(name)
        if index is None:
            raise ServiceError("NotFoundException", f"the index {name} does not exist in {bucket.name}")
        return index

    def _data(
        self, index: VectorIndex, data: dict[str, Any], path: str
    ) -> np.ndarray[Any, np.dtype[np.float32]]:
        values = data["float32"]
        if len(values) != index.dimension:
            raise invalid(
                f"the vector has {len(values)} dimensions; the index {index.name} takes {index.dimension}",
                f"{path}.float32",
            )
        if any(isinstance(v, str) for v in values):
            raise invalid("vector values must be finite numbers (no NaN or Infinity)", f"{path}.float32")
        vector = np.asarray(values, dtype=np.float32)
        if not np.all(np.isfinite(vector)):
            raise invalid("vector values must be finite float32 numbers", f"{path}.float32")
        if index.metric == "cosine" and not np.any(vector):
            raise invalid("a cosine index takes no all-zero vector", f"{path}.float32")
        return vector

    @staticmethod
    def _vector(key: str, stored: Stored, body: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = {"key": key}
        if body.get("returnData"):
            found["data"] = {"float32": [float(v) for v in stored.data]}
        if body.get("returnMetadata") and stored.metadata is not None:
            found["metadata"] = stored.metadata
        return found


def _distances(
    matrix: np.ndarray[Any, Any], query: np.ndarray[Any, Any], metric: str
) -> np.ndarray[Any, Any]:
    if metric == "euclidean":
        return np.asarray(np.linalg.norm(matrix - query, axis=1))
    norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(query))
    return np.asarray(1.0 - (matrix @ query) / norms)


def _check_metadata(metadata: object, index: VectorIndex, path: str) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise invalid("metadata is an object of keys to values", path)
    if len(metadata) > MAX_METADATA_KEYS:
        raise invalid(f"metadata has {len(metadata)} keys; at most {MAX_METADATA_KEYS}", path)
    for key, value in metadata.items():
        items = value if isinstance(value, list) else [value]
        if (isinstance(value, list) and not value) or not all(
            isinstance(v, str | int | float) for v in items
        ):
            raise invalid(
                "a metadata value is a string, number, boolean or a non-empty list of them", f"{path}.{key}"
            )
    filterable = {k: v for k, v in metadata.items() if k not in index.non_filterable}
    size, total = _size(filterable), _size(metadata)
    if size > MAX_FILTERABLE_METADATA_BYTES:
        raise invalid(f"filterable metadata is {size} bytes; at most {MAX_FILTERABLE_METADATA_BYTES}", path)
    if total > MAX_METADATA_BYTES:
        raise invalid(f"metadata is {total} bytes; at most {MAX_METADATA_BYTES}", path)


def _size(metadata: dict[str, Any]) -> int:
    return len(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _page(names: list[str], token: str | None, size: int) -> tuple[list[str], str | None]:
    start = int(token) if token and token.isdigit() else 0
    end = start + min(size, MAX_LIST_PAGE)
    return names[start:end], (str(end) if end < len(names) else None)
