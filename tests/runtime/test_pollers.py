"""The SQS poller's batching (BatchSize, MaximumBatchingWindowInSeconds) and concurrency, against a
fake SQS client so that timing is under the test's control."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from local.runtime.model import FunctionSpec, QueueSourceSpec
from local.runtime.pollers import QueuePoller
from tests.runtime.conftest import FIXTURES

SOURCE = QueueSourceSpec(
    function="Fn",
    event="Jobs",
    queue="Jobs",
    queue_arn="arn:aws:sqs:us-east-1:123456789012:jobs",
    queue_url="http://127.0.0.1:1/123456789012/jobs",
    batch_size=6,
    batching_window=0.0,
    max_concurrency=None,
    report_batch_item_failures=True,
    enabled=True,
)


class FakeSqs:
    """Hands out scripted receive results (at most MaxNumberOfMessages each call), then nothing."""

    def __init__(self, script: list[int]) -> None:
        self._script = list(script)
        self._counter = 0
        self.calls: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self._lock = threading.Lock()

    def receive_message(self, **params: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append(params)
            count = min(self._script.pop(0) if self._script else 0, params["MaxNumberOfMessages"])
            messages = []
            for _ in range(count):
                self._counter += 1
                messages.append(
                    {
                        "MessageId": f"m{self._counter}",
                        "ReceiptHandle": f"h{self._counter}",
                        "Body": "{}",
                        "MD5OfBody": "0" * 32,
                        "Attributes": {"ApproximateReceiveCount": "1"},
                    }
                )
        return {"Messages": messages}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.deleted.extend(entry["ReceiptHandle"] for entry in Entries)
        return {}


class FakeRunner:
    def __init__(self, concurrency: int = 4) -> None:
        self.spec = FunctionSpec(
            "Fn", "fn", "arn", FIXTURES, "app.handler", "python3.12", 3, 128, concurrency, {}, ()
        )


def _poller(
    source: QueueSourceSpec, sqs: FakeSqs, concurrency: int = 4, clock: Callable[[], float] = time.monotonic
) -> QueuePoller:
    return QueuePoller(source, FakeRunner(concurrency), lambda: sqs, "us-east-1", clock=clock)  # type: ignore[arg-type]


class SteppingClock:
    """A clock that moves ``step`` seconds each time it is read: the window's time, not the wall's."""

    def __init__(self, step: float) -> None:
        self.now, self._step = 0.0, step

    def __call__(self) -> float:
        self.now += self._step
        return self.now


def test_without_a_window_one_receive_makes_the_batch() -> None:
    sqs = FakeSqs([2, 3])
    batch = _poller(SOURCE, sqs)._collect(sqs)
    assert [m["MessageId"] for m in batch] == ["m1", "m2"]
    assert sqs.calls[0]["MaxNumberOfMessages"] == 6
    assert sqs.calls[0]["WaitTimeSeconds"] == 1
    assert sqs.calls[0]["MessageSystemAttributeNames"] == ["All"]
    assert sqs.calls[0]["MessageAttributeNames"] == ["All"]


def test_the_window_fills_the_batch_up_to_batch_size() -> None:
    sqs, clock = FakeSqs([2, 0, 3, 5]), SteppingClock(0.01)
    poller = _poller(replace(SOURCE, batching_window=5.0), sqs, clock=clock)
    batch = poller._collect(sqs)
    assert len(batch) == 6  # 2 + 3, then only 1 more was asked for
    assert sqs.calls[-1]["MaxNumberOfMessages"] == 1
    assert len(sqs.calls) == 4 and clock.now < 5.0  # a full batch does not wait out the window
    assert poller.in_flight == 6  # received and not yet settled


def test_the_window_closes_a_partial_batch() -> None:
    sqs, clock = FakeSqs([1]), SteppingClock(0.05)
    poller = _poller(replace(SOURCE, batching_window=0.3), sqs, clock=clock)
    batch = poller._collect(sqs)
    assert len(batch) == 1
    # The first long poll, then one receive per reading inside the window (0.10 ... 0.30 after it
    # opened at 0.05); the reading past its end (0.35) closed the partial batch.
    assert len(sqs.calls) == 6 and clock.now == pytest.approx(0.35)


def test_batches_over_ten_are_received_ten_at_a_time() -> None:
    sqs = FakeSqs([10, 10, 5])
    batch = _poller(replace(SOURCE, batch_size=25, batching_window=2.0), sqs)._collect(sqs)
    assert len(batch) == 25
    assert [call["MaxNumberOfMessages"] for call in sqs.calls] == [10, 10, 5]


def test_concurrency_is_the_scaling_limit_within_the_functions() -> None:
    sqs = FakeSqs([])
    assert _poller(SOURCE, sqs, concurrency=4).concurrency == 4
    assert _poller(replace(SOURCE, max_concurrency=2), sqs, concurrency=4).concurrency == 2
    assert _poller(replace(SOURCE, max_concurrency=10), sqs, concurrency=3).concurrency == 3


def test_disabled_source_does_not_poll() -> None:
    sqs = FakeSqs([1])
    poller = _poller(replace(SOURCE, enabled=False), sqs)
    poller.start()
    time.sleep(0.1)
    poller.signal_stop()
    poller.join()
    assert sqs.calls == []
