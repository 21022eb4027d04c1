"""Hybrid retrieval over one company's memory: vector similarity and BM25, fused by reciprocal rank.

Each list is taken to ``depth`` candidates among the records the filter lets through; a record's
fused score is the sum over the lists it is in of ``1 / (rrf_k + rank)`` (rank from 1). A record
whose document number the query names comes first: a number with a letter or a separator
(``INV-1043``, ``EST-2025``), or a bare one the query calls a document ("invoice 1001", "#1001");
a bare number alone ("jobs in 2025") is a year or an amount as often, and is left to the lists. A
person naming a number means that document, which BM25 alone ranks below short documents quoting
it (a payment "for INV-1043") or drowns when the number is also a year. A hit says how it matched:
``vector`` (in the vector list only), ``keyword`` (BM25, or its number named), ``both``; its
keyword score is always BM25's (a record pinned by its number keeps its own). Only the
company's own records are candidates: a key the vector store answers that is not one of the
company's records is dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from booksync.errors import InvalidRequest
from booksync.memory.bm25 import BM25, matched_terms
from booksync.memory.ports import Embedder, RecordStore, VectorStore, embedder_id
from booksync.memory.records import BillingRecord, RecordFilter

MAX_TOP_K = 20
SNIPPET_CHARS = 240

Matched = Literal["vector", "keyword", "both"]
# Words a question calls a document by, said before its number ("invoice 1001", "no. 7").
DOCUMENT_WORDS = frozenset(
    {
        "invoice",
        "inv",
        "estimate",
        "est",
        "quote",
        "payment",
        "receipt",
        "bill",
        "document",
        "number",
        "no",
        "#",
    }
)


@dataclass(frozen=True)
class Hit:
    record: BillingRecord
    score: float  # the fused reciprocal-rank score
    matched: Matched
    snippet: str
    vector_score: float | None  # cosine similarity, when in the vector list
    keyword_score: float | None  # BM25, when in the keyword list


def snippet(record: BillingRecord, query: str) -> str:
    """The record's first line (number, customer, date, total) and the line that shares most of
    the query's terms, cut to ``SNIPPET_CHARS``."""
    head, *rest = record.text().splitlines()
    best = max(rest, key=lambda line: len(matched_terms(query, line)), default="")
    text = head if not best or not matched_terms(query, best) else f"{head} {best}"
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


@dataclass(frozen=True)
class CompanyView:
    """What search derives from a company's records at one version of them: kept while the
    version stands (one read of the stamp per search), rebuilt when it moves."""

    version: str
    by_key: dict[str, BillingRecord]
    keyword: BM25
    numbers: dict[str, list[str]]  # document number, lower case -> keys
    # Records whose vector another embedder made (before the deployment's embedder changed):
    # found by keywords only until embedded again, never compared with the question's vector.
    stale: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, version: str, records: list[BillingRecord], stale: frozenset[str] = frozenset()
    ) -> CompanyView:
        numbers: dict[str, list[str]] = {}
        for record in records:
            if record.number:
                numbers.setdefault(record.number.lower(), []).append(record.key)
        keyword = BM25((r.key, r.text()) for r in records)
        return cls(version, {r.key: r for r in records}, keyword, numbers, stale)

    def vector_keys(self, allowed: set[str] | None) -> set[str] | None:
        """The keys the vector list may hold: ``allowed`` (None: any) less the stale ones."""
        if not self.stale:
            return allowed
        return (set(self.by_key) if allowed is None else allowed) - self.stale

    def numbered(self, query: str) -> list[str]:
        """The keys of the records whose document number the query names, as a word of its own (any
        case) with a letter or a separator in it, or after "#" or a word for a document."""
        said = [word.strip(".,;:!?()\"'").lower() for word in query.split()]
        named: dict[str, None] = {}
        for at, word in enumerate(said):
            number = word.removeprefix("#")
            called = (
                word.startswith("#") or not number.isdigit() or (at > 0 and said[at - 1] in DOCUMENT_WORDS)
            )
            if called:
                named.update(dict.fromkeys(self.numbers.get(number, ())))
        return list(named)


class MemorySearch:
    """Build one per process and keep it: it holds each company's ``CompanyView``."""

    def __init__(
        self,
        embedder: Embedder,
        records: RecordStore,
        vectors: VectorStore,
        *,
        rrf_k: int = 60,
        depth: int = 50,
        max_records: int = 100_000,
    ) -> None:
        self.embedder = embedder
        self.records = records
        self.vectors = vectors
        self.rrf_k = rrf_k
        self.depth = depth
        # Companies' views, least recently searched first; dropped past ``max_records`` in all
        # (the one searched last is always kept).
        self.max_records = max_records
        self._views: OrderedDict[str, CompanyView] = OrderedDict()

    def view(self, company_id: str) -> CompanyView:
        version = self.records.version(company_id)
        view = self._views.get(company_id)
        if view is None or view.version != version:
            current = embedder_id(self.embedder)
            stale = frozenset(
                k for k, made_by in self.records.embedders(company_id).items() if made_by != current
            )
            view = CompanyView.of(version, self.records.all(company_id), stale)
            self._views[company_id] = view
        self._views.move_to_end(company_id)
        while len(self._views) > 1 and sum(len(v.by_key) for v in self._views.values()) > self.max_records:
            self._views.popitem(last=False)
        return view

    def search(
        self, company_id: str, query: str, top_k: int = 5, filter: RecordFilter | None = None
    ) -> list[Hit]:
        if not query.strip():
            raise InvalidRequest("The search query is empty.", fix="Send a question or words to look for.")
        if not 1 <= top_k <= MAX_TOP_K:
            raise InvalidRequest(
                f"top_k is {top_k}: it must be between 1 and {MAX_TOP_K}.",
                fix=f"Send top_k from 1 to {MAX_TOP_K}.",
            )
        view = self.view(company_id)
        by_key = view.by_key
        allowed = None if filter is None else {key for key, r in by_key.items() if filter.matches(r)}
        if allowed is not None and not allowed:
            return []
        depth = max(self.depth, top_k)
        keyword = view.keyword.search(query, depth, allowed)
        comparable = view.vector_keys(allowed)
        vector = (
            [
                (key, score)
                for key, score in self.vectors.query(
                    company_id, self.embedder.embed([query], "query").vectors[0], depth, comparable
                )
                if key in by_key and (comparable is None or key in comparable)
            ]
            if comparable is None or comparable
            else []
        )
        named = [key for key in view.numbered(query) if allowed is None or key in allowed]
        fused: dict[str, float] = {}
        for ranked in ([k for k, _ in vector], [k for k, _ in keyword], named):
            for rank, key in enumerate(ranked, start=1):
                fused[key] = fused.get(key, 0.0) + 1.0 / (self.rrf_k + rank)
        vector_scores, keyword_scores = dict(vector), dict(keyword)
        unscored = {key for key in named if key not in keyword_scores}  # deeper than the BM25 list
        if unscored:
            keyword_scores |= dict(view.keyword.search(query, len(unscored), unscored))
        first = set(named)
        best = sorted(fused.items(), key=lambda pair: (pair[0] not in first, -pair[1], pair[0]))[:top_k]
        return [
            Hit(
                record=by_key[key],
                score=score,
                matched=_how(key in vector_scores, key in keyword_scores or key in first),
                snippet=snippet(by_key[key], query),
                vector_score=vector_scores.get(key),
                keyword_score=keyword_scores.get(key),
            )
            for key, score in best
        ]


def _how(by_vector: bool, by_keyword: bool) -> Matched:
    if by_vector and by_keyword:
        return "both"
    return "vector" if by_vector else "keyword"
