"""The billing memory's routes as API Gateway invokes them (payload 2.0 through Mangum), over the
memory's DynamoDB stores on moto, the real hybrid search and the local embedder: search, prices,
ask (composed, and by a local OpenAI-compatible fake model) and the tools; the company comes from
the JWT alone, and no company ever sees another's records."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import pytest
from booksync.api.app import ApiServices
from booksync.chat import ChatModel
from booksync.memory.ask import MemoryAnswers
from booksync.memory.indexer import MemoryIndexer
from booksync.memory.local_embedder import HashedNgramEmbedder
from booksync.memory.prices import PriceBook
from booksync.memory.records import BillingRecord, RecordKind, RecordLine
from booksync.memory.search import MemorySearch
from booksync.memory.tools import TOOLS
from booksync.store.memory import DynamoRecordStore, DynamoVectorStore

from tests.apigw import admin, member
from tests.conftest import only_table
from tests.fakes.chat_model import FakeModel, reply, serving
from tests.integration.test_api import Lambda

TODAY = date(2026, 12, 7)
HEATER = ("item-wh", "Water heater install", "50 gallon gas tank, haul away the old one")
DRAIN = ("item-drain", "Drain cleaning", "kitchen line, cable machine")


def invoice(
    company: str, doc_id: str, day: str, item: tuple[str, str, str], price: str, **changes: Any
) -> BillingRecord:
    line = RecordLine(
        item_id=item[0],
        item_name=item[1],
        description=item[2],
        quantity=Decimal(1),
        unit_price=Decimal(price),
        unit_cost=Decimal("1000.00") if item is HEATER else None,
        amount=Decimal(price),
    )
    record = BillingRecord(
        company_id=company,
        kind=RecordKind.INVOICE,
        doc_id=doc_id,
        number=f"INV-{doc_id}",
        status="sent",
        customer_id="cust-1",
        customer_name="Harper Plumbing" if company == "acme" else "Rival Rooter",
        date=date.fromisoformat(day),
        total=Decimal(price),
        currency="USD",
        lines=(line,),
    )
    return dataclasses.replace(record, **changes)


ACME = [
    invoice("acme", "2041", "2026-03-10", HEATER, "1400.00"),
    invoice("acme", "2042", "2026-06-02", HEATER, "1450.00"),
    invoice("acme", "2043", "2026-11-20", HEATER, "1500.00"),
    invoice("acme", "2044", "2026-07-01", DRAIN, "180.00"),
]
# Another company with the very same item and words: never seen by acme, nor acme's by it.
RIVAL = [
    invoice("rival", "9001", "2026-10-01", HEATER, "3000.00"),
    invoice("rival", "9002", "2026-10-02", HEATER, "3100.00", customer_id="cust-9"),
]


@pytest.fixture
def memory(moto_url: str) -> Iterator[SimpleNamespace]:
    DynamoRecordStore.cache.clear()
    DynamoVectorStore.cache.clear()
    with only_table("memory_table"), serving() as (fake, url):
        embedder, records, vectors = HashedNgramEmbedder(), DynamoRecordStore(), DynamoVectorStore()
        MemoryIndexer(embedder, records, vectors).index([*ACME, *RIVAL])
        state = SimpleNamespace(chat=None, fake=fake, url=url)

        def answers() -> MemoryAnswers:
            return MemoryAnswers(
                MemorySearch(embedder, records, vectors), PriceBook(records, today=lambda: TODAY), state.chat
            )

        # The memory routes use nothing else of the API's services.
        none = cast(Any, None)
        state.call = Lambda(ApiServices(documents=none, integrations=none, runs=none, memory=answers))
        yield state


def test_search_finds_the_callers_records_with_how_they_matched(memory: SimpleNamespace) -> None:
    status, found, _ = memory.call(
        "POST", "/memory/search", {"query": "water heater install", "top_k": 3}, claims=member()
    )
    assert status == 200 and found["query"] == "water heater install"
    hits = found["hits"]
    assert len(hits) == 3 and {h["number"] for h in hits} <= {"INV-2041", "INV-2042", "INV-2043"}
    first = hits[0]
    assert first["kind"] == "invoice" and first["customer_name"] == "Harper Plumbing"
    assert first["currency"] == "USD" and Decimal(first["total"]) >= Decimal("1400.00")
    assert first["matched"] in {"vector", "keyword", "both"} and "Water heater install" in first["snippet"]
    assert first["key"] == f"invoice#{first['doc_id']}" and first["score"] > 0
    scores = {"vector": first["vector_score"], "keyword": first["keyword_score"]}
    assert {k for k, v in scores.items() if v is not None} == (
        {"vector", "keyword"} if first["matched"] == "both" else {first["matched"]}
    )


def test_filters_narrow_the_search(memory: SimpleNamespace) -> None:
    body = {
        "query": "water heater install",
        "filters": {
            "date_from": "2026-06-01",
            "currency": "USD",
            "max_total": "1450.00",
            "kinds": ["invoice"],
        },
    }
    status, found, _ = memory.call("POST", "/memory/search", body, claims=member())
    # Only what the filters let through (the heater of June at 1450.00; the drain cleaning of July
    # is a distant neighbour), the one that matches first.
    assert status == 200 and found["hits"][0]["number"] == "INV-2042"
    assert {h["number"] for h in found["hits"]} <= {"INV-2042", "INV-2044"}


def test_no_company_ever_sees_another_companys_records(memory: SimpleNamespace) -> None:
    """The same words, item and customer id in both companies: each sees its own only, whatever
    the request says; a body naming a company is refused."""
    for company, numbers in (
        ("acme", {"INV-2041", "INV-2042", "INV-2043"}),
        ("rival", {"INV-9001", "INV-9002"}),
    ):
        claims = member(company)
        body = {"query": "water heater install INV-9001 INV-2043", "top_k": 20}
        _, found, _ = memory.call("POST", "/memory/search", body, claims=claims)
        assert {h["number"] for h in found["hits"]} - {"INV-2044"} == numbers, company
        _, facts, _ = memory.call("GET", "/memory/prices?item=item-wh", claims=claims)
        assert facts["by_currency"][0]["times_charged"] == len(numbers), company
        _, answer, _ = memory.call(
            "POST", "/memory/ask", {"question": "water heater install?"}, claims=claims
        )
        assert {c["number"] for c in answer["citations"]} <= numbers | {"INV-2044"}, company
    status, problem, _ = memory.call(
        "POST", "/memory/search", {"query": "heater", "company_id": "rival"}, claims=member("acme")
    )
    assert status == 422 and problem["errors"][0]["field"] == "company_id"
    status, problem, _ = memory.call("GET", "/memory/prices?item=item-wh&company_id=rival", claims=member())
    assert status == 422 and problem["errors"][0]["field"] == "query.company_id"


def test_prices_are_counted_from_the_lines(memory: SimpleNamespace) -> None:
    status, facts, _ = memory.call("GET", "/memory/prices?q=water%20heater%20installs", claims=member())
    assert status == 200
    [usd] = facts["by_currency"]
    assert (usd["times_charged"], usd["median_unit_price"], usd["min_unit_price"], usd["max_unit_price"]) == (
        3,
        "1450.00",
        "1400.00",
        "1500.00",
    )
    assert usd["typical_markup_percent"] == "45.0" and usd["last_charged"]["number"] == "INV-2043"
    assert [m["month"] for m in usd["trend"]["months"]] == ["2026-03", "2026-06", "2026-11"]
    assert usd["trend"]["direction"] == "unknown"  # 3 charges: a trend needs 4
    assert facts["message"].startswith("You charged for Water heater install 3 times since March 2026")


@pytest.mark.parametrize(
    ("path", "field", "fix"),
    [
        ("/memory/prices", "query", 'Send item="<item id or name>" or q="<words of the item>", not both.'),
        (
            "/memory/prices?item=a&q=b",
            "query",
            'Send item="<item id or name>" or q="<words of the item>", not both.',
        ),
        (
            "/memory/prices?item=a&currency=usd",
            "query.currency",
            'Send query.currency as a currency code: 3 capital letters (ISO 4217), e.g. "USD".',
        ),
    ],
)
def test_a_bad_price_question_names_the_field_and_the_fix(
    memory: SimpleNamespace, path: str, field: str, fix: str
) -> None:
    status, problem, headers = memory.call("GET", path, claims=member())
    assert status == 422 and headers["content-type"] == "application/problem+json"
    assert [(e["field"], e["fix"]) for e in problem["errors"]] == [(field, fix)]


def test_top_k_over_20_is_refused_saying_so(memory: SimpleNamespace) -> None:
    for path, body in (
        ("/memory/search", {"query": "heater", "top_k": 21}),
        ("/memory/ask", {"question": "heater?", "top_k": 50}),
    ):
        status, problem, _ = memory.call("POST", path, body, claims=member())
        assert status == 422
        [error] = problem["errors"]
        assert error["field"] == "top_k" and error["message"].startswith("must be at most 20")
        assert error["fix"] == "Send top_k as a number at most 20."


def test_ask_without_a_model_composes_a_cited_answer(memory: SimpleNamespace) -> None:
    status, answer, _ = memory.call(
        "POST", "/memory/ask", {"question": "What did we charge for a water-heater install?"}, claims=member()
    )
    assert status == 200 and answer["answered_by"] == "composed"
    assert answer["answer"].startswith(
        "You charged for Water heater install 3 times since March 2026: median $1,450.00 "
        "(from $1,400.00 to $1,500.00), last on INV-2043 (2026-11-20) at $1,500.00."
    )
    assert answer["citations"][0]["number"] == "INV-2043" and answer["notes"] == []


def test_ask_with_a_model_answers_from_what_it_was_given(memory: SimpleNamespace) -> None:
    memory.chat = ChatModel(url=memory.url, model="small-model", api_key=lambda: None, timeout_seconds=2.0)
    fake: FakeModel = memory.fake
    fake.answer = lambda _: reply(
        {"answer": "Typically $1,450; $1,500 on INV-2043.", "citations": ["invoice#2043", "invoice#9001"]}
    )
    status, answer, _ = memory.call(
        "POST", "/memory/ask", {"question": "What do we charge for a water heater install?"}, claims=member()
    )
    assert status == 200 and answer["answered_by"] == "model"
    assert answer["answer"] == "Typically $1,450; $1,500 on INV-2043."
    assert [c["key"] for c in answer["citations"]] == ["invoice#2043"]
    assert answer["notes"] == ["The model cited invoice#9001, not among the records it was given: dropped."]
    sent = fake.requests[0]["messages"][1]["content"]
    assert "INV-2043" in sent and "INV-9001" not in sent and "Rival" not in sent


def test_the_tools_are_served_and_need_an_identity(memory: SimpleNamespace) -> None:
    status, tools, _ = memory.call("GET", "/memory/tools", claims=member())
    assert status == 200 and tools == TOOLS
    status, problem, _ = memory.call("POST", "/memory/search", {"query": "heater"})
    assert status == 401 and "Authorization" in problem["fix"]


def test_a_deployment_without_the_memory_says_so(memory: SimpleNamespace) -> None:
    none = cast(Any, None)
    call = Lambda(ApiServices(documents=none, integrations=none, runs=none))
    status, problem, _ = call("POST", "/memory/ask", {"question": "heater?"}, claims=admin())
    assert status == 404 and "MEMORY_TABLE" in problem["fix"]
