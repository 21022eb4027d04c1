"""Webhook signatures: HMAC-SHA256 over the exact raw body, compared in constant time."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac


def sign(body: bytes, key: str) -> str:
    """base64(HMAC-SHA256(key, body)): Intuit's ``intuit-signature`` (providers.md 1.7)."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def signature_matches(body: bytes, signature: str | None, key: str) -> bool:
    """True only for the signature of these exact bytes under ``key``.

    The digests are compared as bytes with ``hmac.compare_digest``: comparing the base64 text
    would also accept padding variants, and ``==`` would leak how many leading bytes matched.
    """
    if not signature:
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(given, expected)
