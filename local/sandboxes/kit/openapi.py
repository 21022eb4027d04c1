"""Reading providers' OpenAPI documents strictly: the contract tests' and a sandbox's own checks."""

from __future__ import annotations

from typing import Any


def closed(node: Any, *, typed_objects_only: bool = False) -> Any:
    """The schema with every object schema that lists ``properties`` accepting no others
    (``additionalProperties: false`` unless it says), so a misspelt or invented field fails
    instead of passing silently. ``typed_objects_only``: only those that say ``type: object``
    (Square's document types all its objects; Xero's leaves the type out of some)."""
    if isinstance(node, dict):
        result = {key: closed(value, typed_objects_only=typed_objects_only) for key, value in node.items()}
        typed = result.get("type") == "object" or not typed_objects_only
        if "properties" in result and "additionalProperties" not in result and typed:
            result["additionalProperties"] = False
        return result
    if isinstance(node, list):
        return [closed(item, typed_objects_only=typed_objects_only) for item in node]
    return node
