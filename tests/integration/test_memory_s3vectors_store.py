"""The S3 Vectors adapter (booksync/memory/s3vectors.py) through boto3's ``s3vectors`` client,
against the stand-in (local/sandboxes/s3vectors/, which refuses what the service's model refuses):
one index per company created on its first put, puts and deletes in calls of at most 500, queries
of at most 100 filtered on the keys a search lets through, cosine similarity as the score, no
company ever seeing another's vectors, and errors typed."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from booksync.memory.s3vectors import (
    KEYS_PER_FILTER,
    S3VectorsStore,
    VectorIndexMismatch,
    VectorStoreRefused,
    VectorStoreUnavailable,
    index_name,
)

from local.sandboxes.s3vectors.server import S3VectorsSandbox
from local.sandboxes.s3vectors.testing import S3VectorsControl, s3vectors_client
from tests.fakes.vectors import unit_vector

BUCKET = "booksync-memory"
DIM = 8


@pytest.fixture
def control(standin: S3VectorsSandbox) -> Iterator[S3VectorsControl]:
    with S3VectorsControl(standin.url) as control:
        control.reset_with_bucket(BUCKET)
        yield control


@pytest.fixture
def store(standin: S3VectorsSandbox, control: S3VectorsControl) -> S3VectorsStore:
    return S3VectorsStore(s3vectors_client(standin.url), BUCKET, DIM)


def unit(seed: int, dim: int = DIM) -> list[float]:
    return unit_vector(seed, dim)


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


def calls(control: S3VectorsControl, operation: str) -> list[dict[str, object]]:
    return [e for e in control.requests() if e["path"] == f"/{operation}"]


def test_a_company_s_first_put_creates_its_cosine_index_once(
    store: S3VectorsStore, control: S3VectorsControl
) -> None:
    store.put("acme", [("invoice#1", unit(1))])
    store.put("acme", [("invoice#2", unit(2))])
    index = index_name("acme", DIM)
    assert control.state()["buckets"][BUCKET] == {index: {"dimension": DIM, "metric": "cosine", "vectors": 2}}
    assert len(calls(control, "CreateIndex")) == 1


def test_query_answers_cosine_similarity_best_first(store: S3VectorsStore) -> None:
    vectors = {f"invoice#{i}": unit(i) for i in range(30)}
    store.put("acme", list(vectors.items()))
    question = unit(7)
    found = store.query("acme", question, 5)
    expected = sorted(vectors, key=lambda k: -cosine(vectors[k], question))[:5]
    assert [key for key, _ in found] == expected
    assert found[0][0] == "invoice#7"
    for key, score in found:
        assert score == pytest.approx(cosine(vectors[key], question), abs=1e-5)


def test_a_put_replaces_a_key_s_vector_and_the_last_of_a_key_given_twice_wins(store: S3VectorsStore) -> None:
    store.put("acme", [("invoice#1", unit(1))])
    store.put("acme", [("invoice#1", unit(2)), ("invoice#1", unit(3))])
    assert store.get("acme", ["invoice#1"])["invoice#1"] == pytest.approx(unit(3), abs=1e-6)


def test_puts_go_500_a_call_and_deletes_too(store: S3VectorsStore, control: S3VectorsControl) -> None:
    items = [(f"invoice#{i}", unit(i)) for i in range(1201)]
    store.put("bigco", items)
    puts = calls(control, "PutVectors")
    assert len(puts) == 3  # 500 + 500 + 201: the service refuses 501
    assert all(e["status"] == 200 for e in puts)
    assert control.state()["buckets"][BUCKET][index_name("bigco", DIM)]["vectors"] == 1201
    store.delete("bigco", [key for key, _ in items[:1001]])
    assert len(calls(control, "DeleteVectors")) == 3
    assert control.state()["buckets"][BUCKET][index_name("bigco", DIM)]["vectors"] == 200


def test_long_vectors_go_fewer_a_call_to_stay_within_20_mib(
    standin: S3VectorsSandbox, control: S3VectorsControl
) -> None:
    store = S3VectorsStore(s3vectors_client(standin.url), BUCKET, 4096)
    assert store.put_batch == 169  # 500 vectors of 4,096 floats would be about 40 MB
    store.put("acme", [(f"invoice#{i}", unit(i, 4096)) for i in range(250)])  # about 21 MB in all
    puts = calls(control, "PutVectors")
    assert [e["status"] for e in puts] == [200, 200]
    assert control.state()["buckets"][BUCKET][index_name("acme", 4096)]["vectors"] == 250


def test_get_reads_100_keys_a_call(store: S3VectorsStore, control: S3VectorsControl) -> None:
    items = [(f"estimate#{i}", unit(i)) for i in range(250)]
    store.put("acme", items)
    got = store.get("acme", [key for key, _ in items] + ["estimate#none"])
    assert len(got) == 250
    assert len(calls(control, "GetVectors")) == 3


def test_one_company_s_query_never_returns_another_s_vectors(store: S3VectorsStore) -> None:
    store.put("acme", [(f"invoice#{i}", unit(i)) for i in range(20)])
    store.put("globex", [(f"invoice#g{i}", unit(i)) for i in range(20)])  # the very same vectors
    store.put("ACME", [("invoice#upper", unit(3))])  # an id that slugs like acme's
    acme = store.query("acme", unit(3), 100)
    assert {key for key, _ in acme} == {f"invoice#{i}" for i in range(20)}
    assert {key for key, _ in store.query("globex", unit(3), 100)} == {f"invoice#g{i}" for i in range(20)}
    assert store.query("ACME", unit(3), 100) == [("invoice#upper", pytest.approx(1.0, abs=1e-5))]
    # A key another company holds is not reached by naming it either.
    assert store.query("globex", unit(3), 10, keys={"invoice#3"}) == []
    store.delete("globex", ["invoice#3"])
    assert "invoice#3" in {key for key, _ in store.query("acme", unit(3), 100)}


def test_a_company_without_an_index_has_nothing(store: S3VectorsStore, control: S3VectorsControl) -> None:
    assert store.query("nobody", unit(1), 5) == []
    assert store.get("nobody", ["invoice#1"]) == {}
    store.delete("nobody", ["invoice#1"])
    assert not store.has_index("nobody")
    assert control.state()["buckets"][BUCKET] == {}


def test_keys_filter_in_the_service_before_the_search(
    store: S3VectorsStore, control: S3VectorsControl
) -> None:
    vectors = {f"invoice#{i}": unit(i) for i in range(200)}
    store.put("acme", list(vectors.items()))
    allowed = {f"invoice#{i}" for i in range(150, 160)}
    question = unit(3)  # invoice#3 is nearest of all, and not allowed
    found = store.query("acme", question, 3, keys=allowed)
    assert [k for k, _ in found] == sorted(allowed, key=lambda k: -cosine(vectors[k], question))[:3]
    queries = calls(control, "QueryVectors")
    assert len(queries) == 1  # one query, filtered on the key: not the 100 nearest then sifted
    assert store.query("acme", question, 3, keys=set()) == []


def test_many_keys_take_the_nearest_100_when_enough_of_them_are_allowed(
    store: S3VectorsStore, control: S3VectorsControl
) -> None:
    vectors = {f"invoice#{i}": unit(i) for i in range(KEYS_PER_FILTER + 300)}
    store.put("acme", list(vectors.items()))
    question = unit(11)
    ranked = sorted(vectors, key=lambda k: -cosine(vectors[k], question))
    allowed = set(ranked[1:]) - {ranked[3]}  # most keys, not the two nearest of their own ranks
    control.clear_requests()
    found = store.query("acme", question, 5, keys=allowed)
    assert [k for k, _ in found] == [k for k in ranked if k in allowed][:5]
    assert len(calls(control, "QueryVectors")) == 1


def test_many_keys_few_of_them_near_are_queried_in_filtered_parts_and_merged(
    store: S3VectorsStore, control: S3VectorsControl
) -> None:
    vectors = {f"invoice#{i:04d}": unit(i) for i in range(2 * KEYS_PER_FILTER + 400)}
    store.put("acme", list(vectors.items()))
    question = unit(5)
    ranked = sorted(vectors, key=lambda k: -cosine(vectors[k], question))
    allowed = set(ranked[300:])  # none of the 100 nearest: more keys than one filter takes
    control.clear_requests()
    found = store.query("acme", question, 7, keys=allowed)
    assert [k for k, _ in found] == ranked[300:307]
    # The 100 nearest, then one query per 500 keys (1,100 keys: 3).
    assert len(calls(control, "QueryVectors")) == 1 + 3


def test_top_k_past_100_and_wrong_dimensions_are_refused_before_any_call(
    store: S3VectorsStore, control: S3VectorsControl
) -> None:
    with pytest.raises(VectorStoreRefused, match="at most 100"):
        store.query("acme", unit(1), 101)
    with pytest.raises(VectorStoreRefused, match="has 3 dimensions; the index takes 8"):
        store.put("acme", [("invoice#1", [1.0, 0.0, 0.0])])
    with pytest.raises(VectorStoreRefused, match="has 9 dimensions"):
        store.query("acme", unit(1, 9), 5)
    assert control.requests() == []


def test_an_index_of_another_dimension_is_a_typed_mismatch(
    standin: S3VectorsSandbox, control: S3VectorsControl
) -> None:
    s3v = s3vectors_client(standin.url)
    s3v.create_index(
        vectorBucketName=BUCKET,
        indexName=index_name("acme", DIM),
        dataType="float32",
        dimension=DIM,
        distanceMetric="euclidean",
    )
    with pytest.raises(VectorIndexMismatch, match="holds euclidean vectors of dimension 8") as raised:
        S3VectorsStore(s3v, BUCKET, DIM).put("acme", [("invoice#1", unit(1))])
    assert "embed the company's records again" in raised.value.fix
    # Another dimension is another index: a new embedder never writes into the old one's.
    S3VectorsStore(s3v, BUCKET, 4).put("acme", [("invoice#1", unit(1, 4))])
    assert index_name("acme", 4) in control.state()["buckets"][BUCKET]


def test_a_missing_bucket_is_refused_saying_which(
    standin: S3VectorsSandbox, control: S3VectorsControl
) -> None:
    store = S3VectorsStore(s3vectors_client(standin.url), "no-such-bucket", DIM)
    with pytest.raises(VectorStoreRefused, match="NotFoundException") as raised:
        store.put("acme", [("invoice#1", unit(1))])
    assert "no-such-bucket" in raised.value.fix
    with pytest.raises(VectorStoreRefused):
        store.query("acme", unit(1), 5)
    with pytest.raises(VectorStoreRefused, match="MEMORY_S3VECTORS_BUCKET"):
        S3VectorsStore(s3vectors_client(standin.url), "", DIM)


def test_throttling_and_5xx_are_retryable_after_botocores_retries(
    standin: S3VectorsSandbox, control: S3VectorsControl
) -> None:
    store = S3VectorsStore(s3vectors_client(standin.url, attempts=2), BUCKET, DIM)
    store.put("acme", [("invoice#1", unit(1))])
    control.add_fault("http_429", path="/QueryVectors", times=1)
    assert [k for k, _ in store.query("acme", unit(1), 1)] == ["invoice#1"]  # retried by botocore
    control.add_fault("http_429", path="/QueryVectors", times=2)
    with pytest.raises(VectorStoreUnavailable, match="TooManyRequestsException") as raised:
        store.query("acme", unit(1), 1)
    assert raised.value.retryable
    control.add_fault("http_503", path="/PutVectors", times=2)
    with pytest.raises(VectorStoreUnavailable, match="ServiceUnavailableException"):
        store.put("acme", [("invoice#2", unit(2))])
    control.add_fault("reset", path="/DeleteVectors", times=2)
    with pytest.raises(VectorStoreUnavailable, match="did not answer DeleteVectors"):
        store.delete("acme", ["invoice#1"])


def test_access_denied_says_which_permission(standin: S3VectorsSandbox, control: S3VectorsControl) -> None:
    store = S3VectorsStore(s3vectors_client(standin.url), BUCKET, DIM)
    control.add_fault("http_401", path="/GetIndex", times=1)
    with pytest.raises(VectorStoreRefused, match="AccessDeniedException") as raised:
        store.put("acme", [("invoice#1", unit(1))])
    assert not raised.value.retryable
    assert "s3vectors:GetIndex" in raised.value.fix


def test_index_names_follow_the_service_s_rules() -> None:
    pattern = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
    import re

    for company in ("acme", "ACME", "Ünïcode Co.", "-" * 80, "x" * 300, "c_1/2#3"):
        name = index_name(company, 1024)
        assert re.fullmatch(pattern, name), name
    assert index_name("acme", 1024) != index_name("ACME", 1024)
    assert index_name("acme", 1024) != index_name("acme", 512)
    with pytest.raises(VectorStoreRefused):
        index_name("", 8)
