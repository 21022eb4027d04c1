"""Answers from the billing memory: a question in, an answer out with the records it rests on.

``MemoryAnswers`` serves the memory's three routes (``booksync/api/memory.py``) for one company
at a time: search (``MemorySearch``: vector and keyword, fused), prices (``PriceBook``: counted
from the stored lines) and ask. A question is answered from what search finds for it and from
the price facts of the item the question names (the words it shares with the best-matching line
found). With a language model configured (``MEMORY_ANSWERS=llm``: the deployment's chat endpoint,
``booksync/chat.py``) the model answers from those records and facts and cites their keys; a
citation of a record it was not given is dropped, and an answer that cites only such records is
not used. Without a model, or when it fails, the answer is composed from the facts and records.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from booksync.chat import ChatModel, failure
from booksync.memory.prices import SUBJECT_MAX, PriceBook, PriceFacts, PriceQuery, money_text, words
from booksync.memory.queries import MemoryFilters, Question, SearchHit, SearchRequest, SearchResults, TopK
from booksync.memory.records import BillingRecord, RecordFilter, RecordKind

logger = logging.getLogger(__name__)

# Words of a question that never name what was billed (folded as ``words`` folds them).
STOP_WORDS = frozenset(
    words(
        "a about all an and any are as at be been by can charge charged charging cost costs customer "
        "customers did do does for from have how i in is it last much my of on or our price priced prices "
        "pricing should the their them there this to typical typically usual usually was we what when "
        "which who why with you your"
    )
)
SYSTEM_PROMPT = (
    "You answer a field-service business's questions about its own billing history (invoices, "
    "estimates, payments) from the records and price facts given, and from nothing else. Quote "
    "amounts with their currency exactly as given; never add amounts of two currencies. If the "
    "records do not answer the question, say so. Answer with a JSON object "
    '{"answer": "<two or three sentences>", "citations": ["<key>", ...]} citing by its key, '
    "exactly as given, every record the answer rests on, nothing else."
)


class AskRequest(BaseModel):
    """POST /memory/ask, and the parameters of the ``ask_billing_memory`` tool."""

    model_config = ConfigDict(extra="forbid")
    question: Question = Field(
        description='A question about what the company billed, e.g. "what did we charge for a water '
        'heater install?"'
    )
    top_k: TopK = 8
    filters: MemoryFilters = Field(default_factory=MemoryFilters)


class Citation(BaseModel):
    key: str
    doc_id: str
    kind: RecordKind
    number: str | None
    date: date
    customer_name: str | None
    total: Decimal
    currency: str


class Answer(BaseModel):
    answer: str
    answered_by: Literal["model", "composed"] = Field(
        description="model: the language model answered from the records; composed: booksync "
        "wrote it from the price facts and records"
    )
    citations: list[Citation] = Field(description="The records the answer rests on")
    price_facts: PriceFacts | None = Field(description="The facts of the item the question names, if any")
    notes: list[str] = Field(description="What happened on the way: a model unavailable, a citation dropped")


class Hit(Protocol):
    """One record a search found (``booksync.memory.search.Hit``)."""

    @property
    def record(self) -> BillingRecord: ...

    @property
    def score(self) -> float: ...

    @property
    def matched(self) -> Literal["vector", "keyword", "both"]: ...

    @property
    def snippet(self) -> str: ...

    @property
    def vector_score(self) -> float | None: ...

    @property
    def keyword_score(self) -> float | None: ...


class Searcher(Protocol):
    def search(
        self, company_id: str, query: str, top_k: int, filter: RecordFilter | None = None
    ) -> Sequence[Hit]: ...


def _hit(found: Hit) -> SearchHit:
    record = found.record
    return SearchHit(
        key=record.key,
        doc_id=record.doc_id,
        kind=record.kind,
        number=record.number,
        status=record.status,
        customer_id=record.customer_id,
        customer_name=record.customer_name,
        date=record.date,
        total=record.total,
        currency=record.currency,
        score=found.score,
        matched=found.matched,
        vector_score=found.vector_score,
        keyword_score=found.keyword_score,
        snippet=found.snippet,
    )


def _citation(record: BillingRecord) -> Citation:
    return Citation(
        key=record.key,
        doc_id=record.doc_id,
        kind=record.kind,
        number=record.number,
        date=record.date,
        customer_name=record.customer_name,
        total=record.total,
        currency=record.currency,
    )


def subject_words(question: str, records: Sequence[BillingRecord]) -> str | None:
    """The words of the question that name what was billed: those it shares with the line of the
    records found that shares the most with it (None when no line shares a word)."""
    asked = [w for w in dict.fromkeys(words(question)) if w not in STOP_WORDS]
    best: list[str] = []
    for record in records:
        for line in record.lines:
            held = set(words(f"{line.item_name} {line.description}"))
            shared = [w for w in asked if w in held]
            if len(shared) > len(best):
                best = shared
    while len(" ".join(best)) > SUBJECT_MAX:  # as many of them as a price query holds
        best.pop()
    return " ".join(best) or None


class MemoryAnswers:
    def __init__(self, search: Searcher, prices: PriceBook, chat: ChatModel | None = None) -> None:
        self._search = search
        self._prices = prices
        self._chat = chat

    def search(self, company_id: str, request: SearchRequest) -> SearchResults:
        found = self._search.search(company_id, request.query, request.top_k, request.filters.record_filter())
        return SearchResults(query=request.query, hits=[_hit(h) for h in found])

    def prices(self, company_id: str, query: PriceQuery) -> PriceFacts:
        return self._prices.facts(company_id, query)

    def ask(self, company_id: str, request: AskRequest) -> Answer:
        within = request.filters.record_filter()
        found = [h.record for h in self._search.search(company_id, request.question, request.top_k, within)]
        subject = subject_words(request.question, found)
        # The facts are counted from the records the filters let through, as the search was.
        facts = self._prices.facts(company_id, PriceQuery(q=subject), within) if subject else None
        if facts is not None and not facts.by_currency:
            facts = None
        # What the answer may rest on: the records found, and the last charge of each currency.
        given = {r.key: r for r in found}
        for currency in facts.by_currency if facts else []:
            key = currency.last_charged.key
            if key not in given and (last := self._prices.record(company_id, key)) is not None:
                given[key] = last
        notes: list[str] = []
        if self._chat is not None and given:
            modelled = self._modelled(request.question, list(given.values()), facts, notes)
            if modelled is not None:
                text, cited = modelled
                return Answer(
                    answer=text,
                    answered_by="model",
                    citations=[_citation(given[k]) for k in cited],
                    price_facts=facts,
                    notes=notes,
                )
        text, cited = compose(found, facts)
        return Answer(
            answer=text,
            answered_by="composed",
            citations=[_citation(given[k]) for k in cited],
            price_facts=facts,
            notes=notes,
        )

    def _modelled(
        self, question: str, given: list[BillingRecord], facts: PriceFacts | None, notes: list[str]
    ) -> tuple[str, list[str]] | None:
        """The model's answer and the keys it cites among ``given``; None (with a note) when it
        cannot be used."""
        assert self._chat is not None
        context = {
            "question": question,
            "records": [_for_model(r) for r in given],
            "price_facts": None if facts is None else facts.model_dump(mode="json"),
        }
        try:
            reply = self._chat.ask_json(SYSTEM_PROMPT, json.dumps(context))
            text, keys = _read_reply(reply)
        except Exception as exc:  # any failure: the composed answer, and a note saying why
            why = failure(exc)
            logger.warning("language model unavailable; answer composed", extra={"why": why})
            notes.append(
                f"The language model was not used ({why}): this answer is composed from the records."
            )
            return None
        known = {r.key for r in given}
        dropped = [k for k in keys if k not in known]
        cited = list(dict.fromkeys(k for k in keys if k in known))
        if dropped:
            notes.append(
                f"The model cited {', '.join(dropped)}, not among the records it was given: "
                f"{'dropped' if cited else 'its answer was not used'}."
            )
        if not cited:  # an answer must rest on records it names: one citing none is not used
            if not dropped:
                notes.append("The model's answer cited none of the records it was given: it was not used.")
            notes.append("This answer is composed from the records instead.")
            return None
        return text, cited


def _read_reply(reply: dict[str, Any]) -> tuple[str, list[str]]:
    text, keys = reply.get("answer"), reply.get("citations", [])
    if not isinstance(text, str) or not text.strip():
        raise TypeError("no answer in the reply")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise TypeError("citations is not a list of keys")
    return text.strip(), keys


def _for_model(record: BillingRecord) -> dict[str, Any]:
    """A record as the model reads it: its key and its words (``BillingRecord.text``)."""
    return {"key": record.key, "text": record.text()}


def compose(found: Sequence[BillingRecord], facts: PriceFacts | None) -> tuple[str, list[str]]:
    """The answer without a model: the price facts in words, then the records found closest to
    the question, each with its status ("void invoice INV-2007": a void one is no job done); the
    keys cited (each last charge, then those records)."""
    cited: list[str] = []
    parts: list[str] = []
    if facts is not None:
        parts.append(facts.message)
        cited.extend(c.last_charged.key for c in facts.by_currency)
    if found:
        listed = "; ".join(
            f"{r.status} {r.kind.value} {r.number or r.doc_id}"
            f"{f' for {r.customer_name}' if r.customer_name else ''} on {r.date.isoformat()} "
            f"({money_text(r.total, r.currency)})"
            for r in found[:5]
        )
        parts.append(f"The records closest to the question: {listed}.")
        cited.extend(r.key for r in found[:5])
    if not parts:
        return "Nothing in the billing memory matches this question.", []
    return " ".join(parts), list(dict.fromkeys(cited))
