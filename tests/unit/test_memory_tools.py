"""The billing memory's tool definitions (booksync/memory/tools.py) are the API's own request
models as JSON Schema: the same as the OpenAPI document says each route takes, standing alone
(no reference left), and docs/memory-tools.json is their current copy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from booksync.api.examples import EXAMPLES
from booksync.memory.tools import TOOLS, inlined
from jsonschema import Draft202012Validator

from scripts.openapi import TOOLS_OUT, document, render_tools

ROUTES = {
    "search_billing_memory": ("post", "/memory/search"),
    "billing_prices": ("get", "/memory/prices"),
    "ask_billing_memory": ("post", "/memory/ask"),
}


def parameters(name: str) -> dict[str, Any]:
    [found] = [t["function"]["parameters"] for t in TOOLS if t["function"]["name"] == name]
    return found


def _refs(node: Any) -> int:
    if isinstance(node, dict):
        return ("$ref" in node) + sum(_refs(v) for v in node.values())
    return sum(_refs(v) for v in node) if isinstance(node, list) else 0


def test_the_committed_copy_is_the_codes() -> None:
    assert TOOLS_OUT.read_text(encoding="utf-8") == render_tools(), (
        "docs/memory-tools.json is stale: run `make openapi`"
    )


def test_each_tool_is_a_function_with_a_standalone_schema() -> None:
    assert [t["function"]["name"] for t in TOOLS] == list(ROUTES)
    for tool in TOOLS:
        assert tool["type"] == "function" and tool["function"]["description"]
        schema = tool["function"]["parameters"]
        Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and _refs(schema) == 0 and "$defs" not in json.dumps(schema)


@pytest.mark.parametrize("name", ["search_billing_memory", "ask_billing_memory"])
def test_a_body_tool_takes_what_its_route_documents(name: str) -> None:
    doc = document()
    method, path = ROUTES[name]
    body = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    documented = inlined({**body, "$defs": doc["components"]["schemas"]})
    assert parameters(name) == documented


def test_the_prices_tool_takes_the_routes_query_parameters() -> None:
    listed = document()["paths"]["/memory/prices"]["get"]["parameters"]
    properties = parameters("billing_prices")["properties"]
    assert {p["name"]: p["schema"] for p in listed} == properties
    assert all(p["in"] == "query" and not p["required"] for p in listed)


def test_the_limits_and_choices_reach_the_assistant() -> None:
    search = parameters("search_billing_memory")
    assert search["properties"]["top_k"]["maximum"] == 20
    assert search["additionalProperties"] is False
    kinds = search["properties"]["filters"]["properties"]["kinds"]["anyOf"][0]["items"]["enum"]
    assert kinds == ["invoice", "estimate", "payment"]
    assert parameters("ask_billing_memory")["required"] == ["question"]


@pytest.mark.parametrize(
    ("name", "operation"),
    [("search_billing_memory", "POST /memory/search"), ("ask_billing_memory", "POST /memory/ask")],
)
def test_the_documented_examples_are_valid_tool_calls(name: str, operation: str) -> None:
    validator = Draft202012Validator(parameters(name))
    for body in EXAMPLES[operation].values():
        assert not list(validator.iter_errors(body))
    assert list(validator.iter_errors({"query": "x", "question": "y", "top_k": 21}))


def test_the_memory_routes_load_no_numpy_and_no_store_at_cold_start() -> None:
    """The routes' module is imported by every ApiFunction cold start (api/app.py ROUTERS)."""
    from tests.imports import modules_loaded_by

    loaded = modules_loaded_by("booksync.api.memory")
    assert not {m for m in loaded if m.split(".")[0] in {"numpy", "pynamodb", "botocore"}}
    assert "booksync.store.memory" not in loaded
