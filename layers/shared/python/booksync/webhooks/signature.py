"""Webhook signatures: HMAC-SHA256 over the exact signed bytes, compared in constant time.

- Intuit (providers.md 1.7): ``intuit-signature`` = base64(HMAC-SHA256(verifier token, raw body)).
- Square (providers.md 5.1): ``x-square-hmacsha256-signature`` = base64(HMAC-SHA256(signature
  key, notification URL + raw body)); the URL must be the subscription's, byte for byte.
Both share ``sign`` and ``signature_matches``; Square's only difference is the signed message.
"""

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


def square_message(body: bytes, notification_url: str) -> bytes:
    """What Square signs: the notification URL (UTF-8) followed by the raw body."""
    return notification_url.encode() + body


def sign_square(body: bytes, key: str, notification_url: str) -> str:
    """Square's ``x-square-hmacsha256-signature`` for ``body`` delivered to ``notification_url``."""
    return sign(square_message(body, notification_url), key)


def square_signature_matches(body: bytes, signature: str | None, key: str, notification_url: str) -> bool:
    """True only for Square's signature of this body at exactly this notification URL.

    As Square's SDK verifier (``square.utils.webhooks_helper.verify_signature``): an empty body
    is never valid, and the header must be exactly the base64 text of the digest (compared in
    constant time), so the SDK and booksync accept the same deliveries.
    """
    if not body or not notification_url or not signature:
        return False
    expected = sign_square(body, key, notification_url).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", errors="replace"))
