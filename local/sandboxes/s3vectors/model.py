"""botocore's own ``s3vectors`` service model, and a check of a JSON value against one of its shapes.

The stand-in serves what the model says and nothing else: every request body is checked against
its operation's input shape and every answer against its output (or error) shape, on the wire
(JSON as the rest-json protocol carries it: timestamps as epoch seconds, floats as numbers or the
strings ``NaN``/``Infinity``/``-Infinity``). A value's problems are listed with their path
(``vectors[3].data.float32``) and what the model expects there, as the service's
``ValidationException`` names each field (``fieldList``).

What the model checks: types, required members, members the shape does not have, union members
(exactly one set), enum values, string and list lengths, integer ranges and patterns. Smithy
patterns are not anchored (a search, as in the model's own semantics) and written for Java
(``\\p{L}``): the ``regex`` package runs them as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import regex
from botocore.loaders import Loader

SERVICE = "s3vectors"
_NON_FINITE = {"NaN", "Infinity", "-Infinity"}


@cache
def service_model() -> dict[str, Any]:
    """The model of the installed botocore (``service-2`` of ``s3vectors``)."""
    model: dict[str, Any] = Loader().load_service_model(SERVICE, "service-2")
    return model


def api_version() -> str:
    return str(service_model()["metadata"]["apiVersion"])


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    uri: str
    input: str
    output: str
    errors: tuple[str, ...]


def operation(name: str) -> Operation:
    """An operation of the model by name (KeyError when the model has none of that name)."""
    spec = service_model()["operations"][name]
    return Operation(
        name=name,
        method=spec["http"]["method"],
        uri=spec["http"]["requestUri"],
        input=spec["input"]["shape"],
        output=spec["output"]["shape"],
        errors=tuple(error["shape"] for error in spec.get("errors", ())),
    )


def shape(name: str) -> dict[str, Any]:
    found: dict[str, Any] = service_model()["shapes"][name]
    return found


def error_status(error: str) -> int:
    """The HTTP status the model gives an error shape (400 when it names none)."""
    return int(shape(error).get("error", {}).get("httpStatusCode", 400))


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def public(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def check(shape_name: str, value: object, path: str = "") -> list[Problem]:
    """Every way ``value`` (the JSON on the wire) differs from the model's shape ``shape_name``."""
    problems: list[Problem] = []
    _check(shape_name, value, path, problems)
    return problems


def _check(name: str, value: object, path: str, problems: list[Problem]) -> None:
    spec = shape(name)
    kind = spec["type"]
    where = path or "the body"
    if kind == "structure" and spec.get("document"):
        return  # a document: any JSON value (what it may hold is the service's rule, not the model's)
    checker = _CHECKERS[kind]
    problem = checker(spec, name, value, path, problems)
    if problem is not None:
        problems.append(Problem(where, problem))


def _structure(
    spec: dict[str, Any], name: str, value: object, path: str, problems: list[Problem]
) -> str | None:
    if not isinstance(value, dict):
        return f"must be an object ({name}), got {_json_type(value)}"
    members: dict[str, Any] = spec.get("members", {})
    for key in value:
        if key not in members:
            problems.append(
                Problem(_join(path, key), f"is not a member of {name}; members: {', '.join(members)}")
            )
    for key in spec.get("required", ()):
        if value.get(key) is None:
            problems.append(Problem(_join(path, key), f"is required by {name}"))
    present = [key for key in members if value.get(key) is not None]
    if spec.get("union") and len(present) != 1:
        return f"must set exactly one of {', '.join(members)} ({name} is a union), got {len(present)}"
    for key in present:
        if key in value:
            _check(members[key]["shape"], value[key], _join(path, key), problems)
    return None


def _list(spec: dict[str, Any], name: str, value: object, path: str, problems: list[Problem]) -> str | None:
    if not isinstance(value, list):
        return f"must be a list ({name}), got {_json_type(value)}"
    size = _bounds(spec, len(value), "items")
    for index, item in enumerate(value):
        _check(spec["member"]["shape"], item, f"{path}[{index}]", problems)
    return size


def _map(spec: dict[str, Any], name: str, value: object, path: str, problems: list[Problem]) -> str | None:
    if not isinstance(value, dict):
        return f"must be an object ({name}), got {_json_type(value)}"
    for key, item in value.items():
        _check(spec["key"]["shape"], key, f"{path}.<key {key!r}>", problems)
        _check(spec["value"]["shape"], item, _join(path, str(key)), problems)
    return _bounds(spec, len(value), "entries")


def _string(spec: dict[str, Any], name: str, value: object, path: str, problems: list[Problem]) -> str | None:
    if not isinstance(value, str):
        return f"must be a string ({name}), got {_json_type(value)}"
    enum = spec.get("enum")
    if enum is not None and value not in enum:
        return f"must be one of {', '.join(enum)} ({name}), got {value!r}"
    pattern = spec.get("pattern")
    if pattern is not None and _pattern(pattern).search(value) is None:
        return f"must match {pattern} ({name}), got {value!r}"
    return _bounds(spec, len(value), "characters")


def _integer(
    spec: dict[str, Any], name: str, value: object, path: str, problems: list[Problem]
) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be an integer ({name}), got {_json_type(value)}"
    return _bounds(spec, value, "")


def _float(spec: dict[str, Any], name: str, value: object, path: str, problems: list[Problem]) -> str | None:
    if isinstance(value, str) and value in _NON_FINITE:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number ({name}), got {_json_type(value)}"
    return None


def _boolean(
    spec: dict[str, Any], name: str, value: object, path: str, problems: list[Problem]
) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false ({name}), got {_json_type(value)}"


def _timestamp(
    spec: dict[str, Any], name: str, value: object, path: str, problems: list[Problem]
) -> str | None:
    # rest-json carries a timestamp in a body as epoch seconds.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"must be epoch seconds ({name}), got {_json_type(value)}"
    return None


_CHECKERS = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "integer": _integer,
    "long": _integer,
    "float": _float,
    "double": _float,
    "boolean": _boolean,
    "timestamp": _timestamp,
}


def _bounds(spec: dict[str, Any], size: int, unit: str) -> str | None:
    low, high = spec.get("min"), spec.get("max")
    what = f"{size} {unit}".strip()
    if low is not None and size < low:
        return f"must be at least {low} {unit}".rstrip() + f", got {what}"
    if high is not None and size > high:
        return f"must be at most {high} {unit}".rstrip() + f", got {what}"
    return None


@cache
def _pattern(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return "a list" if isinstance(value, list) else "an object"
