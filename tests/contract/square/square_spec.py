"""Square's OpenAPI document (specs/square/api.json) read into schema validators.

Validation is OpenAPI 3.0 as a response reader sees it (``nullable``, ``readOnly`` allowed) with
``$ref`` resolved through a ``referencing`` registry, plus one strictness the document leaves out:
an object schema that lists its properties accepts no others, so a misspelt or invented field in
the sandbox's answers fails instead of passing silently.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30ReadValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from local.sandboxes.kit.openapi import closed

BASE = "urn:square:api.json"


class SquareSpec:
    def __init__(self, path: Path) -> None:
        self.document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self.schemas: dict[str, Any] = self.document["components"]["schemas"]
        strict = {
            **self.document,
            "components": {
                **self.document["components"],
                "schemas": closed(self.schemas, typed_objects_only=True),
            },
        }
        resource = Resource.from_contents(strict, default_specification=DRAFT4)
        self.registry: Registry[Any] = Registry().with_resource(BASE, resource)
        self._validators: dict[str, OAS30ReadValidator] = {}

    def validator(self, name: str) -> OAS30ReadValidator:
        if name not in self.schemas:
            raise KeyError(f"api.json has no schema {name}")
        if name not in self._validators:
            ref = {"$ref": f"{BASE}#/components/schemas/{name}"}
            self._validators[name] = OAS30ReadValidator(ref, registry=self.registry)
        return self._validators[name]

    def problems(self, name: str, instance: Any) -> list[str]:
        """Every way ``instance`` breaks schema ``name``, as readable lines (empty when it conforms)."""
        found = sorted(self.validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [f"{name} at /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]

    def assert_valid(self, name: str, instance: Any) -> None:
        problems = self.problems(name, instance)
        assert not problems, "\n".join(problems[:20])

    def response_schema(self, path: str, method: str = "get") -> str:
        """The schema the document names for a path's 200 answer, e.g. ListPayoutEntriesResponse."""
        operation = self.document["paths"][path][method]
        ref: str = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        return ref.rsplit("/", 1)[-1]

    def event_schema(self, event_type: str) -> str:
        """The schema whose ``x-webhook.event`` is ``event_type`` (payout.sent -> PayoutSentEvent)."""
        for name, schema in self.schemas.items():
            if isinstance(schema, dict) and schema.get("x-webhook", {}).get("event") == event_type:
                return name
        raise KeyError(f"api.json documents no webhook {event_type}")

    def enum(self, name: str) -> set[str]:
        return set(self.schemas[name]["enum"])

    def described_values(self, schema: str, field: str) -> set[str]:
        """Values a string field lists in its description (Payment.status has no enum schema)."""
        text = self.schemas[schema]["properties"][field]["description"]
        return set(re.findall(r"\b[A-Z][A-Z_]{2,}\b", text))
