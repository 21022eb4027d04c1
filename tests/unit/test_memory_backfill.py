"""The backfill's promises (scripts/backfill_embeddings.py), on the in-memory stores: the estimate
is printed before any embedding call, nothing is sent without a typed confirmation or while the
flag is off, a dry run sends nothing, an interrupted run resumes where it stopped, batches are full,
and the real usage is reported beside the estimate."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from booksync.errors import BooksyncError
from booksync.memory.indexer import MemoryIndexer
from booksync.memory.local_embedder import HashedNgramEmbedder
from booksync.memory.ports import Embedded, InputType, estimate_tokens
from booksync.memory.records import BillingRecord, RecordKind

from scripts import backfill_embeddings as backfill
from scripts.backfill_embeddings import Checkpoint, Options
from tests.fakes.memory import CountingEmbedder, MemoryRecords, MemoryVectors, billing_record


def history(n: int = 7) -> list[BillingRecord]:
    """``n`` sent invoices of co-1, then an estimate of co-2."""
    invoices = [billing_record(doc_id=f"inv-{i:03}", number=f"INV-{i:03}") for i in range(n)]
    estimate = billing_record(company_id="co-2", kind=RecordKind.ESTIMATE, doc_id="est-1", status="accepted")
    return [*invoices, estimate]


@dataclass
class Interrupting(CountingEmbedder):
    """An embedder stopped at its ``stop_at``-th call: by Ctrl-C, or by ``failure``."""

    stop_at: int = 0
    failure: BooksyncError | None = None

    def embed(self, texts: Sequence[str], input_type: InputType) -> Embedded:
        if len(self.calls) + 1 == self.stop_at:
            raise self.failure or KeyboardInterrupt()
        return super().embed(texts, input_type)


@dataclass
class Memory:
    """A company memory, and the backfill's run over it with a counting embedder."""

    tmp: Path
    embedder: CountingEmbedder = field(
        default_factory=lambda: CountingEmbedder(HashedNgramEmbedder(dimension=32, max_inputs=3))
    )
    records: MemoryRecords = field(default_factory=MemoryRecords)
    vectors: MemoryVectors = field(default_factory=MemoryVectors)
    out: io.StringIO = field(default_factory=io.StringIO)
    read: int = 0

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.tmp / "checkpoint.json", {"memory_table": "t", "embedder": "e"})

    def run(
        self,
        found: list[BillingRecord],
        *,
        flag_on: bool = True,
        ask: object = "embed",
        embedder: object = None,
        **options: bool,
    ) -> int:
        def source() -> list[BillingRecord]:
            self.read += 1
            return found

        def answer(prompt: str) -> str:
            self.out.write(prompt + "\n")
            return str(ask)

        indexer = MemoryIndexer(embedder or self.embedder, self.records, self.vectors)  # type: ignore[arg-type]
        self.out = io.StringIO()
        return backfill.run(
            source,
            indexer,
            backfill.Pricing("local", billed=False),
            self.checkpoint,
            Options(**options),
            flag_on=flag_on,
            ask=None if ask is None else answer,
            out=self.out,
        )

    @property
    def printed(self) -> str:
        return self.out.getvalue()

    def embedded_keys(self) -> set[tuple[str, str]]:
        return {(c, k) for c, rows in self.records.rows.items() for k in rows}


@pytest.fixture
def memory(tmp_path: Path) -> Memory:
    return Memory(tmp_path)


def test_the_estimate_is_printed_before_any_embedding_call(memory: Memory) -> None:
    found = history()
    seen_at_prompt: list[tuple[str, int]] = []

    def ask(prompt: str) -> str:
        seen_at_prompt.append((memory.out.getvalue(), len(memory.embedder.calls)))
        return "embed"

    indexer = MemoryIndexer(memory.embedder, memory.records, memory.vectors)
    code = backfill.run(
        lambda: found,
        indexer,
        backfill.Pricing("local", billed=False),
        memory.checkpoint,
        Options(),
        flag_on=True,
        ask=ask,
        out=memory.out,
    )
    assert code == 0
    [(printed, calls)] = seen_at_prompt
    assert calls == 0, "nothing may be embedded before the estimate is confirmed"
    tokens = sum(estimate_tokens(r.text()) for r in found)
    assert "Found 8 records to remember: 7 invoices (7 sent); 1 estimate (1 accepted)." in printed
    assert f"Estimated tokens: {tokens:,} (an estimate: one token per 4 characters" in printed
    assert "memory/ports.estimate_tokens" in printed
    assert "to embed: 8 in 3 request(s) of up to 3" in printed
    assert memory.embedder.calls, "confirmed: embedded"


def test_nothing_is_sent_without_a_typed_confirmation(memory: Memory) -> None:
    assert memory.run(history(), ask="yes please") == backfill.REFUSED
    assert "Not confirmed: nothing was sent." in memory.printed
    assert memory.embedder.calls == []


