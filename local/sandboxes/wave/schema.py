"""Wave's schema (``schema.graphql``) as graphql-core objects, its scalars, and the checks every
document goes through before it runs: parse and validate (``GRAPHQL_VALIDATION_FAILED``), then
coerce the variables (``BAD_USER_INPUT``). Wave does both before it looks at the token
(providers.md 7.3), so a document can be checked without credentials: ``document_errors`` is the
helper booksync's contract tests call on every operation its Wave adapter sends."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    ValueNode,
    build_schema,
    is_required_input_field,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.language import FloatValueNode, IntValueNode, StringValueNode
from graphql.utilities import get_operation_ast, type_from_ast

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"


# ------------------------------------------------------------------ scalars


def _decimal_out(value: Any) -> str:
    return str(value if isinstance(value, Decimal) else Decimal(str(value)))


def _decimal_in(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise GraphQLError(f'Decimal cannot represent {value!r}: send a decimal string such as "10.50"')
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise GraphQLError(
            f'Decimal cannot represent {value!r}: send a decimal string such as "10.50"'
        ) from None
    if not number.is_finite():
        raise GraphQLError(f"Decimal cannot represent {value!r}")
    return number


def _decimal_literal(node: ValueNode, _variables: Any = None) -> Decimal:
    if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
        return _decimal_in(node.value)
    raise GraphQLError("Decimal literals are strings or numbers")


def _date_out(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _date_in(value: Any) -> date:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else _bad_date(value)
    except ValueError:
        return _bad_date(value)


def _bad_date(value: Any) -> date:
    raise GraphQLError(f"Date cannot represent {value!r}: send YYYY-MM-DD")


def _date_literal(node: ValueNode, _variables: Any = None) -> date:
    if isinstance(node, StringValueNode):
        return _date_in(node.value)
    raise GraphQLError("Date literals are strings YYYY-MM-DD")


def _datetime_out(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return str(value)


def _datetime_in(value: Any) -> datetime:
    if not isinstance(value, str):
        raise GraphQLError(f"DateTime cannot represent {value!r}: send an ISO 8601 instant")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"DateTime cannot represent {value!r}: send an ISO 8601 instant") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _datetime_literal(node: ValueNode, _variables: Any = None) -> datetime:
    if isinstance(node, StringValueNode):
        return _datetime_in(node.value)
    raise GraphQLError("DateTime literals are ISO 8601 strings")


_SCALARS = {
    "Decimal": (_decimal_out, _decimal_in, _decimal_literal),
    "Date": (_date_out, _date_in, _date_literal),
    "DateTime": (_datetime_out, _datetime_in, _datetime_literal),
}


@cache
def wave_schema() -> GraphQLSchema:
    """The schema, built once, with Wave's scalars wired (Decimal answers as a string)."""
    schema = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
    for name, (serialize, parse_value, parse_literal) in _SCALARS.items():
        scalar = schema.type_map[name]
        assert isinstance(scalar, GraphQLScalarType)
        scalar.serialize = serialize  # type: ignore[method-assign]
        scalar.parse_value = parse_value  # type: ignore[method-assign]
        scalar.parse_literal = parse_literal  # type: ignore[method-assign,assignment]
    return schema


# ------------------------------------------------------------------ checking a request


class Rejected(Exception):
    """A request Wave answers with errors before running it: ``code`` and the messages."""

    def __init__(self, code: str, errors: list[GraphQLError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.code = code
        self.errors = errors

    def payload(self) -> dict[str, Any]:
        return {"errors": [error_entry(error, self.code) for error in self.errors]}


def error_entry(error: GraphQLError, code: str, **extra: object) -> dict[str, Any]:
    entry: dict[str, Any] = {"message": error.message}
    if error.locations:
        entry["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        entry["path"] = list(error.path)
    entry["extensions"] = {"code": code, **extra}
    return entry


def checked(
    query: object, variables: object = None, operation_name: object = None
) -> tuple[DocumentNode, OperationDefinitionNode, dict[str, Any]]:
    """The parsed document, its operation and its coerced variables; ``Rejected`` as Wave would."""
    if not isinstance(query, str) or not query.strip():
        raise Rejected(VALIDATION_FAILED, [GraphQLError("Must provide query string.")])
    if variables is not None and not isinstance(variables, Mapping):
        raise Rejected(BAD_USER_INPUT, [GraphQLError("Variables must be provided as a JSON object.")])
    if operation_name is not None and not isinstance(operation_name, str):
        raise Rejected(VALIDATION_FAILED, [GraphQLError("operationName must be a string.")])
    document, operation = _valid_document(query, operation_name)
    coerced = get_variable_values(wave_schema(), operation.variable_definitions or (), dict(variables or {}))
    if isinstance(coerced, list):
        raise Rejected(BAD_USER_INPUT, coerced)
    return document, operation, coerced


def _valid_document(query: str, operation_name: str | None) -> tuple[DocumentNode, OperationDefinitionNode]:
    schema = wave_schema()
    try:
        document = parse(query)
    except GraphQLError as error:
        raise Rejected(VALIDATION_FAILED, [error]) from None
    problems = validate(schema, document)
    if problems:
        raise Rejected(VALIDATION_FAILED, list(problems))
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        message = (
            f'Unknown operation named "{operation_name}".'
            if operation_name
            else "Must provide operation name if query contains multiple operations."
        )
        raise Rejected(VALIDATION_FAILED, [GraphQLError(message)])
    return document, operation


def document_errors(query: str, variables: Mapping[str, Any] | None = None) -> list[str]:
    """What Wave would refuse in this request before authenticating it (empty: it is valid).

    For contract tests: every operation booksync's Wave adapter sends must answer ``[]``; given
    the ``variables`` it sends, they are coerced too (``None``: the document alone is checked).
    The messages are graphql-core's, prefixed with Wave's error code."""
    try:
        if variables is None:
            _valid_document(query, None)
        else:
            checked(query, variables)
    except Rejected as rejected:
        return [f"{rejected.code}: {error.message}" for error in rejected.errors]
    return []


_SAMPLES: dict[str, Any] = {
    "ID": "1",
    "String": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": True,
    "Decimal": "1.00",
    "Date": "2026-01-01",
    "DateTime": "2026-01-01T00:00:00Z",
}


def sample_variables(query: str) -> dict[str, Any]:
    """Type-correct values for a document's variables, every required input field filled (as
    wave-mcp-server's scripts/smoke-validate-graphql.mjs builds them against Wave's live schema)."""
    schema = wave_schema()
    _document, operation = _valid_document(query, None)
    return {
        definition.variable.name.value: _sample(type_from_ast(schema, definition.type), 0)
        for definition in operation.variable_definitions or ()
    }


def _sample(kind: Any, depth: int) -> Any:
    if isinstance(kind, GraphQLNonNull):
        return _sample(kind.of_type, depth)
    if isinstance(kind, GraphQLList):
        return [_sample(kind.of_type, depth + 1)]
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        fields = kind.fields.items() if depth < 6 else ()
        required = [(name, field) for name, field in fields if is_required_input_field(field)]
        return {name: _sample(field.type, depth + 1) for name, field in required}
    return _SAMPLES.get(getattr(kind, "name", ""), "x")
