"""Intuit's query language: SELECT * | COUNT(*) FROM Entity [WHERE ... AND ...] [ORDERBY ...]
[STARTPOSITION n] [MAXRESULTS m]. No OR, no joins, only the fields Intuit lets you filter on."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from local.sandboxes.quickbooks import errors, ops
from local.sandboxes.quickbooks.clock import CompanyClock
from local.sandboxes.quickbooks.entities import entity_type
from local.sandboxes.quickbooks.entities.base import EntityType, Q
from local.sandboxes.quickbooks.model import Realm, Record

MAX_RESULTS = 1000
DEFAULT_MAX_RESULTS = 100  # what Intuit returns when MAXRESULTS is left out

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:\\.|[^'\\])*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op><=|>=|!=|=|<|>)
    | (?P<punct>[(),*])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"select", "count", "from", "where", "and", "in", "like", "orderby", "asc", "desc"}
_PAGING = {"startposition", "maxresults"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    column: int


@dataclass
class Condition:
    field: str
    op: str  # = < > <= >= != in like
    values: list[str]


@dataclass
class Statement:
    entity: str
    count: bool
    where: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


def entity_of(text: str) -> str | None:
    """The entity a statement reads, for request classification before it is validated."""
    found = re.search(r"\bfrom\s+([A-Za-z]+)", text, re.IGNORECASE)
    return found.group(1) if found else None


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    stripped = text.rstrip()
    while position < len(stripped):
        found = _TOKEN.match(stripped, position)
        if found is None or found.end() == position:
            column = position + 1
            raise errors.query_parse(f'Encountered "{stripped[position]}" at line 1, column {column}.')
        kind = found.lastgroup or ""
        tokens.append(Token(kind, found.group(kind), found.start(kind) + 1))
        position = found.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise errors.query_parse('Encountered "<EOF>" at line 1.')
        self.index += 1
        return token

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.lower() in words

    def expect_word(self, word: str) -> None:
        token = self.next()
        if token.kind != "word" or token.text.lower() != word:
            raise _unexpected(token)

    def expect(self, text: str) -> None:
        token = self.next()
        if token.text != text:
            raise _unexpected(token)


def _unexpected(token: Token) -> errors.QBOFault:
    return errors.query_parse(f'Encountered "{token.text}" at line 1, column {token.column}.')


def parse(text: str) -> Statement:
    parser = _Parser(tokenize(text))
    parser.expect_word("select")
    count = _parse_projection(parser)
    parser.expect_word("from")
    entity = parser.next()
    if entity.kind != "word" or entity.text.lower() in _KEYWORDS:
        raise _unexpected(entity)
    statement = Statement(entity.text, count)
    if parser.at_word("where"):
        parser.next()
        statement.where = _parse_conditions(parser)
    if parser.at_word("orderby"):
        parser.next()
        statement.order = _parse_order(parser)
    _parse_paging(parser, statement)
    leftover = parser.peek()
    if leftover is not None:
        raise _unexpected(leftover)
    return statement


def _parse_projection(parser: _Parser) -> bool:
    token = parser.next()
    if token.text == "*":
        return False
    if token.kind == "word" and token.text.lower() == "count":
        parser.expect("(")
        parser.expect("*")
        parser.expect(")")
        return True
    raise _unexpected(token)


def _parse_conditions(parser: _Parser) -> list[Condition]:
    conditions = [_parse_condition(parser)]
    while parser.at_word("and"):
        parser.next()
        conditions.append(_parse_condition(parser))
    return conditions


def _parse_condition(parser: _Parser) -> Condition:
    name = parser.next()
    if name.kind != "word" or name.text.lower() in _KEYWORDS | _PAGING:
        raise _unexpected(name)
    operator = parser.next()
    if operator.kind == "op":
        return Condition(name.text, operator.text, [_parse_value(parser)])
    if operator.kind == "word" and operator.text.lower() == "like":
        return Condition(name.text, "like", [_parse_value(parser, strings_only=True)])
    if operator.kind == "word" and operator.text.lower() == "in":
        return Condition(name.text, "in", _parse_list(parser))
    raise _unexpected(operator)


def _parse_list(parser: _Parser) -> list[str]:
    parser.expect("(")
    values = [_parse_value(parser)]
    while (token := parser.next()).text == ",":
        values.append(_parse_value(parser))
    if token.text != ")":
        raise _unexpected(token)
    return values


def _parse_value(parser: _Parser, *, strings_only: bool = False) -> str:
    token = parser.next()
    if token.kind == "string":
        if not token.text.isascii():
            # Intuit's query lexer refuses characters outside ASCII in a literal (en dash, curly
            # apostrophe, "ß"); clients fall back to LIKE with a wildcard in their place.
            column = token.column + next(i for i, ch in enumerate(token.text) if not ch.isascii())
            raise errors.query_parse(f"Lexical error at line 1, column {column}.")
        # Intuit escapes a quote inside a value with a backslash: 'O\'Brien'.
        return re.sub(r"\\(.)", r"\1", token.text[1:-1])
    if not strings_only and (token.kind == "number" or token.text.lower() in {"true", "false"}):
        return token.text
    raise _unexpected(token)


def _parse_order(parser: _Parser) -> list[tuple[str, bool]]:
    order = []
    while True:
        name = parser.next()
        if name.kind != "word":
            raise _unexpected(name)
        descending = False
        if parser.at_word("asc", "desc"):
            descending = parser.next().text.lower() == "desc"
        order.append((name.text, descending))
        token = parser.peek()
        if token is None or token.text != ",":
            return order
        parser.next()


def _parse_paging(parser: _Parser, statement: Statement) -> None:
    while parser.at_word(*_PAGING):
        keyword = parser.next().text.lower()
        number = parser.next()
        if number.kind != "number" or "." in number.text or number.text.startswith("-"):
            raise _unexpected(number)
        if keyword == "startposition":
            statement.start = max(int(number.text), 1)
        else:
            statement.max_results = min(int(number.text), MAX_RESULTS)


# ---------------------------------------------------------------- execution


def run(realm: Realm, text: str, clock: CompanyClock) -> dict[str, Any]:
    """The QueryResponse body for a statement, or a 4000/4001 fault."""
    statement = parse(text)
    etype = entity_type(statement.entity)
    if etype is None:
        raise errors.query_invalid(f"Entity {statement.entity} is not supported")
    conditions = [_bind(etype, condition, clock) for condition in statement.where]
    order = [(_field_name(etype, name), descending) for name, descending in statement.order]
    views = [(_view(record), record) for record in realm.all(etype.name)]
    if etype.has_active and not any(name == "Active" for name, _, _ in conditions):
        views = [(view, record) for view, record in views if view.get("Active") is not False]
    views = [(view, record) for view, record in views if all(_matches(view, bound) for bound in conditions)]
    if statement.count:
        return {"totalCount": len(views)}
    chosen = _sorted(views, order)[statement.start - 1 : statement.start - 1 + statement.max_results]
    if not chosen:
        return {}
    page = [ops.render(realm, record) for _, record in chosen]
    return {etype.name: page, "startPosition": statement.start, "maxResults": len(page)}


def _view(record: Record) -> dict[str, Any]:
    """What filters and ORDERBY read: the stored fields, Id and MetaData, without rendering."""
    meta = {"CreateTime": record.created_at.isoformat(), "LastUpdatedTime": record.updated_at.isoformat()}
    return {**record.data, "Id": record.id, "MetaData": meta}


Bound = tuple[str, Callable[[object, object], bool], list[object]]


def _field_name(etype: EntityType, name: str) -> str:
    for known in etype.queryable:
        if known.lower() == name.lower():
            return known
    if any(key.lower() == name.lower() for key in etype.shape):
        raise errors.query_invalid(f"property '{name}' is not queryable")
    raise errors.query_invalid(f"Property {name} not found for Entity {etype.name}")


def _bind(etype: EntityType, condition: Condition, clock: CompanyClock) -> Bound:
    name = _field_name(etype, condition.field)
    kind = etype.queryable[name]
    if condition.op == "like" and kind not in {Q.STR, Q.EMAIL}:
        raise errors.query_invalid(f"LIKE is not supported on property '{name}'")
    values = [_typed(kind, value, name, clock) for value in condition.values]
    return name, _OPERATORS[condition.op], values


_OPERATORS: dict[str, Callable[[object, object], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,  # type: ignore[operator]
    ">": lambda a, b: a > b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
    "in": lambda a, b: a == b,
    "like": lambda a, b: bool(isinstance(a, str) and isinstance(b, re.Pattern) and b.fullmatch(a)),
}


def _typed(kind: Q, value: str, name: str, clock: CompanyClock) -> object:
    try:
        return _CONVERT[kind](value, clock)
    except (ValueError, InvalidOperation):
        raise errors.query_invalid(f"Invalid value '{value}' for property '{name}'") from None


def _as_text(value: str, _: CompanyClock) -> object:
    # Intuit ignores letter case; it does not fold further ("ß" is not "ss").
    return value.lower()


def _as_id(value: str, _: CompanyClock) -> object:
    return int(value) if value.isdigit() else value


def _as_bool(value: str, _: CompanyClock) -> object:
    if value.lower() not in {"true", "false"}:
        raise ValueError(value)
    return value.lower() == "true"


def _as_moment(value: str, clock: CompanyClock) -> object:
    return clock.parse_moment(value)


def _as_date(value: str, _: CompanyClock) -> object:
    return datetime.fromisoformat(value[:10]).date().isoformat()


_CONVERT: dict[Q, Callable[[str, CompanyClock], object]] = {
    Q.ID: _as_id,
    Q.REF: _as_id,
    Q.STR: _as_text,
    Q.EMAIL: _as_text,
    Q.DEC: lambda value, _: Decimal(value),
    Q.BOOL: _as_bool,
    Q.DATE: _as_date,
    Q.DATETIME: _as_moment,
}


def _matches(row: dict[str, Any], bound: Bound) -> bool:
    name, compare, values = bound
    actual = _row_value(row, name)
    if actual is None:
        return False
    if compare is _OPERATORS["like"]:
        return compare(actual, _like_pattern(str(values[0])))
    try:
        return any(compare(actual, value) for value in values)
    except TypeError:
        return False  # e.g. a numeric id compared with a non-numeric one


def _like_pattern(value: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in value.split("%")), re.IGNORECASE | re.DOTALL)


def _row_value(row: dict[str, Any], name: str) -> object:
    """The comparable value of a field: ref values, email addresses and times unwrapped."""
    value: Any = row
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, dict):
        value = value.get("value", value.get("Address"))
    if name.startswith("MetaData.") and isinstance(value, str):
        return datetime.fromisoformat(value)
    if isinstance(value, str):
        return int(value) if value.isdigit() and (name == "Id" or name.endswith("Ref")) else value.lower()
    return value


View = tuple[dict[str, Any], Record]


def _sorted(rows: list[View], order: list[tuple[str, bool]]) -> list[View]:
    """Rows in Id order, then by each ORDERBY field (last key applied first, so the first wins)."""
    result = sorted(rows, key=lambda row: _sort_key(_row_value(row[0], "Id")))
    for name, descending in reversed(order):
        present = [row for row in result if _row_value(row[0], name) is not None]
        missing = [row for row in result if _row_value(row[0], name) is None]
        present.sort(key=lambda row: _sort_key(_row_value(row[0], name)), reverse=descending)
        result = present + missing
    return result


def _sort_key(value: object) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | Decimal):
        return (1, value)
    if isinstance(value, datetime):
        return (2, value.timestamp())
    return (3, str(value))
