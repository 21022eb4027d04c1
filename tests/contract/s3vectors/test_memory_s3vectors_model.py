"""The S3 Vectors stand-in follows botocore's own ``s3vectors`` service model: boto3's client
(which parses every answer by that model) gets answers of the model's shapes, a request that does
not match the model is refused as the service refuses it (a ValidationException naming each
field), and an answer that does not match is never sent (an InternalServerException instead)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.sandboxes.s3vectors import model
from local.sandboxes.s3vectors.server import OPERATIONS, S3VectorsSandbox
from local.sandboxes.s3vectors.testing import s3vectors_client, signed_post

BUCKET = "model-checks"


def _error(raised: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    return dict(raised.value.response)


def test_the_model_is_botocores_own_and_has_every_operation_served() -> None:
    assert model.service_model()["metadata"]["signingName"] == "s3vectors"
    assert model.api_version() == "2025-07-15"
    for name in OPERATIONS:
        operation = model.operation(name)
        assert (operation.method, operation.uri) == ("POST", f"/{name}")


def test_every_served_operation_answers_the_models_output_through_boto3(standin: S3VectorsSandbox) -> None:
    s3v = s3vectors_client(standin.url)
    s3v.create_vector_bucket(vectorBucketName=BUCKET)
    s3v.get_vector_bucket(vectorBucketName=BUCKET)
    arn = s3v.create_index(
        vectorBucketName=BUCKET, indexName="idx-1", dataType="float32", dimension=3, distanceMetric="cosine"
    )["indexArn"]
    assert arn.endswith(f":bucket/{BUCKET}/index/idx-1")
    assert s3v.get_index(indexArn=arn)["index"]["dimension"] == 3
    assert [i["indexName"] for i in s3v.list_indexes(vectorBucketName=BUCKET)["indexes"]] == ["idx-1"]
    s3v.put_vectors(
        indexArn=arn,
        vectors=[
            {"key": "a", "data": {"float32": [1.0, 0.0, 0.0]}, "metadata": {"kind": "invoice"}},
            {"key": "b", "data": {"float32": [0.0, 1.0, 0.0]}},
        ],
    )
    got = s3v.get_vectors(indexArn=arn, keys=["a", "zz"], returnData=True, returnMetadata=True)["vectors"]
    assert got == [{"key": "a", "data": {"float32": [1.0, 0.0, 0.0]}, "metadata": {"kind": "invoice"}}]
    assert {v["key"] for v in s3v.list_vectors(indexArn=arn)["vectors"]} == {"a", "b"}
    found = s3v.query_vectors(
        indexArn=arn,
        topK=2,
        queryVector={"float32": [1.0, 0.2, 0.0]},
        returnDistance=True,
        returnMetadata=True,
    )
    assert found["distanceMetric"] == "cosine"
    assert [v["key"] for v in found["vectors"]] == ["a", "b"]
    assert found["vectors"][0]["distance"] == pytest.approx(1 - 1 / (1.04**0.5), abs=1e-6)
    s3v.delete_vectors(indexArn=arn, keys=["a"])
    s3v.delete_index(indexArn=arn)
    s3v.delete_vector_bucket(vectorBucketName=BUCKET)
    assert standin.refused_answers == []


@pytest.mark.parametrize(
    ("request_", "path", "said"),
    [
        ({"topK": 0}, "topK", "must be at least 1"),
        ({"returnDistance": "yes"}, "returnDistance", "must be true or false"),
        ({"queryVector": {}}, "queryVector", "must set exactly one of float32"),
        ({"indexName": "x"}, "indexName", "must be at least 3 characters"),
    ],
)
def test_a_request_not_matching_the_model_is_refused_naming_the_field(
    standin: S3VectorsSandbox, request_: dict[str, Any], path: str, said: str
) -> None:
    s3v = s3vectors_client(standin.url, validate=False)  # botocore's own check off: the stand-in's is tested
    base: dict[str, Any] = {
        "vectorBucketName": "any-bucket",
        "indexName": "any-index",
        "topK": 1,
        "queryVector": {"float32": [1, 0, 0]},
    }
    body = {k: v for k, v in {**base, **request_}.items() if v is not None}
    with pytest.raises(ClientError) as raised:
        s3v.query_vectors(**body)
    answer = _error(raised)
    assert answer["Error"]["Code"] == "ValidationException"
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert any(f["path"] == path and said in f["message"] for f in answer["fieldList"]), answer["fieldList"]


@pytest.mark.parametrize(
    ("body", "path", "said"),
    [
        ({"surplus": 1}, "surplus", "is not a member of QueryVectorsInput"),
        ({"queryVector": {"float32": [1, 0, 0], "float64": [1]}}, "queryVector.float64", "is not a member"),
        ({"topK": "3"}, "topK", "must be an integer (TopK), got the string '3'"),
        ({"queryVector": {"float32": [1, "x", 0]}}, "queryVector.float32[1]", "must be a number (Float)"),
        ({"filter": {"kind": "invoice"}, "topK": None}, "topK", "is required by QueryVectorsInput"),
    ],
)
def test_a_body_boto3_would_not_send_is_refused_naming_the_field(
    standin: S3VectorsSandbox, body: dict[str, Any], path: str, said: str
) -> None:
    base: dict[str, Any] = {"vectorBucketName": "any-bucket", "indexName": "any-index", "topK": 1}
    sent = {k: v for k, v in {**base, **body}.items() if v is not None}
    answer = signed_post(standin.url, "QueryVectors", sent)
    assert answer.status_code == 400
    assert answer.headers["x-amzn-errortype"] == "ValidationException"
    fields = answer.json()["fieldList"]
    assert any(f["path"] == path and said in f["message"] for f in fields), fields


def test_a_required_member_missing_is_refused(standin: S3VectorsSandbox) -> None:
    s3v = s3vectors_client(standin.url, validate=False)
    with pytest.raises(ClientError) as raised:
        s3v.put_vectors(vectorBucketName="any-bucket", indexName="any-index", vectors=[{"key": "k"}])
    fields = _error(raised)["fieldList"]
    assert {"path": "vectors[0].data", "message": "is required by PutInputVector"} in fields


def test_more_than_the_model_allows_in_one_call_is_refused(standin: S3VectorsSandbox) -> None:
    s3v = s3vectors_client(standin.url, validate=False)
    vectors = [{"key": f"k{i}", "data": {"float32": [1.0]}} for i in range(501)]
    with pytest.raises(ClientError) as raised:
        s3v.put_vectors(vectorBucketName="any-bucket", indexName="any-index", vectors=vectors)
    assert {"path": "vectors", "message": "must be at most 500 items, got 501 items"} in _error(raised)[
        "fieldList"
    ]
    with pytest.raises(ClientError) as raised:
        s3v.get_vectors(
            vectorBucketName="any-bucket", indexName="any-index", keys=[f"k{i}" for i in range(101)]
        )
    assert {"path": "keys", "message": "must be at most 100 items, got 101 items"} in _error(raised)[
        "fieldList"
    ]


def test_an_unsigned_request_is_refused(standin: S3VectorsSandbox) -> None:
    import httpx

    answer = httpx.post(f"{standin.url}/GetVectorBucket", json={"vectorBucketName": "any-bucket"})
    assert answer.status_code == 403
    assert answer.headers["x-amzn-errortype"] == "AccessDeniedException"


def test_an_answer_not_matching_the_model_is_never_sent(
    standin: S3VectorsSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3v = s3vectors_client(standin.url)
    s3v.create_vector_bucket(vectorBucketName="answers")
    standin.refused_answers.clear()

    def off_model(service: object, body: dict[str, Any]) -> dict[str, Any]:
        # GetVectorBucketOutput requires vectorBucketArn and creationTime, and a timestamp is a number.
        return {"vectorBucket": {"vectorBucketName": "answers", "creationTime": "yesterday"}}

    monkeypatch.setitem(OPERATIONS, "GetVectorBucket", ("bucket", off_model))
    with pytest.raises(ClientError) as raised:
        s3v.get_vector_bucket(vectorBucketName="answers")
    answer = _error(raised)
    assert answer["Error"]["Code"] == "InternalServerException"
    assert "does not match GetVectorBucketOutput" in answer["Error"]["Message"]
    assert "vectorBucket.vectorBucketArn is required by VectorBucket" in answer["Error"]["Message"]
    assert "vectorBucket.creationTime must be epoch seconds" in answer["Error"]["Message"]
    assert len(standin.refused_answers) == 1


def test_an_error_the_operation_does_not_declare_is_never_sent(
    standin: S3VectorsSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local.sandboxes.s3vectors.vectors import ServiceError

    s3v = s3vectors_client(standin.url)
    standin.refused_answers.clear()

    def undeclared(service: object, body: dict[str, Any]) -> dict[str, Any]:
        # ListVectorBuckets-style errors aside, GetVectorBucket declares no ConflictException.
        raise ServiceError("ConflictException", "made up")

    monkeypatch.setitem(OPERATIONS, "GetVectorBucket", ("bucket", undeclared))
    with pytest.raises(ClientError) as raised:
        s3v.get_vector_bucket(vectorBucketName="answers")
    assert _error(raised)["Error"]["Code"] == "InternalServerException"
    assert "ConflictException is not an error GetVectorBucket declares" in standin.refused_answers[0]


def test_the_checker_reads_enums_ranges_maps_and_java_patterns() -> None:
    problems = model.check(
        "CreateIndexInput",
        {
            "indexName": "abc",
            "dataType": "float64",
            "dimension": 5000,
            "distanceMetric": "cosine",
            "vectorBucketArn": "arn:aws:s3:::a-plain-bucket",
            "tags": {"team": "mémoire équipe"},  # a Java pattern (\\p{L}, \\p{Z}): the regex package runs it
        },
    )
    assert problems == [
        model.Problem("vectorBucketArn", problems[0].message),
        model.Problem("dataType", "must be one of float32 (DataType), got 'float64'"),
        model.Problem("dimension", "must be at most 4096, got 5000"),
    ]
    arn = [p for p in problems if p.path == "vectorBucketArn"]
    assert len(arn) == 1
    assert arn[0].message.startswith("must match arn:aws[-a-z0-9]*:s3vectors:")
