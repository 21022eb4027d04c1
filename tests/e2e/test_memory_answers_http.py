"""The billing memory answered over HTTP on the local stack, template.yaml as deployed with
RagBillingEmbedEnabled=true: sent invoices embedded by EmbedBillingFunction, then searched, priced
and asked through ApiFunction (its role enforced: MemoryTable read only), each company its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.stack import LocalStack, StackOptions
from scripts.demo import billing_history
from tests.e2e.conftest import ROOT

COMPANY = "memory-answers-e2e"
RIVAL = "memory-answers-rival"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(
        template=str(ROOT / "template.yaml"), ports="auto", parameters={"RagBillingEmbedEnabled": "true"}
    )
    with LocalStack(options) as running:
        yield running


@pytest.fixture(scope="module")
def rival(stack: LocalStack) -> Iterator[httpx.Client]:
    token = stack.mint_token(RIVAL, "member", sub="bob")
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        yield c


def put(client: httpx.Client, path: str, body: dict[str, Any]) -> None:
    answer = client.put(path, json=body)
    assert answer.status_code in (200, 201), answer.text


@pytest.fixture(scope="module")
def remembered(stack: LocalStack, api: httpx.Client, rival: httpx.Client) -> None:
    billing_history(
        lambda path, body: put(api, path, body),
        [("03", "1400.00"), ("06", "1450.00"), ("11", "1500.00")],
        2041,
    )
    billing_history(lambda path, body: put(rival, path, body), [("10", "3000.00")], 9001)
    stack.drain()
    ran = stack.invocations("EmbedBillingFunction")
    assert ran and all(r.ok for r in ran), [r.error for r in ran]


def test_search_prices_and_ask_answer_from_the_companys_own_records(
    remembered: None, api: httpx.Client
) -> None:
    found = api.post("/memory/search", json={"query": "water heater install", "top_k": 5})
    assert found.status_code == 200, found.text
    assert {h["number"] for h in found.json()["hits"]} == {"INV-2041", "INV-2042", "INV-2043"}
    facts = api.get("/memory/prices", params={"item": "wh"})
    assert facts.status_code == 200, facts.text
    [usd] = facts.json()["by_currency"]
    assert (usd["times_charged"], usd["median_unit_price"], usd["typical_markup_percent"]) == (
        3,
        "1450.00",
        "45.0",
    )
    answer = api.post("/memory/ask", json={"question": "What did we charge for a water-heater install?"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["answered_by"] == "composed"
    assert body["answer"].startswith(
        "You charged for Water heater install 3 times since March 2026: median $1,450.00"
    )
    assert body["citations"][0]["number"] == "INV-2043"


def test_another_company_sees_its_own_only(remembered: None, rival: httpx.Client) -> None:
    found = rival.post("/memory/search", json={"query": "water heater install INV-2043", "top_k": 20})
    assert found.status_code == 200, found.text
    assert [h["number"] for h in found.json()["hits"]] == ["INV-9001"]
    facts = rival.get("/memory/prices", params={"item": "wh"}).json()
    assert [f["times_charged"] for f in facts["by_currency"]] == [1]
