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


def openapi_builder(source: FastAPI | Callable[[], FastAPI]) -> Callable[[], dict[str, Any]]:
    """The document of ``source``: an app, or a factory of the whole API when the serving
    function holds only part of it (built on the first request for the document)."""
    built: list[dict[str, Any]] = []

    def build() -> dict[str, Any]:
        if not built:
            built.append(_document(source if isinstance(source, FastAPI) else source()))
        return built[0]

    return build


def _document(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Problem", Problem.model_json_schema(ref_template=_REF_PREFIX + "{model}"))
    for name, model in getattr(app.state, "request_models", {}).items():
        components.setdefault(name, model.model_json_schema(ref_template=_REF_PREFIX + "{model}"))
    _hoist_definitions(document["paths"], components)
    for schema in list(components.values()):
        _hoist_definitions(schema, components)
    _provider_text_limits(components)
    from booksync.api.examples import EXAMPLES

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            _bare_request_reference(operation)
            _request_examples(operation, EXAMPLES.get(f"{method.upper()} {path}", {}))
            if path not in _PUBLIC_META:
                _document_problems(operation)
    _drop_unreferenced(document)
    return document


def _provider_text_limits(components: dict[str, Any]) -> None:
    """Each accounting provider's text limits (its declaration's), said on the fields they bound:
    booksync's own lengths are the schema's; a company's books refuse longer at the door."""
    from booksync.providers.registry import REGISTRY

    for name in REGISTRY.names("accounting"):
        declared = REGISTRY.get(name)
        counted = f" ({declared.text_limits.counting})" if declared.text_limits.counting else ""
        for (kind, field), rule in declared.text_limits.fields.items():
            prop = components.get(kind.value.capitalize(), {}).get("properties", {}).get(field)
            if prop is None:
                continue
            said = (
                f"At most {rule.limit} characters{counted} for a company whose books are in "
                f"{declared.label}: {rule.where}."
            )
            prop["description"] = f"{prop['description']} {said}" if prop.get("description") else said


def _bare_request_reference(operation: dict[str, Any]) -> None:
    """A body validated in the route (``dict`` to FastAPI) is the model it references, alone:
    FastAPI's own ``type: object`` beside the reference would say any object will do."""
    for content in operation.get("requestBody", {}).get("content", {}).values():
        reference = content.get("schema", {}).get("$ref")
        if reference:
            content["schema"] = {"$ref": reference}


def _request_examples(operation: dict[str, Any], examples: dict[str, dict[str, Any]]) -> None:
    """A body to copy for each operation that takes one (the events/api/ samples)."""
    for content in operation.get("requestBody", {}).get("content", {}).values():
        content["examples"] = {name: {"value": body} for name, body in examples.items()}


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
