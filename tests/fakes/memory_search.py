"""A search by shared words over an in-memory ``RecordStore`` (tests/fakes/memory.py): what the
memory's answers are tested on; the real search is booksync/memory/search.py's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from booksync.memory.ports import Indexed, RecordStore
from booksync.memory.prices import words
from booksync.memory.records import BillingRecord, RecordFilter

from tests.fakes.memory import MemoryRecords


def stored(records: Iterable[BillingRecord]) -> MemoryRecords:
    """A ``MemoryRecords`` holding ``records`` (each as if embedded once)."""
    store = MemoryRecords()
    for record in records:
        store.put(record, Indexed(record.content_hash(), "test/0"))
    return store


@dataclass(frozen=True)
class WordHit:
    record: BillingRecord
    score: float
    matched: Literal["vector", "keyword", "both"]
    snippet: str
    vector_score: float | None = None
    keyword_score: float | None = None


class WordSearch:
    """Records ranked by the words they share with the query; ``calls`` records each search."""

    def __init__(self, records: RecordStore) -> None:
        self.records = records
        self.calls: list[tuple[str, str, int, RecordFilter | None]] = []

    def search(
        self, company_id: str, query: str, top_k: int, filter: RecordFilter | None = None
    ) -> list[WordHit]:
        self.calls.append((company_id, query, top_k, filter))
        asked = set(words(query))
        scored = [
            (len(asked & set(words(record.text()))), record)
            for record in self.records.all(company_id, filter)
        ]
        ranked = sorted((pair for pair in scored if pair[0]), key=lambda pair: (-pair[0], pair[1].key))[
            :top_k
        ]
        return [
            WordHit(record, float(score), "keyword", record.text()[:80], None, float(score))
            for score, record in ranked
        ]
