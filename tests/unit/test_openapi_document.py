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


def _served(part: str) -> set[tuple[str, str]]:
    from booksync.api.app import create_app
    from fastapi.openapi.utils import get_openapi

    app = create_app(_no_services, part)  # type: ignore[arg-type]
    paths = get_openapi(title="t", version="1", routes=app.routes)["paths"]
    return {(method, path) for path, item in paths.items() for method in item if path != "/openapi.json"}


def _no_services() -> Any:
    raise RuntimeError("building routes needs no services")


def test_the_two_api_functions_serve_the_whole_api_between_them_once() -> None:
    """ApiFunction ("core") and SetupApiFunction ("setup") split the routes; template.yaml sends
    the setup screens' paths to the latter (tests/unit/test_template.py)."""
    core, setup, whole = _served("core"), _served("setup"), _served("whole")
    assert core and setup
    assert not core & setup
    assert core | setup == whole
    assert {path.split("/")[3] for _method, path in setup} == {"wizard", "accounts", "account-mapping"}


def test_the_core_function_serves_the_whole_document() -> None:
    from booksync.api.app import create_app

    core = create_app(_no_services, "core")
    assert core.openapi() == document()
    assert create_app(_no_services, "setup").openapi_url is None
