"""Validation errors that teach: each names the field (``lines[2].item_id``), says the expected
form, and carries a fix of its own.

pydantic's messages say what failed ("Decimal input should have no more than 14 digits in total");
an integrator needs what to send instead ("an amount of money: a string with at most 2 decimals,
e.g. "150.00""). The model a body was validated against is walked to find what each field
expects (decimal places, lengths, the nearest valid field name); only the error path runs this.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from booksync.documents import CURRENCY_PATTERN, DOC_ID_MAX, DOC_ID_PATTERN, EMAIL_PATTERN
from booksync.errors import FieldError

DATE_EXAMPLE = "2026-12-01"
# The patterns of documents.py, in words.
PATTERNS = {
    DOC_ID_PATTERN: (
        f"an id: 1 to {DOC_ID_MAX} letters, digits and _ . : - (starting with a letter or a digit), "
        'e.g. "c-17"'
    ),
    CURRENCY_PATTERN: 'a currency code: 3 capital letters (ISO 4217), e.g. "USD"',
    EMAIL_PATTERN: 'an e-mail address, e.g. "name@example.com"',
}
_DECIMAL_ERRORS = {
    "decimal_parsing",
    "decimal_type",
    "decimal_max_places",
    "decimal_max_digits",
    "decimal_whole_digits",
    "float_parsing",
    "float_type",
}
# pydantic's error for a number out of bounds -> the constraint it broke, and that bound in words.
_BOUND_ERRORS = {
    "greater_than": ("gt", "more than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}
_DATE_ERRORS = {"date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact", "date_type"}


def field_path(loc: tuple[Any, ...]) -> str:
    """("body", "lines", 2, "item_id") -> "lines[2].item_id"."""
    text = ""
    for part in loc:
        if part == "body" and not text:
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def teach(err: dict[str, Any], model: type[BaseModel] | None, body: Any = None) -> FieldError:
    """One pydantic/FastAPI error as a field error with the expected form and a fix."""
    kind = str(err.get("type", ""))
    loc = tuple(err.get("loc", ()))
    ctx = err.get("ctx") or {}
    if kind == "json_invalid":
        return _json_error(loc, ctx, body)
    path = field_path(loc)
    inner = [p for p in loc if p != "body"]
    info = _field_at(model, inner) if model else None
    got = err.get("input")
    if "fix" in ctx:  # a check of booksync's own that knows the way out (PydanticCustomError)
        return FieldError(path, str(err.get("msg")), str(ctx["fix"]))
    if kind == "id_mismatch":
        return FieldError(
            path, str(err["msg"]), "Send the same id in the path and the body, or leave id out of the body."
        )
    if kind == "extra_forbidden":
        return _unknown_field(path, inner, model)
    if kind == "missing":
        form = _form(info) if info else None
        return FieldError(
            path,
            f"is required{f': {form}' if form else ''}",
            f"Add {path}{f' ({form})' if form else ''}.",
        )
    if kind in _DATE_ERRORS:
        return FieldError(
            path,
            f'must be a date written YYYY-MM-DD, e.g. "{DATE_EXAMPLE}" (got {_shown(got)})',
            f'Write {path} as YYYY-MM-DD, e.g. "{DATE_EXAMPLE}".',
        )
    if kind in _DECIMAL_ERRORS or (
        info is not None and _is_decimal(info) and kind.startswith(("greater", "less"))
    ):
        return _number_error(path, kind, ctx, got, info)
    if kind in _BOUND_ERRORS:  # a whole number out of its range (top_k 50 where 20 is the most)
        return _bound_error(path, kind, ctx, got, info)
    if kind in {"enum", "literal_error"}:
        return _choice_error(path, ctx, got)
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        form = PATTERNS.get(pattern, f"text matching {pattern}")
        return FieldError(path, f"must be {form} (got {_shown(got)})", f"Send {path} as {form}.")
    if kind == "string_too_long":
        limit = ctx.get("max_length")
        return FieldError(
            path,
            f"must be at most {limit} characters (got {len(str(got))})",
            f"Shorten {path} to {limit} characters or fewer.",
        )
    if kind == "string_too_short":
        return FieldError(
            path, "must not be empty", f"Give {path} a value, or leave the field out if it is optional."
        )
    if kind == "too_short":
        least = ctx.get("min_length")
        return FieldError(
            path, f"must have at least {least} entries", f"Send at least {least} entries in {path}."
        )
    if kind == "too_long":
        most = ctx.get("max_length")
        return FieldError(
            path, f"must have at most {most} entries", f"Send at most {most} entries in {path} (split it)."
        )
    if kind in {"bool_parsing", "bool_type"}:
        return FieldError(
            path, f"must be true or false (got {_shown(got)})", f"Send {path} as true or false."
        )
    if kind in {"string_type"}:
        return FieldError(path, f"must be text (got {_shown(got)})", f"Send {path} as a JSON string.")
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return FieldError(
            path, f"must be a JSON object (got {_shown(got)})", f"Send {path} as an object {{...}}."
        )
    if kind == "list_type":
        return FieldError(path, f"must be a JSON array (got {_shown(got)})", f"Send {path} as a list [...].")
    message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
    return FieldError(path, message, f"Correct {path} as this message says, then send the request again.")


def _json_error(loc: tuple[Any, ...], ctx: dict[str, Any], body: Any) -> FieldError:
    position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    reason = str(ctx.get("error", "not valid JSON"))
    if position is None or not isinstance(body, str | bytes):
        return FieldError("body", f"is not valid JSON: {reason}", "Send one JSON object (UTF-8).")
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    where = f"line {line}, column {column}"
    return FieldError(
        "body",
        f"is not valid JSON: {reason} at {where} (character {position})",
        f"Correct the JSON at {where}: a comma after the last member, a missing comma or an "
        "unquoted name is the usual cause. Send one JSON object, Content-Type: application/json.",
    )


def _unknown_field(path: str, inner: list[Any], model: type[BaseModel] | None) -> FieldError:
    name = str(inner[-1]) if inner else path
    owner = _model_at(model, inner[:-1]) if model else None
    if owner is None:
        return FieldError(path, "is not a field of this request", f"Remove {path}.")
    names = sorted(_input_names(owner))
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6) or difflib.get_close_matches(
        name.lower().replace("-", "_"), names, n=1, cutoff=0.6
    )
    if close:
        return FieldError(path, f"is not a field; did you mean {close[0]}?", f"Rename {name} to {close[0]}.")
    return FieldError(
        path,
        f"is not a field; the fields here are {', '.join(names)}",
        f"Remove {name}, or use one of: {', '.join(names)}.",
    )


def _number_error(path: str, kind: str, ctx: dict[str, Any], got: Any, info: FieldInfo | None) -> FieldError:
    places = _constraint(info, "decimal_places") if info else None
    digits = _constraint(info, "max_digits") if info else None
    money = places == 2
    bounds = _bounds(info) if info else ""
    form = (
        f'an amount of money{bounds}: a string with at most 2 decimals, e.g. "150.00"'
        if money
        else f'a number{bounds} with at most {places} decimals, as a string, e.g. "1.5"'
        if places is not None
        else f'a number{bounds}, as a string, e.g. "1.5"'
    )
    why = f"got {_shown(got)}"
    exact = _as_decimal(got)
    decimals = -int(exact.as_tuple().exponent) if exact is not None else 0
    if isinstance(got, float) and places is not None and decimals > 6:
        # 0.1 + 0.2 arrives as 0.30000000000000004: say what happened, not "14 digits".
        why = f"got the JSON number {got!r}, a float that is not exact; send money as a string"
    elif exact is not None and places is not None and decimals > places:
        why = f"got {exact}, with {decimals} decimals"
    elif (
        exact is not None
        and digits is not None
        and places is not None
        and kind
        in {
            "decimal_max_digits",
            "decimal_whole_digits",
        }
    ):
        why = f"got {exact}: at most {digits - places} digits before the decimal point"
    fix = (
        f'Send {path} as a string with at most 2 decimals{bounds}, e.g. "150.00" (round to the cent first).'
        if money
        else f"Send {path} as {form}."
    )
    return FieldError(path, f"must be {form} ({why})", fix)


def _bound_error(path: str, kind: str, ctx: dict[str, Any], got: Any, info: FieldInfo | None) -> FieldError:
    name, words = _BOUND_ERRORS[kind]
    limit = ctx.get(name, _constraint(info, name))
    if limit is None:  # a bound neither the error nor the field says: the range, in general
        return FieldError(
            path,
            f"is out of its range (got {_shown(got)})",
            f"Send {path} as a number within the range the API document (GET /openapi.json) gives it.",
        )
    return FieldError(
        path, f"must be {words} {limit} (got {_shown(got)})", f"Send {path} as a number {words} {limit}."
    )


def _bounds(info: FieldInfo) -> str:
    parts = []
    for name, words in _BOUND_ERRORS.values():
        value = _constraint(info, name)
        if value is not None:
            parts.append(f"{words} {value}")
    return f" {' and '.join(parts)}" if parts else ""


def _choice_error(path: str, ctx: dict[str, Any], got: Any) -> FieldError:
    expected = str(ctx.get("expected", ""))
    choices = [part.strip(" '\"") for part in expected.replace(" or ", ", ").split(",") if part.strip()]
    near = [c for c in choices if isinstance(got, str) and c.lower() == got.strip().lower()]
    near = near or difflib.get_close_matches(str(got), choices, n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]}?" if near else ""
    return FieldError(
        path,
        f"must be one of {', '.join(choices)} (got {_shown(got)}){hint}",
        f"Send {path} as {near[0] if near else 'one of ' + ', '.join(choices)} (exactly, case included).",
    )


def _form(info: FieldInfo) -> str | None:
    """The expected form of a field, for a missing one."""
    annotation = _unwrap(info.annotation)
    if annotation is date:
        return f'a date, YYYY-MM-DD, e.g. "{DATE_EXAMPLE}"'
    if annotation is Decimal:
        places = _constraint(info, "decimal_places")
        return (
            'an amount of money: a string with at most 2 decimals, e.g. "150.00"'
            if places == 2
            else f"a number with at most {places} decimals"
        )
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "one of " + ", ".join(str(m.value) for m in annotation)
    pattern = _constraint(info, "pattern")
    if isinstance(pattern, str) and pattern in PATTERNS:
        return PATTERNS[pattern]
    if annotation is str:
        longest = _constraint(info, "max_length")
        return f"text of at most {longest} characters" if longest else "text"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "an object with " + ", ".join(sorted(_input_names(annotation)))
    if typing.get_origin(annotation) is list:
        return "a list"
    return None


# -- walking the model ------------------------------------------------------------------------------


def _input_names(model: type[BaseModel]) -> set[str]:
    return {
        field.validation_alias if isinstance(field.validation_alias, str) else name
        for name, field in model.model_fields.items()
    }


def _field_named(model: type[BaseModel], name: str) -> FieldInfo | None:
    for field_name, field in model.model_fields.items():
        if name in (field_name, field.validation_alias):
            return field
    return None


def _field_at(model: type[BaseModel] | None, path: list[Any]) -> FieldInfo | None:
    while path and isinstance(path[-1], int):
        path = path[:-1]  # an entry of a list: the list's field
    if model is None or not path:
        return None
    owner = _model_at(model, path[:-1])
    return _field_named(owner, str(path[-1])) if owner else None


def _model_at(model: type[BaseModel] | None, path: list[Any]) -> type[BaseModel] | None:
    current = model
    for part in path:
        if current is None:
            return None
        if isinstance(part, int):
            continue  # an index in a list: the list's model
        field = _field_named(current, str(part))
        current = _inner_model(field.annotation) if field else None
    return current


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _unwrap(annotation: Any) -> Any:
    """Optional[Annotated[X, ...]] -> X."""
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
            annotation = args[0]
            continue
        return annotation


def _constraint(info: FieldInfo | None, name: str) -> Any:
    """A constraint (decimal_places, max_length, gt...) wherever pydantic keeps it for this field."""
    if info is None:
        return None
    stack: list[Any] = [*info.metadata, info.annotation]
    while stack:
        item = stack.pop()
        value = getattr(item, name, None)
        if value is not None and not callable(value):
            return value
        if isinstance(item, FieldInfo):
            stack.extend(item.metadata)
        elif typing.get_origin(item) is not list:
            stack.extend(typing.get_args(item))
            if typing.get_origin(item) is typing.Annotated:
                stack.extend(getattr(item, "__metadata__", ()))
    return None


def _is_decimal(info: FieldInfo) -> bool:
    return _unwrap(info.annotation) is Decimal


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _shown(value: Any) -> str:
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "a list"
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
