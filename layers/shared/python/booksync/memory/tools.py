"""The billing memory as tool definitions an assistant can be given as they are (function
calling: ``{"type": "function", "function": {"name", "description", "parameters"}}``).

Each tool's parameters are the JSON Schema of the very model its route validates
(``SearchRequest``, ``PriceQuery``, ``AskRequest``), with its references written out in place
(a tool's schema must stand alone), so a tool never drifts from the API. ``GET /memory/tools``
serves them; ``docs/memory-tools.json`` is their copy (``make openapi`` writes both, and a test
fails when it is stale).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from booksync.memory.ask import AskRequest
from booksync.memory.prices import PriceQuery
from booksync.memory.queries import SearchRequest

# name, route, model, description
_TOOLS: tuple[tuple[str, str, type[BaseModel], str], ...] = (
    (
        "search_billing_memory",
        "POST /memory/search",
        SearchRequest,
        "Find the company's own invoices, estimates and payments closest to a description "
        "(meaning and keywords); each result has its number, kind, customer, date, total and a "
        "snippet. Use it to look up past jobs before quoting.",
    ),
    (
        "billing_prices",
        "GET /memory/prices",
        PriceQuery,
        "What the company charged for an item, counted from its invoices: times charged, median, "
        "lowest and highest unit price, typical markup over cost, the last invoice that charged "
        "it, and the trend over the last 12 months, per currency. Use it for any question about "
        "what to charge.",
    ),
    (
        "ask_billing_memory",
        "POST /memory/ask",
        AskRequest,
        "Ask a question about the company's billing history in words; the answer cites the "
        "records it rests on.",
    ),
)


def _kept(key: str, value: Any) -> bool:
    return key not in ("$ref", "$defs") and not (key == "default" and value is None)


def inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with each ``$ref`` to its ``$defs`` replaced by the definition itself, and no
    ``"default": null`` (an optional field says so by not being required), as the OpenAPI
    document writes it."""
    definitions = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            own = {k: resolve(v) for k, v in node.items() if _kept(k, v)}
            if "$ref" in node:
                return {**resolve(definitions[node["$ref"].rsplit("/", 1)[-1]]), **own}
            return own
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def tool(name: str, route: str, model: type[BaseModel], description: str) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{description} (booksync: {route})",
            "parameters": inlined(model.model_json_schema()),
        },
    }


TOOLS: list[dict[str, Any]] = [tool(*spec) for spec in _TOOLS]
