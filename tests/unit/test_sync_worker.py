"""The sync worker hands a message back early when waiting is all it needs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from booksync.errors import RateLimited, TransientError, WriteInProgress
from booksync.sync.worker import SyncWorker

BODY = json.dumps({"company_id": "acme", "invoice_id": "inv-1"})


class Raising:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def run(self, job: Any) -> Any:
        raise self.exc


class Delays:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def delay(self, receipt_handle: str, seconds: float) -> None:
        self.calls.append((receipt_handle, seconds))


@pytest.mark.parametrize(
    ("exc", "seconds"),
    [
        (RateLimited("429", provider="quickbooks", retry_after=42), 42),
        (WriteInProgress("another worker holds it", provider="quickbooks"), 5),
    ],
)
def test_a_wait_comes_back_after_its_delay(exc: Exception, seconds: float) -> None:
    delays = Delays()
    with pytest.raises(type(exc)):
        SyncWorker(Raising(exc), delays).handle(BODY, "receipt-1")  # type: ignore[arg-type]
    assert delays.calls == [("receipt-1", seconds)]


def test_other_transient_faults_wait_out_the_visibility_timeout() -> None:
    delays = Delays()
    with pytest.raises(TransientError):
        SyncWorker(Raising(TransientError("503", provider="quickbooks")), delays).handle(BODY, "r")  # type: ignore[arg-type]
    assert delays.calls == []
