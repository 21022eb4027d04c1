"""The choice of vector store per company (booksync/memory/choice.py, VectorStoreSettings):
DynamoDB by default, S3 Vectors for every company, or ``auto``: a company moves from DynamoDB
(moto) to S3 Vectors (the stand-in, through boto3) once it holds MEMORY_S3VECTORS_MOVE_AT vectors,
with nothing lost, not even a write made while it moves."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from booksync.errors import ConfigurationError
from booksync.memory.choice import MOVED_KEY, PerCompanyVectorStore, memory_vector_store, vector_store
from booksync.memory.s3vectors import S3VectorsStore, index_name
from booksync.settings import VectorStoreSettings
from booksync.store.memory import DynamoVectorStore

from local.sandboxes.s3vectors.server import S3VectorsSandbox
from local.sandboxes.s3vectors.testing import S3VectorsControl, s3vectors_client
from tests.conftest import only_table
from tests.fakes.vectors import unit_vector

BUCKET = "booksync-memory"
DIM = 16


@pytest.fixture
def control(standin: S3VectorsSandbox, moto_url: str) -> Iterator[S3VectorsControl]:
    DynamoVectorStore.cache.clear()
    PerCompanyVectorStore._known_moved.clear()  # what a process remembers: each test is a new one
    with only_table("memory_table"), S3VectorsControl(standin.url) as control:
        control.reset_with_bucket(BUCKET)
        yield control


def unit(seed: int, dim: int = DIM) -> list[float]:
    return unit_vector(seed, dim)


def settings(**env: str) -> VectorStoreSettings:
    return VectorStoreSettings.from_env(env)


def auto(standin: S3VectorsSandbox, move_at: int = 20) -> PerCompanyVectorStore:
    store = vector_store(
        settings(
            MEMORY_VECTOR_STORE="auto", MEMORY_S3VECTORS_BUCKET=BUCKET, MEMORY_S3VECTORS_MOVE_AT=str(move_at)
        ),
        DIM,
        DynamoVectorStore(),
        s3vectors_client(standin.url),
    )
    assert isinstance(store, PerCompanyVectorStore)
    return store


def in_index(control: S3VectorsControl, company: str) -> int | None:
    found = control.state()["buckets"][BUCKET].get(index_name(company, DIM))
    return None if found is None else int(found["vectors"])


def items(start: int, stop: int) -> list[tuple[str, Sequence[float]]]:
    return [(f"invoice#{i}", unit(i)) for i in range(start, stop)]


def test_the_settings_default_to_dynamodb_and_refuse_s3vectors_without_a_bucket() -> None:
    assert settings().store == "dynamodb"
    assert settings(MEMORY_S3VECTORS_BUCKET="").s3vectors_bucket is None
    with pytest.raises(
        ConfigurationError, match="MEMORY_VECTOR_STORE=s3vectors needs MEMORY_S3VECTORS_BUCKET"
    ):
        settings(MEMORY_VECTOR_STORE="s3vectors")
    with pytest.raises(ConfigurationError, match="MEMORY_VECTOR_STORE=auto needs MEMORY_S3VECTORS_BUCKET"):
        settings(MEMORY_VECTOR_STORE="auto", MEMORY_S3VECTORS_BUCKET="  ")
    with pytest.raises(ConfigurationError, match="is not a vector bucket name"):
        settings(MEMORY_VECTOR_STORE="s3vectors", MEMORY_S3VECTORS_BUCKET="My_Bucket")
    with pytest.raises(ConfigurationError, match="MEMORY_VECTOR_STORE"):
        settings(MEMORY_VECTOR_STORE="pinecone")
    with pytest.raises(ConfigurationError, match="MEMORY_S3VECTORS_MOVE_AT"):
        settings(MEMORY_S3VECTORS_MOVE_AT="0")


def test_each_setting_picks_its_store(standin: S3VectorsSandbox) -> None:
    dynamo = DynamoVectorStore()
    client = s3vectors_client(standin.url)
    assert vector_store(settings(), DIM, dynamo, client) is dynamo
    s3 = vector_store(
        settings(MEMORY_VECTOR_STORE="s3vectors", MEMORY_S3VECTORS_BUCKET=BUCKET), DIM, dynamo, client
    )
    assert isinstance(s3, S3VectorsStore)
    assert (s3.bucket, s3.dimension) == (BUCKET, DIM)
    assert isinstance(auto(standin), PerCompanyVectorStore)


def test_the_wiring_reads_the_store_from_the_environment(
    standin: S3VectorsSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEMORY_VECTOR_STORE", raising=False)
    assert isinstance(memory_vector_store(DIM), DynamoVectorStore)
    monkeypatch.setenv("MEMORY_VECTOR_STORE", "s3vectors")
    monkeypatch.setenv("MEMORY_S3VECTORS_BUCKET", BUCKET)
    monkeypatch.setenv("MEMORY_S3VECTORS_ENDPOINT_URL", standin.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = memory_vector_store(DIM)
    assert isinstance(store, S3VectorsStore)
    assert store.client.meta.endpoint_url == standin.url
    monkeypatch.setenv("MEMORY_VECTOR_STORE", "auto")
    monkeypatch.delenv("MEMORY_S3VECTORS_BUCKET")
    with pytest.raises(ConfigurationError, match="MEMORY_S3VECTORS_BUCKET"):
        memory_vector_store(DIM)


def test_a_small_company_stays_in_dynamodb(standin: S3VectorsSandbox, control: S3VectorsControl) -> None:
    store = auto(standin)
    store.put("small", items(0, 19))
    assert [k for k, _ in store.query("small", unit(3), 1)] == ["invoice#3"]
    assert in_index(control, "small") is None
    assert not store.moved("small")


def test_a_company_that_reaches_the_size_moves_with_every_vector(
    standin: S3VectorsSandbox, control: S3VectorsControl
) -> None:
    store = auto(standin)
    store.put("big", items(0, 20))
    store.put("small", items(0, 5))
    before = store.query("big", unit(7), 5)  # from DynamoDB; this search finds it 20 strong: it moves
    assert in_index(control, "big") == 20 + 1  # and the marker
    assert store.moved("big") and not store.moved("small")
    assert in_index(control, "small") is None
    control.clear_requests()
    after = store.query("big", unit(7), 5)
    assert [k for k, _ in after] == [k for k, _ in before]
    assert [e["path"] for e in control.requests()] == ["/QueryVectors"]  # answered by S3 Vectors
    # Another process (nothing remembered) finds the marker and goes to S3 Vectors too.
    PerCompanyVectorStore._known_moved.clear()
    fresh = auto(standin)
    assert [k for k, _ in fresh.query("big", unit(7), 5)] == [k for k, _ in before]


def test_the_marker_is_never_an_answer(standin: S3VectorsSandbox, control: S3VectorsControl) -> None:
    store = auto(standin, move_at=3)
    store.put("co", items(0, 3))
    store.query("co", unit(0), 1)
    marker_like = [1.0] + [0.0] * (DIM - 1)
    found = store.query("co", marker_like, 10)
    assert MOVED_KEY not in {k for k, _ in found}
    assert len(found) == 3


def test_after_a_move_puts_and_deletes_go_to_s3_vectors(
    standin: S3VectorsSandbox, control: S3VectorsControl
) -> None:
    store = auto(standin, move_at=5)
    store.put("co", items(0, 5))
    store.query("co", unit(0), 1)
    store.put("co", items(5, 8))
    store.delete("co", ["invoice#0"])
    assert in_index(control, "co") == 5 - 1 + 3 + 1
    assert "invoice#0" not in {k for k, _ in store.query("co", unit(0), 10)}
    assert "invoice#6" in {k for k, _ in store.query("co", unit(6), 1)}


def test_a_write_made_while_the_company_moves_is_not_lost(
    standin: S3VectorsSandbox, control: S3VectorsControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    mover = auto(standin, move_at=10)
    other = auto(standin, move_at=10)  # another process, writing while the move copies
    mover.put("co", items(0, 10))
    real_put = S3VectorsStore.put

    def put_then_write_elsewhere(
        self: S3VectorsStore, company_id: str, batch: Sequence[tuple[str, Sequence[float]]]
    ) -> None:
        if batch and batch[0][0] == MOVED_KEY:  # the copy is done, the marker not yet there
            other.put("co", items(10, 12))  # sees no marker: writes DynamoDB only
            other.delete("co", ["invoice#1"])
        real_put(self, company_id, batch)

    monkeypatch.setattr(S3VectorsStore, "put", put_then_write_elsewhere)
    mover.query("co", unit(0), 1)
    monkeypatch.undo()
    keys = {k for k, _ in mover.query("co", unit(0), 100)}
    assert keys == {f"invoice#{i}" for i in range(12)} - {"invoice#1"}


def test_a_move_cut_short_leaves_no_marker_and_the_next_search_moves_it(
    standin: S3VectorsSandbox, control: S3VectorsControl
) -> None:
    store = auto(standin, move_at=4)
    store.put("co", items(0, 4))
    control.add_fault("http_500", path="/PutVectors", times=1)
    with pytest.raises(Exception, match="InternalServerException"):
        store.query("co", unit(0), 1)
    assert not auto(standin, move_at=4).moved("co")
    assert [k for k, _ in store.query("co", unit(2), 1)] == ["invoice#2"]
    assert store.moved("co") and in_index(control, "co") == 4 + 1


class _MovesFirst(DynamoVectorStore):
    """A DynamoDB store whose next put waits until another process has moved the company."""

    def __init__(self, move: PerCompanyVectorStore) -> None:
        self.move = move

    def put(self, company_id: str, items: Sequence[tuple[str, Sequence[float]]]) -> None:
        self.move.query(company_id, unit(0), 1)  # the whole move, marker and all, happens now
        super().put(company_id, items)


def test_a_write_that_checked_before_the_move_and_wrote_after_it_reaches_s3_vectors(
    standin: S3VectorsSandbox, control: S3VectorsControl
) -> None:
    mover = auto(standin, move_at=6)
    mover.put("co", items(0, 6))
    late = PerCompanyVectorStore(_MovesFirst(mover), mover.large, 6)
    late.put("co", items(6, 7))  # saw no marker, wrote DynamoDB after the move had copied
    assert mover.moved("co")
    assert "invoice#6" in {k for k, _ in mover.query("co", unit(6), 1)}
