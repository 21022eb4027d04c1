"""An in-memory webhook inbox (the receivers' queue): keeps what is sent, or fails like SQS down."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

import pytest


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
