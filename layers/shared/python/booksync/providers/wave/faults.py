"""Wave's error answers -> booksync's typed errors (design.md rule 5; providers.md 4 and 7.3).

Wave answers a GraphQL request at HTTP 200 whatever happened to it:
- ``errors[{message, extensions{code}}]``: ``UNAUTHENTICATED`` (after one refreshed token:
  ``ConnectionDown``), ``FORBIDDEN`` (the business is not this grant's: ``ConnectionDown``),
  ``NOT_FOUND`` (``RemoteNotFound``), ``BAD_USER_INPUT`` (``Rejected``, Wave's message kept),
  ``GRAPHQL_VALIDATION_FAILED`` (booksync's request does not match Wave's API: nothing was
  written; ``Rejected`` saying so), anything else (``INTERNAL_SERVER_ERROR``...): ``TransientError``,
  uncertain for a mutation. A document is validated before it is run, so a refusal of it never
  leaves a write behind;
- a mutation's own answer ``{didSucceed: false, inputErrors[{code, message, path}]}``: ``Rejected``
  naming each field (its ``path``) with Wave's message; an edit of an invoice with a payment on
  it says to remove the payment in Wave first, or record the change there.
HTTP 401/403 are read as UNAUTHENTICATED/FORBIDDEN; 429 and 5xx are retried by the HTTP client
(``Retry-After`` honoured) and reach here only once its retries are spent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from booksync.errors import (
    ConnectionDown,
    ProviderError,
    RateLimited,
    Rejected,
    RemoteNotFound,
    TransientError,
)
from booksync.providers.http import parse_retry_after, redact
from booksync.providers.wave import LABEL, PROVIDER, RECONNECT_FIX

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
MINUTE_WAIT = 60.0  # a 429 without Retry-After
GENERIC_FIX = f"Correct the record using {LABEL}'s message, then sync again."
REQUEST_FIX = (
    f"Nothing was written to {LABEL}. booksync's request does not match {LABEL}'s API (it may have "
    "changed): tell booksync's support, quoting this message."
)
# Wave keeps an invoice with a payment on it as it is (providers.md 7.3; the MCP server's note
# "Wave restricts edits to invoices that have payments recorded against them").
PAID_WORDS = ("payment", "paid")
PAID_FIX = (
    f"{LABEL} keeps an invoice with a payment on it as it is: remove the payment in {LABEL}, or "
    "record the change there yourself. booksync keeps the change and sends it when the invoice is "
    "synced again after the payment is removed."
)


FORBIDDEN_FIX = (
    f"{LABEL} serves apps only businesses on Wave Pro or Wave Advisors, in USD or CAD: if the "
    f"business's subscription ended, renew it in {LABEL}; then reconnect {LABEL} in booksync's settings."
)


def codes(errors: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each error's ``extensions.code``, in order (absent: "")."""
    found = []
    for error in errors:
        extensions = error.get("extensions")
        code = extensions.get("code") if isinstance(extensions, Mapping) else None
        found.append(str(code) if code else "")
    return found


def graphql_error(
    errors: Sequence[Mapping[str, Any]], *, operation: str, write: bool, secrets: tuple[str, ...] = ()
) -> ProviderError:
    """The typed error of an answer's ``errors`` (``operation``: the document's name, "CreateInvoice")."""
    said = redact("; ".join(str(e.get("message") or "no message") for e in errors), secrets)
    found = codes(errors)
    code = next((c for c in found if c), None)
    tail = f" ({operation}{', ' + code if code else ''})"
    common: dict[str, Any] = {"provider": PROVIDER, "provider_code": code, "status": 200}
    if FORBIDDEN in found:
        # The business is no longer one Wave serves apps (its paid plan ended...) or no longer the
        # grant's: the card shows the message alone, so it says what to do too.
        return ConnectionDown(
            f"{LABEL} refused booksync's access to the business: {said}{tail}. {FORBIDDEN_FIX}",
            fix=FORBIDDEN_FIX,
            **common,
        )
    if UNAUTHENTICATED in found:
        return ConnectionDown(f"{LABEL} refused booksync's access: {said}{tail}", fix=RECONNECT_FIX, **common)
    if VALIDATION_FAILED in found:
        return Rejected(
            f"{LABEL} refused booksync's request as invalid: {said}{tail}", fix=REQUEST_FIX, **common
        )
    if NOT_FOUND in found:
        return RemoteNotFound(
            f"The record no longer exists in {LABEL}: {said}{tail}",
            fix=f"It was deleted in {LABEL}; booksync will create or relink it.",
            **common,
        )
    if BAD_USER_INPUT in found:
        return refusal(said, tail, common)
    return TransientError(
        f"{LABEL} failed on its side: {said}{tail}",
        uncertain=write,
        fix="Nothing to do: booksync checks and tries again automatically.",
        **common,
    )


def input_error(inputs: Any, *, mutation: str) -> Rejected:
    """A mutation's ``didSucceed: false``: each refused field (``path``) with Wave's message."""
    parts = []
    first_code = None
    for entry in inputs if isinstance(inputs, list) else []:
        if not isinstance(entry, Mapping):
            continue
        path = entry.get("path")
        where = ".".join(str(p) for p in path) if isinstance(path, list) and path else str(path or "input")
        code = entry.get("code")
        first_code = first_code or (str(code) if code else None)
        parts.append(f"{where}: {entry.get('message') or 'invalid'}" + (f" [{code}]" if code else ""))
    said = "; ".join(parts) or "refused without naming a field"
    return refusal(said, f" ({mutation})", {"provider": PROVIDER, "provider_code": first_code, "status": 200})


def refusal(said: str, tail: str, common: Mapping[str, Any]) -> Rejected:
    lowered = said.lower()
    fix = PAID_FIX if any(word in lowered for word in PAID_WORDS) and "invoice" in lowered else GENERIC_FIX
    return Rejected(f"{LABEL} rejected the request: {said}{tail}", fix=fix, **dict(common))


def http_error(status: int, text: str, *, write: bool, retry_after: str | None = None) -> ProviderError:
    """An answer that is not HTTP 200 (the HTTP client has retried 429 and 5xx already)."""
    said = redact(text.strip()[:300]) or f"HTTP {status}"
    common: dict[str, Any] = {"provider": PROVIDER, "status": status}
    if status in (401, 403):
        return ConnectionDown(f"{LABEL} refused booksync's access: {said}", fix=RECONNECT_FIX, **common)
    if status == 429:
        wait = parse_retry_after(retry_after)
        return RateLimited(
            f"{LABEL} is limiting requests: {said}",
            retry_after=MINUTE_WAIT if wait is None else wait,
            fix="Nothing to do: booksync tries again automatically.",
            **common,
        )
    if status >= 500:
        return TransientError(
            f"{LABEL} failed on its side: {said}",
            uncertain=write,
            fix="Nothing to do: booksync checks and tries again automatically.",
            **common,
        )
    return Rejected(f"{LABEL} refused booksync's request: {said} (HTTP {status})", fix=REQUEST_FIX, **common)
