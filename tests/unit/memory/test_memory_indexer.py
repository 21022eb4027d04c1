"""The indexer: an unchanged document is never embedded twice; batches keep to the embedder's
limits; tokens are reported; a failed batch leaves nothing claiming a vector it does not have."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from booksync.memory.indexer import EmbeddingMismatch, MemoryIndexer, plan_batches
from booksync.memory.local_embedder import HashedNgramEmbedder
from booksync.memory.ports import Embedded, Embedder, Indexed, InputType, embedder_id
from booksync.memory.records import BillingRecord, RecordKind

from tests.fakes.memory import CountingEmbedder, MemoryRecords, MemoryVectors, billing_record


@dataclass
class Limited:
    """The local embedder with other request limits."""

    max_inputs: int
    max_tokens: int
    inner: HashedNgramEmbedder = field(default_factory=lambda: HashedNgramEmbedder(dimension=32))

    @property
    def model(self) -> str:
        return "limited"

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str], input_type: InputType) -> Embedded:
        return self.inner.embed(texts, input_type)


def setup(
    embedder: Embedder | None = None,
) -> tuple[MemoryIndexer, CountingEmbedder, MemoryRecords, MemoryVectors]:
    counting = CountingEmbedder(embedder or HashedNgramEmbedder(dimension=64))
    records, vectors = MemoryRecords(), MemoryVectors()
    return MemoryIndexer(counting, records, vectors), counting, records, vectors


def docs(n: int, company: str = "co-1") -> list[BillingRecord]:
    return [billing_record(company_id=company, doc_id=f"inv-{i}", number=f"INV-{i}") for i in range(n)]


def test_an_unchanged_document_is_never_embedded_twice() -> None:
    indexer, embedder, _records, vectors = setup()
    first = indexer.index(docs(3))
    assert (first.embedded, first.skipped, first.requests) == (3, 0, 1)
    assert set(vectors.vectors["co-1"]) == {"invoice#inv-0", "invoice#inv-1", "invoice#inv-2"}
    again = indexer.index(docs(3))
    assert (again.embedded, again.skipped, again.requests, again.total_tokens) == (0, 3, 0, 0)
    assert len(embedder.calls) == 1


def test_a_changed_document_is_embedded_again_and_only_it() -> None:
    indexer, embedder, records, _ = setup()
    indexer.index(docs(3))
    paid = [*docs(2), billing_record(doc_id="inv-2", number="INV-2", status="paid")]
    report = indexer.index(paid)
    assert (report.embedded, report.skipped) == (1, 2)
    assert embedder.calls[-1][0] == [paid[2].text()]
    assert records.get("co-1", "invoice#inv-2") == paid[2]


def test_a_new_embedder_embeds_everything_again() -> None:
    indexer, _, records, vectors = setup()
    indexer.index(docs(2))
    other = HashedNgramEmbedder(dimension=128)
    report = MemoryIndexer(other, records, vectors).index(docs(2))
    assert report.embedded == 2
    assert records.indexed("co-1", ["invoice#inv-0"])["invoice#inv-0"].embedder == embedder_id(other)


def test_a_document_given_twice_in_one_call_is_embedded_once() -> None:
    indexer, embedder, _, _ = setup()
    report = indexer.index(docs(1) + docs(1))
    assert report.embedded == 1 and len(embedder.calls[0][0]) == 1


def test_records_are_embedded_as_documents_and_tokens_reported() -> None:
    indexer, embedder, _, _ = setup()
    batch = docs(2)
    report = indexer.index(batch)
    assert embedder.calls[0][1] == "document"
    assert report.total_tokens == sum(-(-len(r.text()) // 4) for r in batch)


def test_batches_keep_to_the_embedders_input_and_token_limits() -> None:
    indexer, embedder, _, _ = setup(Limited(max_inputs=3, max_tokens=10_000))
    report = indexer.index(docs(7))
    assert [len(texts) for texts, _ in embedder.calls] == [3, 3, 1] and report.requests == 3
    one = -(-len(docs(1)[0].text()) // 4)
    indexer, embedder, _, _ = setup(Limited(max_inputs=100, max_tokens=2 * one + 1))
    indexer.index(docs(5))
    assert [len(texts) for texts, _ in embedder.calls] == [2, 2, 1]


def test_plan_batches_sends_a_text_above_the_token_limit_alone() -> None:
    assert plan_batches(["a" * 40, "b" * 400, "c" * 4], max_inputs=10, max_tokens=20) == [[0], [1], [2]]
    assert plan_batches(["a" * 4] * 5, max_inputs=2, max_tokens=1000) == [[0, 1], [2, 3], [4]]
    assert plan_batches([], max_inputs=2, max_tokens=10) == []


def test_records_of_several_companies_go_to_each_companys_memory() -> None:
    indexer, _, records, vectors = setup()
    indexer.index(docs(2, "co-1") + docs(1, "co-2"))
    assert set(vectors.vectors) == {"co-1", "co-2"} and len(vectors.vectors["co-2"]) == 1
    assert [r.company_id for r in records.all("co-2")] == ["co-2"]


class Wrong:
    model, dimension, max_inputs, max_tokens = "wrong", 4, 10, 1000

    def embed(self, texts: Sequence[str], input_type: InputType) -> Embedded:
        return Embedded(vectors=[[1.0, 0.0, 0.0, 0.0]], total_tokens=1)


def test_an_answer_of_the_wrong_shape_stores_nothing() -> None:
    records, vectors = MemoryRecords(), MemoryVectors()
    with pytest.raises(EmbeddingMismatch) as caught:
        MemoryIndexer(Wrong(), records, vectors).index(docs(2))
    assert caught.value.fix
    assert records.all("co-1") == [] and vectors.vectors == {}


class FailingVectors(MemoryVectors):
    def put(self, company_id: str, items: Sequence[tuple[str, Sequence[float]]]) -> None:
        raise RuntimeError("vector store down")


def test_a_record_is_marked_embedded_only_after_its_vector_is_stored() -> None:
    records = MemoryRecords()
    with pytest.raises(RuntimeError):
        MemoryIndexer(HashedNgramEmbedder(dimension=16), records, FailingVectors()).index(docs(1))
    assert records.indexed("co-1", ["invoice#inv-0"]) == {}
    report = MemoryIndexer(HashedNgramEmbedder(dimension=16), records, MemoryVectors()).index(docs(1))
    assert report.embedded == 1
    assert records.indexed("co-1", ["invoice#inv-0"]) == {
        "invoice#inv-0": Indexed(docs(1)[0].content_hash(), "local-hashed-ngram-w1-p0-c0.3x345/16")
    }


def test_an_estimate_and_a_payment_are_indexed_under_their_own_keys() -> None:
    indexer, _, _, vectors = setup()
    indexer.index(
        [
            billing_record(kind=RecordKind.ESTIMATE, doc_id="x"),
            billing_record(kind=RecordKind.PAYMENT, doc_id="x", lines=(), invoice_id="inv-1"),
        ]
    )
    assert set(vectors.vectors["co-1"]) == {"estimate#x", "payment#x"}
