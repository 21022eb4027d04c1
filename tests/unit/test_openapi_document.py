"""docs/openapi.json is the document the API serves, and the document says what the API answers."""

from __future__ import annotations

import json
from typing import Any

from scripts.openapi import OUT, document, render


def test_the_committed_document_is_the_codes() -> None:
    assert OUT.read_text(encoding="utf-8") == render(), "docs/openapi.json is stale: run `make openapi`"


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]


def test_every_error_is_documented_as_a_problem() -> None:
    doc = document()
    for path, method, op in _operations(doc):
        if path in {"/health", "/openapi.json"}:
            continue
        for status in ("401", "403", "404", "422"):
            content = op["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], (method, path, status)
            assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_every_reference_resolves() -> None:
    doc = document()
    text = json.dumps(doc)
    schemas = doc["components"]["schemas"]
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
    assert refs, "the document references no schema"
    assert refs <= set(schemas), sorted(refs - set(schemas))
    assert "$defs" not in text
