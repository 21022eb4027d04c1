"""Embeds billing records into a company's memory, each only when it changed.

A record whose content hash and embedder are those its stored vector was made from is skipped:
an unchanged document is never embedded twice, however often it is handed in (a redelivered
message, a backfill run again). What changed is sent in batches within the embedder's declared
limits (inputs and estimated tokens per request). The vector is written before the record row
that says what it was made from, so a failure between the two embeds the record once more on the
next try, never leaves a record claiming a vector it does not have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from booksync.errors import BooksyncError
from booksync.memory.ports import Embedder, Indexed, RecordStore, VectorStore, embedder_id, estimate_tokens
from booksync.memory.records import BillingRecord


class EmbeddingMismatch(BooksyncError):
    """The embedder answered with other than one vector of its dimension per text sent."""

    code = "embedding_mismatch"


@dataclass(frozen=True)
class IndexReport:
    """What one ``index`` call did: records embedded and skipped (unchanged), the embedder's
    requests, and the tokens it reported using (what is billed)."""

    embedded: int
    skipped: int
    requests: int
    total_tokens: int


def plan_batches(texts: Sequence[str], max_inputs: int, max_tokens: int) -> list[list[int]]:
    """Indexes of ``texts`` grouped into requests of at most ``max_inputs`` texts and
    ``max_tokens`` estimated tokens, in order. A text estimated above ``max_tokens`` on its own
    goes alone (the embedder truncates it)."""
    batches: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for i, text in enumerate(texts):
        cost = estimate_tokens(text)
        if current and (len(current) >= max_inputs or tokens + cost > max_tokens):
            batches.append(current)
            current, tokens = [], 0
        current.append(i)
        tokens += cost
    if current:
        batches.append(current)
    return batches


class MemoryIndexer:
    def __init__(self, embedder: Embedder, records: RecordStore, vectors: VectorStore) -> None:
        self.embedder = embedder
        self.records = records
        self.vectors = vectors

    def changed(self, records: Sequence[BillingRecord]) -> list[BillingRecord]:
        """The records whose stored vector is missing or was made from other content or by
        another embedder (the last of each key, when one is given twice)."""
        latest = {(r.company_id, r.key): r for r in records}
        by_company: dict[str, list[BillingRecord]] = {}
        for record in latest.values():
            by_company.setdefault(record.company_id, []).append(record)
        made_by = embedder_id(self.embedder)
        todo: list[BillingRecord] = []
        for company_id, group in by_company.items():
            stored = self.records.indexed(company_id, [r.key for r in group])
            todo += [r for r in group if stored.get(r.key) != Indexed(r.content_hash(), made_by)]
        return todo

    def index(self, records: Sequence[BillingRecord]) -> IndexReport:
        todo = self.changed(records)
        made_by = embedder_id(self.embedder)
        texts = [r.text() for r in todo]
        requests = tokens = 0
        for batch in plan_batches(texts, self.embedder.max_inputs, self.embedder.max_tokens):
            answer = self.embedder.embed([texts[i] for i in batch], "document")
            requests += 1
            tokens += answer.total_tokens
            if len(answer.vectors) != len(batch) or any(
                len(v) != self.embedder.dimension for v in answer.vectors
            ):
                raise EmbeddingMismatch(
                    f"The embedder {made_by} answered {len(answer.vectors)} vectors for {len(batch)} "
                    f"texts (or vectors not of dimension {self.embedder.dimension}); nothing of this "
                    "batch was stored.",
                    fix="Check the embedding model and output dimension settings; the records are embedded "
                    "again on the next try.",
                )
            by_company: dict[str, list[tuple[str, list[float]]]] = {}
            for i, vector in zip(batch, answer.vectors, strict=True):
                by_company.setdefault(todo[i].company_id, []).append((todo[i].key, vector))
            for company_id, items in by_company.items():
                self.vectors.put(company_id, items)
            self.records.put_many([(todo[i], Indexed(todo[i].content_hash(), made_by)) for i in batch])
        skipped = len({(r.company_id, r.key) for r in records}) - len(todo)
        return IndexReport(embedded=len(todo), skipped=skipped, requests=requests, total_tokens=tokens)
