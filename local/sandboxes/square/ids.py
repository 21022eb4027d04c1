"""Identifiers shaped like Square's (lengths and prefixes as seen in api.json examples)."""

from __future__ import annotations

import secrets
import string
import uuid

_ALNUM = string.ascii_letters + string.digits
_UPPER = string.ascii_uppercase + string.digits


def _pick(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def merchant_id() -> str:
    return "ML" + _pick(_UPPER, 11)


def location_id() -> str:
    return "L" + _pick(_UPPER, 12)


def payment_id() -> str:
    return _pick(_ALNUM, 29)


def refund_id(payment: str) -> str:
    # Square's refund ids are the payment id, an underscore and a suffix.
    return f"{payment}_{_pick(_ALNUM, 30)}"


def order_id() -> str:
    return _pick(_ALNUM, 29)


def payout_id() -> str:
    return f"po_{uuid.uuid4()}"


def payout_entry_id() -> str:
    return "poe_" + _pick(_ALNUM, 26)


def end_to_end_id() -> str:
    return "L2" + _pick(string.digits, 9)


def event_id() -> str:
    return str(uuid.uuid4())


def version_token() -> str:
    return _pick(_ALNUM, 45)


def access_token() -> str:
    return "EAAA" + secrets.token_urlsafe(48)


def refresh_token() -> str:
    return "EQAA" + secrets.token_urlsafe(48)


def auth_code() -> str:
    return "sq0cgb-" + secrets.token_urlsafe(16)


def signature_key() -> str:
    return secrets.token_urlsafe(16)


def subscription_id() -> str:
    return "wbhk_" + uuid.uuid4().hex
