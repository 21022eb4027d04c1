"""Xero's error answers -> booksync's typed errors (design.md rule 5; providers.md 7.1).

- 400 ``{"ErrorNumber": 10, "Type": "ValidationException", "Message", "Elements": [{...,
  "ValidationErrors": [{"Message"}]}]}``: ``Rejected`` with Xero's messages (a name or item code
  another record holds: ``DuplicateName``, which the engine answers by linking or by a name of
  the document's own, as QuickBooks' 6240; a change to an invoice with a payment on it: its fix
  says to remove the payment in Xero or record the change there);
- 401 (``TokenExpired``, ``AuthorizationUnsuccessful``) after one refreshed token, and 403
  ``AuthenticationUnsuccessful`` (the tenant is not, or no longer, connected to the grant):
  ``ConnectionDown``;
- 404: ``RemoteNotFound``; 5xx: ``TransientError``;
- 429: ``X-Rate-Limit-Problem`` ``day`` is ``DailyLimitReached`` (the work parks until the day's
  calls come back, ``Retry-After`` from now); ``minute``, ``appminute``, ``concurrent``:
  ``RateLimited`` with its ``Retry-After``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from booksync.errors import (
    ConnectionDown,
    DailyLimitReached,
    DuplicateName,
    ProviderError,
    RateLimited,
    Rejected,
    RemoteNotFound,
    TransientError,
)
from booksync.providers.http import parse_retry_after, redact, response_json
from booksync.providers.xero.oauth import LABEL, PROVIDER, RECONNECT_FIX

if TYPE_CHECKING:
    import httpx

RATE_LIMIT_PROBLEM = "X-Rate-Limit-Problem"
DAY_PROBLEM = "day"
MINUTE_WAIT = 60.0  # a 429 without Retry-After: the minute's window
GENERIC_FIX = "Correct the record using Xero's message, then sync again."
# An invoice number another invoice holds; Xero keeps the number of one voided or deleted there.
NUMBER_TAKEN = "Invoice # must be unique"
NUMBER_TAKEN_FIX = (
    f"Another invoice in {LABEL} holds this number, perhaps one voided or deleted there ({LABEL} "
    "keeps their numbers): give the invoice a new number in booksync, then sync again."
)
# Xero refuses any change to an invoice a payment (or credit note) is allocated to, and to one it
# reads PAID (the sandbox's wording of both; providers.md 7.1): a person acts, in Xero.
PAID_REFUSALS = ("has a payment or credit note allocated to it", "status of PAID", "it is PAID")
PAID_FIX = (
    f"{LABEL} keeps an invoice with a payment on it as it is: remove the payment in {LABEL}, or "
    "record the change there yourself. booksync keeps the change and sends it when the invoice is "
    "synced again after the payment is removed."
)
# What Xero says when a record's unique name or code is taken (contacts: among active contacts).
_TAKEN = ("is already assigned to another", "already exists")


def day_limit_reached(response: httpx.Response) -> bool:
    """A 429 for the tenant's daily calls: no wait within a job cures it."""
    return str(response.headers.get(RATE_LIMIT_PROBLEM, "")).strip().lower() == DAY_PROBLEM


def messages(payload: Any) -> list[str]:
    """Every validation message of a 400 (the elements' first), else its Message or Detail."""
    if not isinstance(payload, Mapping):
        return []
    found: list[str] = []
    for element in payload.get("Elements") or []:
        if isinstance(element, Mapping):
            found += [
                str(error.get("Message"))
                for error in element.get("ValidationErrors") or []
                if isinstance(error, Mapping) and error.get("Message")
            ]
    for key in ("Message", "Detail"):
        if not found and payload.get(key):
            found.append(str(payload[key]))
    return found


def to_error(
    response: httpx.Response,
    *,
    entity: str,
    write: bool,
    secrets: tuple[str, ...] = (),
    now: float | None = None,
) -> ProviderError:
    """The typed error for one answer that is not a success. ``entity`` names what was being
    sent or read ("Contacts")."""
    payload = response_json(response)
    status = response.status_code
    said = redact("; ".join(messages(payload)) or f"HTTP {status}", secrets)
    kind = str(payload.get("Type") or payload.get("Title") or "") if isinstance(payload, Mapping) else ""
    trace = response.headers.get("xero-correlation-id")
    tail = f" (HTTP {status}{', ' + kind if kind else ''}{', correlation ' + trace if trace else ''})"
    common: dict[str, Any] = {"provider_code": kind or None, "status": status}
    if status in (401, 403):
        return ConnectionDown(
            f"{LABEL} refused booksync's access: {said}{tail}", fix=RECONNECT_FIX, provider=PROVIDER, **common
        )
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if day_limit_reached(response):
            started = time.time() if now is None else now
            resume_at = started + (wait or MINUTE_WAIT)
            at = datetime.fromtimestamp(resume_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
            # Coded as booksync's own daily limit (its badge and history read the same).
            return DailyLimitReached(
                f"Daily limit reached: {LABEL} allows this organisation no more calls for now "
                f"({said}); the work waits and resumes by itself at {at}.",
                provider=PROVIDER,
                resume_at=resume_at,
                now=started,
                fix=f"Nothing to do: booksync resumes when {LABEL} allows calls again.",
                status=status,
            )
        return RateLimited(
            f"{LABEL} is limiting requests: {said}{tail}",
            retry_after=MINUTE_WAIT if wait is None else wait,
            fix="Nothing to do: booksync tries again automatically.",
            provider=PROVIDER,
            **common,
        )
    if status >= 500:
        return TransientError(
            f"{LABEL} failed on its side: {said}{tail}",
            uncertain=write,
            fix="Nothing to do: booksync checks and tries again automatically.",
            provider=PROVIDER,
            **common,
        )
    if status == 404:
        return RemoteNotFound(
            f"The {entity} record no longer exists in {LABEL}: {said}{tail}",
            fix=f"It was deleted in {LABEL}; booksync will create or relink it.",
            provider=PROVIDER,
            **common,
        )
    return refusal(said, entity, tail, common)


def refusal(said: str, entity: str, tail: str = "", common: Mapping[str, Any] | None = None) -> Rejected:
    """Xero's refusal of a record: ``DuplicateName`` when its name or code is another record's."""
    extra = dict(common or {})
    if any(taken in said for taken in _TAKEN):
        return DuplicateName(
            f"{LABEL} rejected the {entity}: {said}{tail}",
            fix=f"Another record in {LABEL} already uses this name or code: rename one of them, or make "
            "the names match exactly so booksync links them.",
            provider=PROVIDER,
            **extra,
        )
    fix = (
        NUMBER_TAKEN_FIX
        if NUMBER_TAKEN in said
        else PAID_FIX
        if any(paid in said for paid in PAID_REFUSALS)
        else GENERIC_FIX
    )
    return Rejected(f"{LABEL} rejected the {entity}: {said}{tail}", fix=fix, provider=PROVIDER, **extra)


def element_error(answer: Mapping[str, Any], entity: str) -> Rejected | None:
    """One element's own refusal in an array's answer (``summarizeErrors=false``: its
    ``StatusAttributeString`` ERROR and ``ValidationErrors``); None when it was saved."""
    said = messages({"Elements": [answer]})
    if answer.get("StatusAttributeString") != "ERROR" and not said:
        return None
    return refusal("; ".join(said) or "refused without a message", entity, common={"status": 200})
