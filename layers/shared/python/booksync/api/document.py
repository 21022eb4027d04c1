"""The OpenAPI document, as the API really answers.

FastAPI's generator documents every error as ``application/json`` and leaves the ``$defs`` of
hand-written request schemas where no client can resolve them; this fixes both, so the served
document (and ``docs/openapi.json``, kept in the repository) matches every response.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from booksync.api.problems import PROBLEM, PROBLEM_STATUSES, Problem

_PUBLIC_META = {"/health", "/openapi.json"}
_REF_PREFIX = "#/components/schemas/"


def openapi_builder(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components.setdefault("Problem", Problem.model_json_schema(ref_template=_REF_PREFIX + "{model}"))
            _hoist_definitions(document["paths"], components)
            for schema in list(components.values()):
                _hoist_definitions(schema, components)
            for path, operations in document["paths"].items():
                if path not in _PUBLIC_META:
                    for operation in operations.values():
                        _document_problems(operation)
            _drop_unreferenced(document)
            app.openapi_schema = document
        return app.openapi_schema

    return build


def _document_problems(operation: dict[str, Any]) -> None:
    """Every error the API can answer is a problem document; say so for each operation."""
    responses = operation.setdefault("responses", {})
    problem = {"schema": {"$ref": f"{_REF_PREFIX}Problem"}}
    for status, title in PROBLEM_STATUSES.items():
        entry = responses.setdefault(str(status), {"description": title})
        entry["content"] = {PROBLEM: problem}


def _hoist_definitions(node: Any, components: dict[str, Any]) -> None:
    """Move nested ``$defs`` (pydantic's) into ``components/schemas`` where the refs point."""
    if isinstance(node, dict):
        for name, schema in (node.pop("$defs", None) or {}).items():
            components.setdefault(name, schema)
            _hoist_definitions(schema, components)
        for value in node.values():
            _hoist_definitions(value, components)
    elif isinstance(node, list):
        for value in node:
            _hoist_definitions(value, components)


def _drop_unreferenced(document: dict[str, Any]) -> None:
    """FastAPI's own validation-error schemas are never answered (ours are problems)."""
    schemas = document["components"]["schemas"]
    while True:
        text = json.dumps([document["paths"], schemas])
        unused = [name for name in schemas if f'"{_REF_PREFIX}{name}"' not in text]
        if not unused:
            return
        for name in unused:
            del schemas[name]
