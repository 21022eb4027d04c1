"""An in-memory webhook inbox (the receivers' queue): keeps what is sent, or fails like SQS down."""

from __future__ import annotations

from collections.abc import Sequence


class FakeInbox:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[str] = []
        self.fail = fail

    def send(self, messages: Sequence[str]) -> None:
        if self.fail:
            raise ConnectionError("queue down")
        self.sent.extend(messages)
