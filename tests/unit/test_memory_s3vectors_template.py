"""template.yaml's billing-memory vector store: DynamoDB unless a vector bucket is named, the
settings every function may read (Globals), a Rule refusing S3 Vectors without a bucket before
anything is created, and a policy granting exactly the S3 Vectors calls the store makes, on the
bucket and the indexes it names (co-*), attached only when the bucket is set."""

from __future__ import annotations

import re
from typing import Any

import pytest
from booksync.memory.s3vectors import index_name

from scripts.deploy_check import problems
from tests.unit.test_template import load_template

REQUIRED = {
    "Stage": "dev",
    "QuickBooksClientId": "ABclient0001",
    "JwtIssuer": "https://login.example.com/",
    "JwtAudience": "app",
}
HAS_BUCKET = "HasMemoryVectorBucket"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_the_default_is_dynamodb_and_no_bucket(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert parameters["MemoryVectorStore"]["Default"] == "dynamodb"
    assert parameters["MemoryVectorStore"]["AllowedValues"] == ["dynamodb", "s3vectors", "auto"]
    assert parameters["MemoryVectorBucketName"]["Default"] == ""
    assert parameters["MemoryS3VectorsMoveAt"]["Default"] == 10000
    assert template["Conditions"][HAS_BUCKET] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "MemoryVectorBucketName"}, ""]}]
    }


def test_the_bucket_parameter_takes_vector_bucket_names_only(template: dict[str, Any]) -> None:
    pattern = re.compile(template["Parameters"]["MemoryVectorBucketName"]["AllowedPattern"])
    for good in ("", "booksync-memory", "abc", "a" * 63):
        assert pattern.fullmatch(good), good
    for bad in ("ab", "Booksync", "my_bucket", "-memory", "memory-", "a.b", "a" * 64):
        assert not pattern.fullmatch(bad), bad


def test_every_function_is_told_the_store(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["MEMORY_VECTOR_STORE"] == {"Ref": "MemoryVectorStore"}
    assert env["MEMORY_S3VECTORS_BUCKET"] == {
        "Fn::If": [HAS_BUCKET, {"Ref": "MemoryVectorBucketName"}, {"Ref": "AWS::NoValue"}]
    }
    assert env["MEMORY_S3VECTORS_MOVE_AT"] == {"Ref": "MemoryS3VectorsMoveAt"}


def test_the_policy_grants_the_stores_calls_on_its_bucket_and_indexes_only(template: dict[str, Any]) -> None:
    policy = template["Resources"]["MemoryVectorsPolicy"]
    assert policy["Condition"] == HAS_BUCKET
    bucket, indexes = policy["Properties"]["PolicyDocument"]["Statement"]
    arn = "arn:${AWS::Partition}:s3vectors:${AWS::Region}:${AWS::AccountId}:bucket/${MemoryVectorBucketName}"
    assert (bucket["Action"], bucket["Resource"]) == ("s3vectors:GetVectorBucket", {"Fn::Sub": arn})
    assert sorted(indexes["Action"]) == [
        "s3vectors:CreateIndex",
        "s3vectors:DeleteVectors",
        "s3vectors:GetIndex",
        "s3vectors:GetVectors",
        "s3vectors:PutVectors",
        "s3vectors:QueryVectors",
    ]
    assert indexes["Resource"] == {"Fn::Sub": f"{arn}/index/co-*"}
    # The indexes the store names are those the policy covers.
    assert index_name("Acme Plumbing", 1024).startswith("co-")


def test_the_functions_that_use_the_memory_get_it_only_with_a_bucket(template: dict[str, Any]) -> None:
    conditional = {"Fn::If": [HAS_BUCKET, {"Ref": "MemoryVectorsPolicy"}, {"Ref": "AWS::NoValue"}]}
    functions = {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    holders = {
        name
        for name, resource in functions.items()
        if conditional in resource["Properties"].get("Policies", [])
    }
    # Every function that keeps the memory (MemoryTable) may keep its vectors in S3 Vectors.
    users = {
        name
        for name, resource in functions.items()
        if "MEMORY_TABLE" in ((resource["Properties"].get("Environment") or {}).get("Variables") or {})
    }
    assert {"ApiFunction", "EmbedBillingFunction"} <= users
    assert holders == users
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert {"Ref": "MemoryVectorsPolicy"} not in resource["Properties"].get("Policies", []), name


def test_s3vectors_without_a_bucket_is_refused_before_anything_is_created() -> None:
    assert problems(REQUIRED) == []
    refused = problems({**REQUIRED, "MemoryVectorStore": "auto"})
    assert len(refused) == 1
    assert refused[0].startswith("Rules.MemoryVectorStoreHasBucket: ")
    assert "MemoryVectorBucketName" in refused[0]
    assert (
        problems({**REQUIRED, "MemoryVectorStore": "s3vectors", "MemoryVectorBucketName": "booksync-memory"})
        == []
    )
    assert problems({**REQUIRED, "MemoryVectorBucketName": "Not_A_Bucket"}) != []
