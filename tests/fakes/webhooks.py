"""An in-memory webhook inbox (the receivers' queue): keeps what is sent, or fails like SQS down; a
spy on the signature check's constant-time comparison; and the receiver of a provider of the
tests' own, whose form-encoded callbacks name their account."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest
from booksync.webhooks.receiver import SignedWebhookReceiver
from booksync.webhooks.signature import signature_matches


class FakeInbox:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[str] = []
        self.fail = fail

    def send(self, messages: Sequence[str]) -> None:
        if self.fail:
            raise ConnectionError("queue down")
        self.sent.extend(messages)


def compared_digests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    """Every pair the signature check compares with ``hmac.compare_digest`` (constant time)."""
    from booksync.webhooks import signature

    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signature.hmac, "compare_digest", spy)
    return compared


class NotACallback(ValueError):
    pass


def form_fields(body: bytes | str) -> dict[str, str]:
    """A form-encoded body's fields (the first value of each)."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    return {key: values[0] for key, values in parse_qs(text).items()}


class FormCallbackReceiver(SignedWebhookReceiver[dict[str, str]]):
    """A provider shaped like FreshBooks: form-encoded callbacks naming their ``account_id``, each
    signed base64(HMAC-SHA256) with that account's own secret. A subclass names its texts, its log
    and the fields a callback must have (``required``)."""

    malformed = NotACallback
    signed_per_account = True
    required: ClassVar[tuple[str, ...]] = ("name", "object_id")

    def _signer(self, body: bytes) -> str | None:
        return form_fields(body).get("account_id")

    def _matches(self, body: bytes, signature: str | None, secret: str) -> bool:
        return signature_matches(body, signature, secret)

    def _parse(self, body: bytes) -> dict[str, str]:
        fields = form_fields(body)
        missing = [name for name in self.required if name not in fields]
        if missing:
            raise NotACallback(f"it has no {', '.join(missing)}")
        return fields

    def _queued_extra(self, parsed: dict[str, str]) -> dict[str, Any]:
        return {"name": parsed["name"]}

    def _too_big(
        self, envelope: dict[str, Any], text: str, parsed: dict[str, str] | None, malformed: str | None
    ) -> list[str]:
        raise AssertionError("a callback is small")
