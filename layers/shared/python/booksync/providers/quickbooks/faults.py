"""QuickBooks faults -> booksync's typed errors (design.md rule 5).

Intuit answers errors as ``{"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type"}}``,
sometimes inside an HTTP 200, and its gateway answers authentication failures with the same
shape in lower case (``fault``/``error``/``message``). Each error keeps the provider's words
(message and detail, with anything credential-like masked) and says what a person should do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from booksync.errors import (
    Conflict,
    ConnectionDown,
    DuplicateName,
    ProviderError,
    RateLimited,
    Rejected,
    RemoteNotFound,
    TransientError,
)

PROVIDER = "quickbooks"
LABEL = "QuickBooks"

AUTH_CODES = frozenset({100, 3200})  # General Authentication Error, AuthenticationFailed
AUTHORIZATION_CODES = frozenset({120, 3100})  # Authorization Failure, ApplicationAuthorizationFailed
THROTTLE_CODE = 3001  # ThrottleExceeded (errorCode=003001)
THROTTLE_WAIT = 60.0  # limits-and-throttles: "wait 60 seconds before retrying"
_ERROR_CODE_IN_MESSAGE = re.compile(r"errorCode=0*(\d+)")

# What a person does about the common validation faults.
FIXES: Mapping[int, str] = {
    2020: "QuickBooks needs a value for {element}: fill it in and sync again.",
    2040: (
        "QuickBooks does not accept some characters in {element} (such as a colon, tab or emoji): "
        "remove them and sync again."
    ),
    2050: "QuickBooks allows fewer characters in {element}: shorten it and sync again.",
    2500: (
        "A linked record was deleted or made inactive in QuickBooks: restore or reactivate it there "
        "(or pick another one), then sync again."
    ),
    6000: "QuickBooks refused this for a business rule (its message says which): correct it and sync again.",
    6070: "A line amount does not equal quantity x price: check the lines' quantities and prices.",
    6140: (
        "Another transaction in QuickBooks already uses this number: change the invoice number, "
        "or the other transaction's, and sync again."
    ),
    6190: (
        "The QuickBooks company is not active (trial ended, subscription lapsed or cancelled): "
        "reactivate it in QuickBooks, then sync again."
    ),
    6210: (
        "The date is in a period that is closed in QuickBooks: change the date, or ask the "
        "bookkeeper to reopen the period (or enter the closing-date password)."
    ),
    6240: (
        "Another customer, vendor, employee or item in QuickBooks already uses this name: rename "
        "one of them, or make the names match exactly so booksync links them."
    ),
    6540: (
        "This transaction is already in a bank deposit in QuickBooks and can't be changed: remove it "
        "from the deposit in QuickBooks first."
    ),
}
GENERIC_FIX = "Correct the record using QuickBooks' message, then sync again."
RECONNECT_FIX = (
    "Reconnect QuickBooks in booksync's settings, signed in as a QuickBooks admin of this company."
)


@dataclass(frozen=True)
class FaultInfo:
    code: int | None
    message: str
    detail: str
    element: str
    type: str

    @property
    def is_auth(self) -> bool:
        return self.code in AUTH_CODES or self.type.upper() in ("AUTHENTICATION", "AUTHENTICATIONFAULT")


def _get(mapping: Mapping[str, Any], name: str) -> Any:
    """Intuit spells keys ``Fault``/``fault`` depending on which of its tiers answers."""
    if name in mapping:
        return mapping[name]
    return mapping.get(name[0].lower() + name[1:])


def _code(error: Mapping[str, Any], message: str) -> int | None:
    raw = _get(error, "code")
    digits = str(raw).strip() if raw is not None else ""
    if digits.isdigit():
        return int(digits)
    found = _ERROR_CODE_IN_MESSAGE.search(message)
    return int(found.group(1)) if found else None


def parse_faults(payload: Any) -> list[FaultInfo]:
    """Every error of the Fault in ``payload`` (empty when there is none)."""
    if not isinstance(payload, Mapping):
        return []
    fault = _get(payload, "Fault")
    if not isinstance(fault, Mapping):
        return []
    errors = _get(fault, "Error") or []
    kind = str(_get(fault, "type") or "")
    parsed = []
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, Mapping):
            continue
        message = str(_get(error, "Message") or "")
        parsed.append(
            FaultInfo(
                code=_code(error, message),
                message=message,
                detail=str(_get(error, "Detail") or ""),
                element=str(_get(error, "element") or ""),
                type=kind,
            )
        )
    return parsed or [FaultInfo(code=None, message="", detail="", element="", type=kind)]


def to_error(
    fault: FaultInfo,
    *,
    entity: str,
    status: int | None,
    write: bool,
    secrets: tuple[str, ...] = (),
    retry_after: float | None = None,
    trace: str = "",
) -> ProviderError:
    """The typed error for one fault. ``entity`` names what was being sent (e.g. "Customer")."""
    from booksync.providers.http import redact  # the HTTP stack only where a fault is read

    message = redact(fault.message, secrets)
    detail = redact(fault.detail, secrets)
    code = fault.code
    where = f", field {fault.element}" if fault.element else ""
    said = "; ".join(part for part in (message, detail) if part) or "no message"
    common: dict[str, Any] = {
        "provider": PROVIDER,
        "provider_code": None if code is None else str(code),
        "detail": detail or None,
        "status": status,
    }
    tail = f" (code {code}{where}){trace}"

    if fault.is_auth or code in AUTHORIZATION_CODES or status in (401, 403):
        return ConnectionDown(f"{LABEL} refused booksync's access: {said}{tail}", fix=RECONNECT_FIX, **common)
    if code == THROTTLE_CODE or "throttle" in fault.message.lower() or status == 429:
        wait = THROTTLE_WAIT if retry_after is None else retry_after
        return RateLimited(
            f"{LABEL} is limiting requests: {said}{tail}",
            retry_after=wait,
            fix="Nothing to do: booksync tries again automatically.",
            **common,
        )
    if (status is not None and status >= 500) or (code is not None and code >= 10000):
        return TransientError(
            f"{LABEL} failed on its side: {said}{tail}",
            uncertain=write,
            fix="Nothing to do: booksync checks and tries again automatically.",
            **common,
        )
    if code == 5010:
        return Conflict(f"The {entity} changed in {LABEL} meanwhile: {said}{tail}", **common)
    if code == 610:
        return RemoteNotFound(
            f"The {entity} no longer exists in {LABEL}: {said}{tail}",
            fix=f"It was deleted or merged in {LABEL}; booksync will create or relink it.",
            **common,
        )
    fix = FIXES.get(code, GENERIC_FIX) if code is not None else GENERIC_FIX
    fix = fix.format(element=fault.element or "a field")
    error_class = DuplicateName if code == 6240 else Rejected
    return error_class(f"{LABEL} rejected the {entity}: {said}{tail}", fix=fix, **common)
