"""What every part of one sync job's walk shares: whose documents, which books, what it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from booksync.documents import DocumentKind
from booksync.store.documents import DocumentRepository
from booksync.store.models import DocumentModel, LinkMap
from booksync.store.runs import add_note
from booksync.sync.report import SyncReport


@dataclass(frozen=True)
class JobContext:
    company: str
    provider: str  # the declaration's name: the key of links, intents and jobs
    documents: DocumentRepository
    report: SyncReport
    clock: Callable[[], float]

    def key(self, kind: DocumentKind, doc_id: str, op: str) -> str:
        """A write's exactly-once key (its intent): the document, its provider and the operation."""
        return f"{self.company}#{self.provider}#{kind.value}#{doc_id}#{op}"

    def link(self, row: DocumentModel) -> LinkMap | None:
        return row.link(self.provider)

    def save_link(self, row: DocumentModel, link: LinkMap) -> None:
        self.documents.save_link(row, self.provider, link)

    def note(self, note: dict[str, str | None]) -> None:
        """A line in this run's history (none without a run)."""
        if self.report.run_id:
            add_note(self.company, self.report.run_id, note)
