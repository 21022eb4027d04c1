"""The S3 Vectors stand-in does what the service does beyond its model (providers.md 7.5; the
user guide's limits, naming rules and metadata filtering), through boto3's own client: filters
before the search, topK at most 100, a vector's dimension, metadata within 50 keys, 2 KB
filterable and 40 KB in all, bucket and index names, conflicts, not-found, injected faults."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.sandboxes.s3vectors.server import S3VectorsSandbox
from local.sandboxes.s3vectors.testing import S3VectorsControl, s3vectors_client, signed_post

BUCKET = "standin"


@pytest.fixture
def s3v(standin: S3VectorsSandbox) -> Any:
    with S3VectorsControl(standin.url) as control:
        control.reset_with_bucket(BUCKET)
    return s3vectors_client(standin.url)


def make_index(s3v: Any, name: str = "idx", dimension: int = 2, **extra: Any) -> None:
    s3v.create_index(
        vectorBucketName=BUCKET,
        indexName=name,
        dataType="float32",
        dimension=dimension,
        distanceMetric=extra.pop("metric", "cosine"),
        **extra,
    )


def code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


DOCS: list[dict[str, Any]] = [
    {
        "key": "inv-1",
        "data": {"float32": [1.0, 0.0]},
        "metadata": {"kind": "invoice", "total": 120, "tags": ["plumbing", "urgent"]},
    },
    {
        "key": "inv-2",
        "data": {"float32": [0.9, 0.1]},
        "metadata": {"kind": "invoice", "total": 80, "paid": True},
    },
    {"key": "est-1", "data": {"float32": [0.8, 0.2]}, "metadata": {"kind": "estimate", "total": 300}},
    {"key": "pay-1", "data": {"float32": [0.0, 1.0]}},
]


def keys(s3v: Any, filter: dict[str, Any], top_k: int = 10) -> list[str]:
    answer = s3v.query_vectors(
        vectorBucketName=BUCKET,
        indexName="idx",
        topK=top_k,
        queryVector={"float32": [1.0, 0.0]},
        filter=filter,
    )
    return [v["key"] for v in answer["vectors"]]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"kind": "invoice"}, ["inv-1", "inv-2"]),
        ({"kind": {"$eq": "estimate"}}, ["est-1"]),
        ({"kind": {"$ne": "invoice"}}, ["est-1"]),
        ({"total": {"$gt": 80}}, ["inv-1", "est-1"]),
        ({"total": {"$gte": 80, "$lt": 300}}, ["inv-1", "inv-2"]),
        ({"total": {"$lte": 80}}, ["inv-2"]),
        ({"kind": {"$in": ["estimate", "payment"]}}, ["est-1"]),
        ({"kind": {"$nin": ["invoice"]}}, ["est-1"]),
        ({"tags": "urgent"}, ["inv-1"]),  # $eq on a list value: any element
        ({"paid": {"$exists": True}}, ["inv-2"]),
        ({"kind": {"$exists": False}}, ["pay-1"]),
        ({"paid": 1}, []),  # a boolean equals only a boolean
        ({"$or": [{"kind": "estimate"}, {"total": {"$lt": 100}}]}, ["inv-2", "est-1"]),
        ({"$and": [{"kind": "invoice"}, {"total": {"$gt": 100}}]}, ["inv-1"]),
        ({"kind": "invoice", "total": 80}, ["inv-2"]),
    ],
)
def test_filters_select_before_the_search(s3v: Any, filter: dict[str, Any], expected: list[str]) -> None:
    make_index(s3v)
    s3v.put_vectors(vectorBucketName=BUCKET, indexName="idx", vectors=DOCS)
    assert keys(s3v, filter) == expected


def test_the_filter_runs_first_so_top_k_counts_only_matches(s3v: Any) -> None:
    make_index(s3v)
    s3v.put_vectors(vectorBucketName=BUCKET, indexName="idx", vectors=DOCS)
    assert keys(s3v, {"kind": "estimate"}, top_k=1) == ["est-1"]  # two invoices are nearer


@pytest.mark.parametrize(
    ("filter", "said"),
    [
        ({"kind": {"$regex": "inv"}}, "unknown operator"),
        ({"total": {"$gt": "100"}}, "takes a number"),
        ({"kind": {"$in": []}}, "non-empty list"),
        ({"$or": []}, "non-empty list of filters"),
        ({"$not": {"kind": "invoice"}}, "is not an operator here"),
        ({"body": "text"}, "non-filterable"),
    ],
)
def test_a_filter_the_service_refuses_is_a_validation_error(
    s3v: Any, filter: dict[str, Any], said: str
) -> None:
    make_index(s3v, metadataConfiguration={"nonFilterableMetadataKeys": ["body"]})
    with pytest.raises(ClientError) as raised:
        keys(s3v, filter)
    assert code(raised) == "ValidationException"
    assert said in str(raised.value)


def test_top_k_is_at_most_100(s3v: Any) -> None:
    make_index(s3v)
    with pytest.raises(ClientError, match="topK must be at most 100") as raised:
        s3v.query_vectors(
            vectorBucketName=BUCKET, indexName="idx", topK=101, queryVector={"float32": [1.0, 0.0]}
        )
    assert code(raised) == "ValidationException"


def test_vectors_must_have_the_index_s_dimension_and_are_kept_as_float32(s3v: Any) -> None:
    make_index(s3v, dimension=3)
    with pytest.raises(ClientError, match="has 2 dimensions; the index idx takes 3"):
        s3v.put_vectors(
            vectorBucketName=BUCKET, indexName="idx", vectors=[{"key": "a", "data": {"float32": [1.0, 2.0]}}]
        )
    with pytest.raises(ClientError, match="no all-zero vector"):
        s3v.put_vectors(
            vectorBucketName=BUCKET, indexName="idx", vectors=[{"key": "a", "data": {"float32": [0, 0, 0]}}]
        )
    s3v.put_vectors(
        vectorBucketName=BUCKET, indexName="idx", vectors=[{"key": "a", "data": {"float32": [0.1, 0.2, 0.3]}}]
    )
    stored = s3v.get_vectors(vectorBucketName=BUCKET, indexName="idx", keys=["a"], returnData=True)
    assert stored["vectors"][0]["data"]["float32"] == [
        float.fromhex("0x1.99999a0000000p-4"),
        0.20000000298023224,
        0.30000001192092896,
    ]


def test_a_key_twice_in_one_put_is_refused(s3v: Any) -> None:
    make_index(s3v)
    twice = [{"key": "a", "data": {"float32": [1.0, 0.0]}}, {"key": "a", "data": {"float32": [0.0, 1.0]}}]
    with pytest.raises(ClientError, match="given twice"):
        s3v.put_vectors(vectorBucketName=BUCKET, indexName="idx", vectors=twice)


@pytest.mark.parametrize(
    ("metadata", "non_filterable", "said"),
    [
        ({f"k{i}": i for i in range(51)}, [], "51 keys; at most 50"),
        ({"text": "x" * 2100}, [], "filterable metadata is 2111 bytes; at most 2048"),
        ({"text": "x" * 41_000}, ["text"], "metadata is 41011 bytes; at most 40960"),
        ({"empty": []}, [], "non-empty list"),
        ({"nested": {"a": 1}}, [], "a metadata value is a string, number, boolean"),
    ],
)
def test_metadata_beyond_the_limits_is_refused(
    s3v: Any, metadata: dict[str, Any], non_filterable: list[str], said: str
) -> None:
    config = (
        {"metadataConfiguration": {"nonFilterableMetadataKeys": non_filterable}} if non_filterable else {}
    )
    make_index(s3v, **config)
    with pytest.raises(ClientError, match=said):
        s3v.put_vectors(
            vectorBucketName=BUCKET,
            indexName="idx",
            vectors=[{"key": "a", "data": {"float32": [1.0, 0.0]}, "metadata": metadata}],
        )


def test_non_filterable_metadata_may_be_large_within_40_kb(s3v: Any) -> None:
    make_index(s3v, metadataConfiguration={"nonFilterableMetadataKeys": ["text"]})
    vector = {
        "key": "a",
        "data": {"float32": [1.0, 0.0]},
        "metadata": {"text": "x" * 30_000, "kind": "invoice"},
    }
    s3v.put_vectors(vectorBucketName=BUCKET, indexName="idx", vectors=[vector])
    found = s3v.query_vectors(
        vectorBucketName=BUCKET,
        indexName="idx",
        topK=1,
        queryVector={"float32": [1.0, 0.0]},
        returnMetadata=True,
    )
    assert found["vectors"][0]["metadata"]["text"] == "x" * 30_000


@pytest.mark.parametrize("name", ["Upper", "under_score", "-edge", "edge-", "a b"])
def test_names_follow_the_service_s_rules(s3v: Any, name: str) -> None:
    with pytest.raises(ClientError) as raised:
        s3v.create_vector_bucket(vectorBucketName=name)
    assert code(raised) == "ValidationException"
    with pytest.raises(ClientError) as raised:
        make_index(s3v, name=name)
    assert code(raised) == "ValidationException"


def test_an_index_name_may_hold_dots_a_bucket_name_may_not(s3v: Any) -> None:
    make_index(s3v, name="co.1")
    with pytest.raises(ClientError):
        s3v.create_vector_bucket(vectorBucketName="co.1")


def test_conflicts_and_missing_things(s3v: Any) -> None:
    make_index(s3v)
    with pytest.raises(ClientError) as raised:
        make_index(s3v)
    assert code(raised) == "ConflictException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    with pytest.raises(ClientError) as raised:
        s3v.create_vector_bucket(vectorBucketName=BUCKET)
    assert code(raised) == "ConflictException"
    with pytest.raises(s3v.exceptions.NotFoundException):
        s3v.get_index(vectorBucketName=BUCKET, indexName="none")
    with pytest.raises(s3v.exceptions.NotFoundException):
        s3v.get_vector_bucket(vectorBucketName="none-such")
    with pytest.raises(ClientError) as raised:
        s3v.delete_vector_bucket(vectorBucketName=BUCKET)
    assert code(raised) == "ConflictException"  # it still has an index


def test_euclidean_indexes_answer_euclidean_distances(s3v: Any) -> None:
    make_index(s3v, metric="euclidean")
    s3v.put_vectors(
        vectorBucketName=BUCKET,
        indexName="idx",
        vectors=[
            {"key": "near", "data": {"float32": [1.0, 1.0]}},
            {"key": "far", "data": {"float32": [4.0, 5.0]}},
        ],
    )
    found = s3v.query_vectors(
        vectorBucketName=BUCKET,
        indexName="idx",
        topK=2,
        queryVector={"float32": [1.0, 2.0]},
        returnDistance=True,
    )
    assert found["distanceMetric"] == "euclidean"
    assert [(v["key"], v["distance"]) for v in found["vectors"]] == [
        ("near", 1.0),
        ("far", 4.242640495300293),
    ]


def test_list_vectors_pages_and_segments(s3v: Any) -> None:
    make_index(s3v)
    s3v.put_vectors(
        vectorBucketName=BUCKET,
        indexName="idx",
        vectors=[{"key": f"k{i:02d}", "data": {"float32": [1.0, float(i)]}} for i in range(25)],
    )
    page = s3v.list_vectors(vectorBucketName=BUCKET, indexName="idx", maxResults=10)
    rest = s3v.list_vectors(
        vectorBucketName=BUCKET, indexName="idx", maxResults=100, nextToken=page["nextToken"]
    )
    assert len(page["vectors"]) == 10 and len(rest["vectors"]) == 15 and "nextToken" not in rest
    segments = [
        {
            v["key"]
            for v in s3v.list_vectors(
                vectorBucketName=BUCKET, indexName="idx", segmentCount=3, segmentIndex=i
            )["vectors"]
        }
        for i in range(3)
    ]
    assert set().union(*segments) == {f"k{i:02d}" for i in range(25)} and sum(map(len, segments)) == 25


def test_injected_faults_answer_in_the_service_s_shapes(standin: S3VectorsSandbox, s3v: Any) -> None:
    make_index(s3v)
    with S3VectorsControl(standin.url) as control:
        control.add_fault("http_429", path="/QueryVectors", times=1)
        with pytest.raises(s3v.exceptions.TooManyRequestsException):
            keys(s3v, {"kind": "invoice"})
        control.add_fault("http_503", path="/QueryVectors", times=1)
        with pytest.raises(s3v.exceptions.ServiceUnavailableException):
            keys(s3v, {"kind": "invoice"})
        logged = [e for e in control.requests("idx") if e["path"] == "/QueryVectors"]
        assert [e["error_type"] for e in logged] == [
            "TooManyRequestsException",
            "ServiceUnavailableException",
        ]


def test_a_request_past_20_mib_is_refused(standin: S3VectorsSandbox, s3v: Any) -> None:
    make_index(s3v)
    vector = {"key": "k", "data": {"float32": [1.0, 0.0]}, "metadata": {"text": "x" * (20 * 1024 * 1024)}}
    answer = signed_post(
        standin.url, "PutVectors", {"vectorBucketName": BUCKET, "indexName": "idx", "vectors": [vector]}
    )
    assert answer.status_code == 400
    assert answer.headers["x-amzn-errortype"] == "ValidationException"
    assert "bytes; at most 20971520 (20 MiB)" in answer.json()["message"]
