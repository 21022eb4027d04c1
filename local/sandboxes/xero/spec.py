"""Xero's OpenAPI documents (specs/xero/) read into schema validators, for the contract tests
and for the sandbox's own check of what it receives and answers (``XeroConfig.check_spec``).

OpenAPI 3.0 (3.1 for the webhooks document) as each side sees it (answers: ``readOnly``
allowed; requests: ``readOnly`` refused) with ``$ref`` resolved through a ``referencing``
registry, plus one strictness the documents leave out: an object schema that lists its
properties accepts no others, so a misspelt or invented field fails instead of passing silently.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

from local.sandboxes.kit.openapi import closed

SPECS_DIR = Path(__file__).resolve().parents[3] / "specs" / "xero"


class XeroSpec:
    """One of Xero's documents: its paths, and validators for answers and requests."""

    def __init__(self, path: Path) -> None:
        self.base = f"urn:xero:{path.name}"
        self.document: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        strict = {**self.document, "components": closed(self.document["components"])}
        # The webhooks document is OpenAPI 3.1 (JSON Schema 2020-12: ``const``); the others 3.0.
        self.v31 = str(self.document["openapi"]).startswith("3.1")
        resource = Resource.from_contents(strict, default_specification=DRAFT202012 if self.v31 else DRAFT4)
        self.registry: Registry[Any] = Registry().with_resource(self.base, resource)
        self._paths = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$", re.IGNORECASE), template)
            for template in self.document.get("paths", {})
        ]

    def template(self, path: str, method: str) -> str:
        """The document's path for a concrete one; a fixed path beats a templated one."""
        found = [
            t for pattern, t in self._paths if pattern.match(path) and method in self.document["paths"][t]
        ]
        if not found:
            raise KeyError(f"the document has no {method.upper()} {path}")
        best: str = min(found, key=lambda t: t.count("{"))
        return best

    def _schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A schema of the document with its local refs made absolute."""
        if "$ref" in schema:
            return {"$ref": self.base + schema["$ref"]}
        if schema.get("type") == "array" and "$ref" in schema.get("items", {}):
            return {"type": "array", "items": {"$ref": self.base + schema["items"]["$ref"]}}
        return schema

    def answer_problems(self, path: str, method: str, status: int, body: Any) -> list[str]:
        template = self.template(path, method)
        responses = self.document["paths"][template][method]["responses"]
        response = responses.get(str(status))
        if response is None:
            return [f"{method.upper()} {template}: the document lists no {status} answer"]
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is None and status == 400:
            schema = {"$ref": "#/components/schemas/Error"}
        if schema is None:
            return (
                []
                if body in (None, b"", "")
                else [f"{method.upper()} {template} {status}: a body where none is"]
            )
        validator = OAS30ReadValidator(self._schema(schema), registry=self.registry)
        return self._lines(f"{method.upper()} {template} {status}", validator, body)

    def request_problems(self, path: str, method: str, body: Any) -> list[str]:
        template = self.template(path, method)
        operation = self.document["paths"][template][method]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        validator = OAS30WriteValidator(self._schema(schema), registry=self.registry)
        return self._lines(f"request {method.upper()} {template}", validator, body)

    def schema_problems(self, name: str, body: Any) -> list[str]:
        kind = OAS31Validator if self.v31 else OAS30ReadValidator
        validator = kind({"$ref": f"{self.base}#/components/schemas/{name}"}, registry=self.registry)
        return self._lines(name, validator, body)

    @staticmethod
    def _lines(where: str, validator: Any, body: Any) -> list[str]:
        found = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        return [f"{where} at /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


_loading = threading.Lock()


@functools.cache
def _document(name: str) -> XeroSpec:
    return XeroSpec(SPECS_DIR / name)


def accounting_spec() -> XeroSpec:
    """``xero_accounting.yaml``, read once per process (about half a second)."""
    with _loading:
        return _document("xero_accounting.yaml")


def identity_spec() -> XeroSpec:
    with _loading:
        return _document("xero-identity.yaml")


def webhooks_spec() -> XeroSpec:
    with _loading:
        return _document("xero-webhooks.yaml")


class SpecCheck:
    """What the sandbox received and answered on the Accounting API, checked against
    ``xero_accounting.yaml`` as it serves (``XeroConfig.check_spec``): each request body against its
    operation's schema, each 200 or 400 answer against the schema named for its status. Problems
    are kept for the control API (``GET /_sandbox/spec``), never answered to the client: Xero
    itself ignores fields it does not know, so the check tells a test, not the app."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.problems: list[str] = []
        self.checked = 0

    def exchange(self, method: str, path: str, request_body: bytes, status: int, answer_body: bytes) -> None:
        spec = accounting_spec()
        verb = method.lower()
        found: list[str] = []
        try:
            if request_body and verb in {"put", "post"}:
                found += spec.request_problems(path, verb, json.loads(request_body))
            if status in {200, 400} and answer_body:
                found += spec.answer_problems(path, verb, status, json.loads(answer_body))
        except KeyError as unknown:
            found.append(str(unknown))
        except ValueError:
            found.append(f"{method} {path}: a body that is not JSON")
        with self.lock:
            self.checked += 1
            self.problems.extend(found)

    def report(self) -> dict[str, object]:
        with self.lock:
            return {"checked": self.checked, "problems": list(self.problems)}

    def clear(self) -> None:
        with self.lock:
            self.problems.clear()
            self.checked = 0
