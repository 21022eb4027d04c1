"""LlmClassifier against a local fake chat-completions server (never a real network): its
answers are used, a page in batches; every failure (HTTP error, timeout, bad JSON, nothing
listening) falls back to the rules for the batch and the rest of the page, a customer left out or
typed wrongly for that customer alone, and the reason says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from booksync.chat import ChatModel
from booksync.onboarding.classifier import CustomerType
from booksync.onboarding.llm import BATCH, LlmClassifier
from booksync.providers.port import RemoteCustomer

from tests.conftest import closed_port
from tests.fakes.chat_model import Answer, FakeModel, reply, serving

CUSTOMERS = [
    RemoteCustomer(id="7", display_name="Summit Construction LLC"),
    RemoteCustomer(id="8", display_name="Jane Doe", email="jane@gmail.com"),
]


@pytest.fixture
def model() -> Iterator[tuple[FakeModel, str]]:
    with serving() as served:
        yield served


def chat(results: list[dict[str, str]]) -> tuple[int, Any]:
    return reply({"results": results})


def classifier(url: str, timeout: float = 2.0) -> LlmClassifier:
    return LlmClassifier(
        ChatModel(url=url, model="small-model", api_key=lambda: "sk-test", timeout_seconds=timeout)
    )


def test_the_models_answer_is_used(model: tuple[FakeModel, str]) -> None:
    fake, url = model
    fake.answer = lambda _: chat(
        [
            {"id": "7", "type": "builder", "reason": "a construction company"},
            {"id": "8", "type": "Homeowner", "reason": "a private person"},
        ]
    )
    results = classifier(url).classify(CUSTOMERS)
    assert [(r.type, r.source) for r in results] == [
        (CustomerType.BUILDER, "llm"),
        (CustomerType.HOMEOWNER, "llm"),
    ]
    assert results[0].reason == "a construction company"
    request = fake.requests[0]
    assert request["model"] == "small-model" and request["response_format"] == {"type": "json_object"}
    assert "Summit Construction LLC" in request["messages"][1]["content"]
    assert fake.headers[0]["Authorization"] == "Bearer sk-test"


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (lambda _: (500, {"error": "boom"}), "HTTP 500"),
        (lambda _: (200, b"not json"), "unusable answer"),
    ],
)
def test_failures_fall_back_to_the_rules_and_say_so(
    model: tuple[FakeModel, str], answer: Answer, why: str
) -> None:
    fake, url = model
    fake.answer = answer
    results = classifier(url).classify(CUSTOMERS)
    assert [r.type for r in results] == [CustomerType.BUILDER, CustomerType.HOMEOWNER]  # the rules' answer
    assert all(r.source == "rules" and f"language model unavailable: {why}" in r.reason for r in results)


def test_a_customer_left_out_or_mistyped_falls_back_alone(model: tuple[FakeModel, str]) -> None:
    fake, url = model
    fake.answer = lambda _: chat([{"id": "7", "type": "Builder", "reason": "a builder"}])  # 8 left out
    results = classifier(url).classify(CUSTOMERS)
    assert [(r.type, r.source) for r in results] == [
        (CustomerType.BUILDER, "llm"),
        (CustomerType.HOMEOWNER, "rules"),
    ]
    assert "left out" in results[1].reason
    fake.answer = lambda _: chat(
        [{"id": "7", "type": "Landlord"}, {"id": "8", "type": "Homeowner", "reason": "a person"}]
    )
    results = classifier(url).classify(CUSTOMERS)
    assert [r.source for r in results] == ["rules", "llm"] and "'Landlord'" in results[0].reason


def test_a_page_is_asked_in_batches_and_a_failed_batch_stops_the_asking(model: tuple[FakeModel, str]) -> None:
    fake, url = model
    page = [RemoteCustomer(id=str(n), display_name=f"Customer {n}") for n in range(2 * BATCH + 10)]

    def answer(request: dict[str, Any]) -> tuple[int, Any]:
        asked = json.loads(request["messages"][1]["content"])
        if len(fake.requests) == 2:
            return 500, {"error": "overloaded"}
        return chat([{"id": c["id"], "type": "Business", "reason": "asked"} for c in asked])

    fake.answer = answer
    results = classifier(url).classify(page)
    assert [len(json.loads(r["messages"][1]["content"])) for r in fake.requests] == [BATCH, BATCH]
    assert [r.source for r in results] == ["llm"] * BATCH + ["rules"] * (BATCH + 10)
    assert all("HTTP 500" in r.reason for r in results[BATCH:])


def test_a_slow_model_times_out_to_the_rules(model: tuple[FakeModel, str]) -> None:
    fake, url = model
    fake.delay = 1.0
    fake.answer = lambda _: chat([{"id": "7", "type": "Business"}, {"id": "8", "type": "Business"}])
    results = classifier(url, timeout=0.2).classify(CUSTOMERS)
    assert results[0].type == CustomerType.BUILDER
    assert "timed out" in results[0].reason


def test_nothing_listening_falls_back() -> None:
    with closed_port() as port:
        results = classifier(f"http://127.0.0.1:{port}/v1").classify(CUSTOMERS)
    assert "language model unavailable: unreachable" in results[1].reason


def test_the_bench_measures_the_model_on_the_held_out_set_only_when_one_is_configured(
    model: tuple[FakeModel, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench.figures.onboarding import UNSEEN, load, model_holdout

    fake, url = model
    monkeypatch.delenv("CLASSIFIER_LLM_URL", raising=False)
    assert model_holdout() == []  # no endpoint: no figure, no request
    assert fake.requests == []

    def everyone_a_homeowner(request: dict[str, Any]) -> tuple[int, Any]:
        asked = json.loads(request["messages"][1]["content"])
        return chat([{"id": c["id"], "type": "Homeowner", "reason": "guess"} for c in asked])

    fake.answer = everyone_a_homeowner
    monkeypatch.setenv("CLASSIFIER_LLM_URL", url)
    monkeypatch.setenv("CLASSIFIER_LLM_MODEL", "small-model")
    rows = load("customers.json", UNSEEN, "holdout")
    [figure] = model_holdout()
    assert figure.name == "classifier.accuracy_holdout_llm"
    assert figure.value == round(sum(r["label"] == "Homeowner" for r in rows) / len(rows), 3)
    assert "0 answered by the rules" in (figure.note or "")
    asked = [c["id"] for r in fake.requests for c in json.loads(r["messages"][1]["content"])]
    assert sorted(asked) == sorted(r["id"] for r in rows)  # the held-out part, nothing else
