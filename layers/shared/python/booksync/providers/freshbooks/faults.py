"""FreshBooks' error answers -> booksync's typed errors (design.md rule 5; providers.md 3, 7.2).

FreshBooks answers errors in two shapes, both read here:
- the accounting API's own: ``{"response": {"errors": [{"errno": 1012, "field": "userid",
  "message": "Client not found.", "object": "client", "value": "12345"}]}}``;
- the newer one: ``{"code": 5, "message": "...", "details": [{"@type":
  "type.googleapis.com/google.rpc.ErrorInfo", "reason": "1012", ...}]}``;
and the identity service's 401 ``{"error": "unauthenticated", "error_description": "..."}``.

- 401 after one refreshed token, and 403: ``ConnectionDown`` (reconnect);
- 404: ``RemoteNotFound``; 5xx: ``TransientError`` (uncertain for a write);
- 429: ``RateLimited`` with its ``Retry-After`` (FreshBooks publishes no limits; the HTTP client
  has already waited out the ones it could);
- anything else (400, 422): ``Rejected`` with FreshBooks' messages, each with the field it names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from booksync.errors import (
    ConnectionDown,
    ProviderError,
    RateLimited,
    Rejected,
    RemoteNotFound,
    TransientError,
)
from booksync.providers.freshbooks import LABEL, PROVIDER, RECONNECT_FIX
from booksync.providers.http import parse_retry_after, redact, response_json

if TYPE_CHECKING:
    import httpx

MINUTE_WAIT = 60.0  # a 429 without Retry-After: wait a minute
GENERIC_FIX = f"Correct the record using {LABEL}'s message, then sync again."
NUMBER_TAKEN_FIX = (
    f"Another invoice in {LABEL} holds this number, perhaps one deleted there: give the invoice a "
    "new number in booksync, then sync again."
)
_TAKEN = ("already exists", "already in use", "must be unique")


def _said(error: Mapping[str, Any]) -> str:
    message = str(error.get("message") or "").strip()
    field = error.get("field")
    return f"{message} ({field})" if message and field else message


def problems(payload: Any) -> tuple[list[str], str | None]:
    """FreshBooks' messages in either error shape, and its error number (``errno``, the newer
    shape's ``reason``) where it gives one."""
    if not isinstance(payload, Mapping):
        return [], None
    response = payload.get("response")
    errors = response.get("errors") if isinstance(response, Mapping) else None
    if isinstance(errors, Mapping):
        errors = [errors]
    if isinstance(errors, list) and errors:
        found = [_said(e) for e in errors if isinstance(e, Mapping) and _said(e)]
        first = errors[0] if isinstance(errors[0], Mapping) else {}
        number = first.get("errno")
        return found, str(number) if number is not None else None
    if "code" in payload or "details" in payload:
        details = [d for d in payload.get("details") or [] if isinstance(d, Mapping)]
        reason = next((str(d["reason"]) for d in details if d.get("reason") is not None), None)
        message = str(payload.get("message") or "").strip()
        return ([message] if message else []), reason or (str(payload["code"]) if "code" in payload else None)
    said = payload.get("error_description") or payload.get("message") or payload.get("error")
    return ([str(said)] if said else []), (str(payload["error"]) if payload.get("error") else None)


def to_error(
    response: httpx.Response, *, entity: str, write: bool, secrets: tuple[str, ...] = ()
) -> ProviderError:
    """The typed error for one answer that is not a success. ``entity``: what was being sent or
    read ("client", "invoice")."""
    found, code = problems(response_json(response))
    status = response.status_code
    said = redact("; ".join(found) or f"HTTP {status}", secrets)
    tail = f" (HTTP {status}{', error ' + code if code else ''})"
    common: dict[str, Any] = {"provider_code": code, "status": status, "provider": PROVIDER}
    if status in (401, 403):
        return ConnectionDown(f"{LABEL} refused booksync's access: {said}{tail}", fix=RECONNECT_FIX, **common)
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimited(
            f"{LABEL} is limiting requests: {said}{tail}",
            retry_after=MINUTE_WAIT if wait is None else wait,
            fix="Nothing to do: booksync tries again automatically.",
            **common,
        )
    if status >= 500:
        return TransientError(
            f"{LABEL} failed on its side: {said}{tail}",
            uncertain=write,
            fix="Nothing to do: booksync checks and tries again automatically.",
            **common,
        )
    if status == 404:
        return RemoteNotFound(
            f"The {entity} no longer exists in {LABEL}: {said}{tail}",
            fix=f"It was deleted in {LABEL}; booksync will create or relink it.",
            **common,
        )
    taken = entity == "invoice" and any(word in said.lower() for word in _TAKEN)
    return Rejected(
        f"{LABEL} rejected the {entity}: {said}{tail}",
        fix=NUMBER_TAKEN_FIX if taken else GENERIC_FIX,
        **common,
    )
