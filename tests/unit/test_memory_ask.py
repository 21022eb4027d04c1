"""POST /memory/ask's answers (booksync/memory/ask.py): composed from the price facts and the
records found without a model; with one (a local OpenAI-compatible fake), the model's answer
from the records and facts it was given, its citations checked against them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from booksync.chat import ChatModel
from booksync.memory.ask import AskRequest, MemoryAnswers, compose, subject_words
from booksync.memory.prices import PriceBook, PriceQuery
from booksync.memory.queries import MemoryFilters

from tests.fakes.chat_model import FakeModel, reply, serving
from tests.fakes.memory_search import WordSearch, stored
from tests.unit.test_memory_prices import HEATER, HISTORY, TODAY, record

QUESTION = "What did we charge for a water-heater install?"
TRIP = (("item-trip", "Trip charge"), "75.00", None)
DRAIN = record("4001", "2026-06-01", (("item-drain", "Drain cleaning"), "180.00", None))


def answers(chat: ChatModel | None = None) -> tuple[MemoryAnswers, WordSearch]:
    store = stored((*HISTORY, DRAIN))
    search = WordSearch(store)
    return MemoryAnswers(search, PriceBook(store, today=lambda: TODAY), chat), search


@pytest.fixture
def model() -> Iterator[tuple[FakeModel, str]]:
    with serving() as served:
        yield served


def chat_model(url: str) -> ChatModel:
    return ChatModel(url=url, model="small-model", api_key=lambda: "sk-test", timeout_seconds=2.0)


def test_without_a_model_the_answer_is_composed_from_the_facts_and_records() -> None:
    memory, search = answers()
    answer = memory.ask("acme", AskRequest(question=QUESTION))
    assert answer.answered_by == "composed" and answer.notes == []
    assert answer.answer.startswith(
        "You charged for Water heater install 5 times since March 2026: median $1,450.00 "
        "(from $1,400.00 to $1,600.00), last on INV-2005 (2026-11-20) at $1,600.00."
    )
    assert answer.price_facts is not None and answer.price_facts.by_currency[0].times_charged == 5
    # The last charge is cited first, then the records found; no other company's record.
    assert answer.citations[0].key == "invoice#2005"
    cited = [c.doc_id for c in answer.citations]
    assert len(cited) == len(set(cited)) and "9001" not in cited
    assert search.calls[0][:3] == ("acme", QUESTION, 8)


def test_the_composed_answer_says_each_records_status() -> None:
    """A void invoice is listed as void, not as one more job; a sent one as sent."""
    void = record("2007", "2026-11-23", (HEATER, "2.00", None), status="void")
    text, cited = compose([void, HISTORY[4]], None)
    assert text == (
        "The records closest to the question: void invoice INV-2007 for Harper Plumbing on 2026-11-23 "
        "($2.00); sent invoice INV-2005 for Harper Plumbing on 2026-11-20 ($1,600.00)."
    )
    assert cited == ["invoice#2007", "invoice#2005"]


def test_the_subject_is_the_words_the_question_shares_with_the_best_line() -> None:
    assert subject_words(QUESTION, list(HISTORY)) == "water heater install"
    assert subject_words("typical markup on drain cleaning jobs?", [DRAIN]) == "drain cleaning"
    assert subject_words("what about the weather", list(HISTORY)) is None


def test_a_question_nothing_matches_says_so_and_cites_nothing() -> None:
    memory, _ = answers()
    answer = memory.ask("acme", AskRequest(question="zebra polishing"))
    assert answer.answer == "Nothing in the billing memory matches this question."
    assert answer.citations == [] and answer.price_facts is None


def test_filters_reach_the_search_and_the_facts() -> None:
    memory, search = answers()
    request = AskRequest(question=QUESTION, filters=MemoryFilters(customer_id="c-2"))
    answer = memory.ask("acme", request)
    assert search.calls[0][3] is not None and search.calls[0][3].customer_id == "c-2"
    assert answer.price_facts is None and answer.citations == []  # every record is c-1's
    # Filters that let some of the charges through: the facts count those only, and the last
    # charge cited is the last within them (INV-2005, of November, is outside).
    within = MemoryFilters(customer_id="c-1", date_to=date(2026, 8, 1))
    answer = memory.ask("acme", AskRequest(question=QUESTION, filters=within))
    assert search.calls[1][3] is not None and search.calls[1][3].date_to == date(2026, 8, 1)
    assert answer.price_facts is not None
    [usd] = answer.price_facts.by_currency
    assert (usd.times_charged, usd.last_charged.key) == (3, "invoice#2003")
    cited = [c.key for c in answer.citations]
    assert cited[0] == "invoice#2003" and "invoice#2005" not in cited and "invoice#2004" not in cited


def test_the_models_answer_rests_on_the_records_it_was_given(model: tuple[FakeModel, str]) -> None:
    fake, url = model
    fake.answer = lambda _: reply(
        {"answer": "About $1,450 for an install; $1,600 last time (INV-2005).", "citations": ["invoice#2005"]}
    )
    memory, _ = answers(chat_model(url))
    answer = memory.ask("acme", AskRequest(question=QUESTION))
    assert (answer.answered_by, answer.answer) == (
        "model",
        "About $1,450 for an install; $1,600 last time (INV-2005).",
    )
    assert [c.number for c in answer.citations] == ["INV-2005"] and answer.notes == []
    asked = json.loads(fake.requests[0]["messages"][1]["content"])
    assert asked["question"] == QUESTION
    assert "invoice#2005" in {r["key"] for r in asked["records"]}
    assert asked["price_facts"]["by_currency"][0]["median_unit_price"] == "1450.00"
    assert fake.headers[0]["Authorization"] == "Bearer sk-test"


def test_a_citation_of_a_record_not_given_is_dropped(model: tuple[FakeModel, str]) -> None:
    fake, url = model
    fake.answer = lambda _: reply(
        {"answer": "Around $1,450.", "citations": ["invoice#2005", "invoice#9001", "invoice#nope"]}
    )
    memory, _ = answers(chat_model(url))
    answer = memory.ask("acme", AskRequest(question=QUESTION))
    assert answer.answered_by == "model" and [c.key for c in answer.citations] == ["invoice#2005"]
    assert answer.notes == [
        "The model cited invoice#9001, invoice#nope, not among the records it was given: dropped."
    ]


def test_an_answer_citing_only_records_not_given_is_not_used(model: tuple[FakeModel, str]) -> None:
    fake, url = model
    fake.answer = lambda _: reply({"answer": "You charged $5.", "citations": ["invoice#9001"]})
    memory, _ = answers(chat_model(url))
    answer = memory.ask("acme", AskRequest(question=QUESTION))
    assert answer.answered_by == "composed" and answer.answer.startswith("You charged for Water heater")
    assert "invoice#9001" not in {c.key for c in answer.citations}
    assert answer.notes[0].endswith("its answer was not used.")


def test_an_answer_citing_no_record_is_not_used(model: tuple[FakeModel, str]) -> None:
    """The answer must rest on records it names: a reply with no citation is the model's guess."""
    fake, url = model
    fake.answer = lambda _: reply({"answer": "Usually about $900.", "citations": []})
    memory, _ = answers(chat_model(url))
    answer = memory.ask("acme", AskRequest(question=QUESTION))
    assert answer.answered_by == "composed" and answer.answer.startswith("You charged for Water heater")
    assert answer.citations and "$900" not in answer.answer
    assert answer.notes[0].endswith("cited none of the records it was given: it was not used.")


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (lambda _: (500, {"error": "overloaded"}), "HTTP 500"),
        (lambda _: reply({"text": "no answer field"}), "unusable answer"),
        (lambda _: reply({"answer": "ok", "citations": "invoice#2005"}), "unusable answer"),
    ],
)
def test_a_model_that_fails_leaves_the_composed_answer_saying_why(
    model: tuple[FakeModel, str], answer: Any, why: str
) -> None:
    fake, url = model
    fake.answer = answer
    memory, _ = answers(chat_model(url))
    result = memory.ask("acme", AskRequest(question=QUESTION))
    assert result.answered_by == "composed" and result.answer.startswith("You charged for Water heater")
    assert result.notes == [
        f"The language model was not used ({why}): this answer is composed from the records."
    ]


def test_the_model_is_not_asked_when_nothing_was_found(model: tuple[FakeModel, str]) -> None:
    fake, url = model
    memory, _ = answers(chat_model(url))
    assert memory.ask("acme", AskRequest(question="zebra polishing")).answered_by == "composed"
    assert fake.requests == []


def test_trip_lines_do_not_make_the_heater_question_about_trips() -> None:
    assert subject_words(QUESTION, [record("x", "2026-01-01", TRIP, (HEATER, "1.00", None))]) == (
        "water heater install"
    )


def test_a_long_question_prices_as_many_of_its_words_as_a_price_query_holds() -> None:
    long_words = " ".join(f"word{n:03d}" for n in range(60))  # 479 characters
    line = (("item-long", long_words), "10.00", None)
    subject = subject_words(f"what about {long_words}?", [record("x", "2026-01-01", line)])
    assert subject is not None and len(subject) <= 200 and long_words.startswith(subject)
    PriceQuery(q=subject)  # a query the price book takes
