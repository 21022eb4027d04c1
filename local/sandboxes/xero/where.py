"""Xero's ``where`` filter, the part of it lookups use: clauses joined by ``AND`` or ``OR`` (no
parentheses), each ``Path==value``, ``Path!=value``, ``Path.Contains("x")``,
``Path.StartsWith("x")`` or ``Path.EndsWith("x")``, where a value is ``"text"``,
``Guid("...")``, ``true``/``false`` or a number, and a path may reach into an object
(``Contact.ContactID``). Anything else is refused with what was not understood."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

Matcher = Callable[[dict[str, Any]], bool]

_COMPARE = re.compile(
    r'^\s*([A-Za-z][\w.]*)\s*(==|!=)\s*(?:"((?:[^"\\]|\\.)*)"|Guid\("([0-9a-fA-F-]+)"\)|(true|false)|(-?\d+(?:\.\d+)?))\s*$'
)
_METHOD = re.compile(r'^\s*([A-Za-z][\w.]*)\.(Contains|StartsWith|EndsWith)\("((?:[^"\\]|\\.)*)"\)\s*$')
_SPLIT = re.compile(r'\s+(AND|OR|&&|\|\|)\s+(?=(?:[^"]*"[^"]*")*[^"]*$)')


class BadWhere(ValueError):
    pass


def value_at(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _clause(text: str) -> Matcher:
    found = _COMPARE.match(text)
    if found:
        path, op, string, guid, boolean, number = found.groups()
        wanted: Any
        if string is not None:
            wanted = string.replace('\\"', '"')
        elif guid is not None:
            wanted = guid.lower()
        elif boolean is not None:
            wanted = boolean == "true"
        else:
            wanted = Decimal(number)

        def compare(record: dict[str, Any]) -> bool:
            value = value_at(record, path)
            if guid is not None and isinstance(value, str):
                value = value.lower()
            if isinstance(wanted, Decimal) and value is not None and not isinstance(value, bool):
                value = Decimal(str(value))
            return bool(value == wanted) == (op == "==")

        return compare
    found = _METHOD.match(text)
    if found:
        path, method, needle = found.groups()
        needle = needle.lower()
        test = {"Contains": str.__contains__, "StartsWith": str.startswith, "EndsWith": str.endswith}[method]

        def call(record: dict[str, Any]) -> bool:
            value = value_at(record, path)
            return isinstance(value, str) and bool(test(value.lower(), needle))

        return call
    raise BadWhere(f"The where clause {text.strip()!r} is not understood")


def parse(where: str) -> Matcher:
    """A predicate over records' JSON; BadWhere names the clause it cannot read."""
    parts = _SPLIT.split(where)
    clauses = [_clause(part) for part in parts[0::2]]
    joins = [op.upper() for op in parts[1::2]]

    def matches(record: dict[str, Any]) -> bool:
        result = clauses[0](record)
        for join, clause in zip(joins, clauses[1:], strict=True):
            result = (result and clause(record)) if join in {"AND", "&&"} else (result or clause(record))
        return result

    return matches