def test_no_terminal_and_no_yes_refuses_and_yes_embeds(memory: Memory) -> None:
    assert memory.run(history(), ask=None) == backfill.REFUSED
    assert "No terminal to confirm at and no --yes: nothing was sent." in memory.printed
    assert "Run with --yes" in memory.printed
    assert memory.embedder.calls == []

    assert memory.run(history(), ask=None, yes=True) == 0
    assert len(memory.embedded_keys()) == 8


def test_the_flag_off_refuses_before_reading_anything_unless_told(memory: Memory) -> None:
    assert memory.run(history(), flag_on=False) == backfill.REFUSED
    assert "RAG_BILLING_EMBED_ENABLED is off" in memory.printed
    assert "--embed-while-disabled" in memory.printed
    assert memory.read == 0 and memory.embedder.calls == []

    assert memory.run(history(), flag_on=False, embed_while_disabled=True) == 0
    assert len(memory.embedded_keys()) == 8


def test_a_dry_run_prints_the_estimate_and_sends_nothing(memory: Memory) -> None:
    for flag_on in (True, False):
        assert memory.run(history(), flag_on=flag_on, dry_run=True, yes=True) == 0
        assert "Estimated tokens:" in memory.printed and "Dry run: nothing was sent." in memory.printed
    assert memory.embedder.calls == []
    assert memory.records.puts == 0 and memory.vectors.vectors == {}


def test_an_interrupted_run_resumes_after_what_it_stored(memory: Memory) -> None:
    found = history()
    stopping = Interrupting(HashedNgramEmbedder(dimension=32, max_inputs=3), stop_at=2)
    assert memory.run(found, embedder=stopping) == backfill.INTERRUPTED
    assert "Interrupted." in memory.printed and "3 of 8 records were embedded" in memory.printed
    assert memory.checkpoint.load() == ("co-1", "invoice#inv-002")
    assert len(memory.embedded_keys()) == 3

    assert memory.run(found) == 0
    assert "skipped, done by the interrupted run" in memory.printed
    assert "to embed: 5 in 2 request(s)" in memory.printed
    sent = [text for texts, _ in memory.embedder.calls for text in texts]
    assert sent == [r.text() for r in found[3:]], "only what was not done, each once"
    assert len(memory.embedded_keys()) == 8
    assert memory.checkpoint.load() is None, "a completed run leaves no checkpoint"


def test_a_failure_midway_says_what_and_how_to_fix_and_the_next_run_goes_on(memory: Memory) -> None:
    found = history()
    refused = BooksyncError("Voyage AI refused the API key (401).", fix="Put a good key in VOYAGE_API_KEY.")
    failing = Interrupting(HashedNgramEmbedder(dimension=32, max_inputs=3), stop_at=3, failure=refused)
    assert memory.run(found, embedder=failing) == backfill.FAILED
    assert "Stopped: Voyage AI refused the API key (401). Put a good key in VOYAGE_API_KEY." in memory.printed
    assert "6 of 8 records were embedded and are kept" in memory.printed
    assert memory.checkpoint.load() == ("co-1", "invoice#inv-005")

    assert memory.run(found) == 0
    assert [t for texts, _ in memory.embedder.calls for t in texts] == [r.text() for r in found[6:]]


def test_records_already_embedded_with_the_same_content_are_skipped(memory: Memory) -> None:
    found = history()
    assert memory.run(found[:4]) == 0
    calls = len(memory.embedder.calls)
    assert memory.run(found) == 0
    assert "skipped, already embedded from the same content by this model: 4" in memory.printed
    assert [t for texts, _ in memory.embedder.calls[calls:] for t in texts] == [r.text() for r in found[4:]]


def test_batches_are_as_full_as_the_embedder_allows(memory: Memory) -> None:
    found = [billing_record(doc_id=f"inv-{i:04}") for i in range(2500)]
    memory.embedder = CountingEmbedder(HashedNgramEmbedder(dimension=8, max_inputs=1000))
    assert memory.run(found) == 0
    assert [len(texts) for texts, _ in memory.embedder.calls] == [1000, 1000, 500]


@dataclass(frozen=True)
class Billing(HashedNgramEmbedder):
    """The local embedder reporting 7 tokens per text, as a billing service would count them."""

    def embed(self, texts: Sequence[str], input_type: InputType) -> Embedded:
        return Embedded(super().embed(texts, input_type).vectors, total_tokens=7 * len(texts))


def test_the_real_usage_is_reported_beside_the_estimate(memory: Memory) -> None:
    found = history()
    estimated = sum(estimate_tokens(r.text()) for r in found)
    assert memory.run(found, embedder=Billing(dimension=16)) == 0
    assert "Embedded 8 records in 1 request(s)." in memory.printed
    assert f"Tokens: 56 used (the embedder's usage), beside {estimated:,} estimated" in memory.printed
