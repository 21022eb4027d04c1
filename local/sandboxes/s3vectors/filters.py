"""QueryVectors' metadata filter, as S3 Vectors documents it (providers.md 7.5; the user guide's
"Metadata filtering"): ``{"key": value}`` (equality), ``{"key": {"$op": operand}}`` with ``$eq $ne
$gt $gte $lt $lte $in $nin $exists``, ``$and``/``$or`` over non-empty lists of filters; several
keys in one object must all hold. ``$eq`` against a list value matches when any element equals.
Range operators take numbers only. The filter runs before the search (pre-filtering): the
``topK`` nearest are taken among the vectors that match.

A filter the service would refuse is a ``FilterError`` (a ValidationException) saying which part
is wrong; a key the index declared non-filterable cannot be filtered on (assumed: the guide says
such keys "can't be used as query filters" without naming the error).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection
from typing import Any

Primitive = str | int | float | bool
_RANGE: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}
_LOGICAL = ("$and", "$or")


class FilterError(ValueError):
    """A filter S3 Vectors refuses (answered as a ValidationException)."""


Predicate = Callable[[dict[str, Any]], bool]


def compile_filter(document: object, non_filterable: Collection[str] = ()) -> Predicate:
    """The filter as a predicate over a vector's metadata; FilterError when it is not a filter."""
    return _compile(document, "filter", frozenset(non_filterable))


def _compile(document: object, path: str, hidden: frozenset[str]) -> Predicate:
    if not isinstance(document, dict) or not document:
        raise FilterError(f"{path} must be a non-empty object of conditions")
    parts: list[Predicate] = []
    for key, condition in document.items():
        if key in _LOGICAL:
            parts.append(_logical(key, condition, f"{path}.{key}", hidden))
        elif key.startswith("$"):
            raise FilterError(f"{path}: {key} is not an operator here; use $and or $or, or a metadata key")
        elif key in hidden:
            raise FilterError(
                f"{path}.{key}: the key is non-filterable in this index and cannot be filtered on"
            )
        else:
            parts.append(_field(key, condition, f"{path}.{key}"))
    return lambda metadata: all(part(metadata) for part in parts)


def _logical(op: str, operands: object, path: str, hidden: frozenset[str]) -> Predicate:
    if not isinstance(operands, list) or not operands:
        raise FilterError(f"{path} takes a non-empty list of filters")
    compiled = [_compile(operand, f"{path}[{i}]", hidden) for i, operand in enumerate(operands)]
    if op == "$and":
        return lambda metadata: all(part(metadata) for part in compiled)
    return lambda metadata: any(part(metadata) for part in compiled)


def _field(key: str, condition: object, path: str) -> Predicate:
    if not isinstance(condition, dict):
        return _operator(key, "$eq", condition, path)
    if not condition:
        raise FilterError(
            f"{path} must name an operator ($eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists)"
        )
    parts = [_operator(key, op, operand, f"{path}.{op}") for op, operand in condition.items()]
    return lambda metadata: all(part(metadata) for part in parts)


def _operator(key: str, op: str, operand: object, path: str) -> Predicate:
    if op in ("$eq", "$ne"):
        value = _primitive(operand, path)
        equal = _equals_fn(key, value)
        return equal if op == "$eq" else (lambda metadata: key in metadata and not equal(metadata))
    if op in _RANGE:
        bound = _number(operand, path)
        compare = _RANGE[op]

        def ranged(metadata: dict[str, Any]) -> bool:
            found = metadata.get(key)
            return _is_number(found) and bool(compare(found, bound))

        return ranged
    if op in ("$in", "$nin"):
        if not isinstance(operand, list) or not operand:
            raise FilterError(f"{path} takes a non-empty list of strings, numbers or booleans")
        options = [_equals_fn(key, _primitive(item, f"{path}[{i}]")) for i, item in enumerate(operand)]
        if op == "$in":
            return lambda metadata: any(option(metadata) for option in options)
        return lambda metadata: key in metadata and not any(option(metadata) for option in options)
    if op == "$exists":
        if not isinstance(operand, bool):
            raise FilterError(f"{path} takes true or false")
        return lambda metadata: (key in metadata) is operand
    raise FilterError(f"{path}: unknown operator; use $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin or $exists")


def _equals_fn(key: str, value: Primitive) -> Predicate:
    def equals(metadata: dict[str, Any]) -> bool:
        found = metadata.get(key)
        candidates = found if isinstance(found, list) else [found]
        return any(_same(candidate, value) for candidate in candidates)

    return equals


def _same(a: object, b: Primitive) -> bool:
    # True is not 1 here: a boolean equals only a boolean.
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def _primitive(value: object, path: str) -> Primitive:
    if isinstance(value, str | bool | int | float):
        return value
    raise FilterError(f"{path} takes a string, a number or a boolean")


def _number(value: object, path: str) -> float:
    if not _is_number(value):
        raise FilterError(f"{path} takes a number")
    return float(value)  # type: ignore[arg-type]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
