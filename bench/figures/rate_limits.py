"""The shared rate limiter's cost per provider request (sync/rate_limits.py over DynamoDB,
store/rate_limits.py) against moto server on loopback.

``rate_limiter.overhead_p50_ms`` / ``p99_ms``: one slot taken and given back (what every provider
request adds), one worker, as a company's minute fills with 400 answers (the row grows with them).
``rate_limiter.aws_calls_per_request``: DynamoDB requests per slot, uncontended (goal at most 4;
3 since a release is one conditional append: a read and a conditional write to take it, the
append to give it back); ``..._contended``: the same with 8 threads on one company, where an
admission that lost a race reads again.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from types import SimpleNamespace
from typing import Any

from bench.figure import BenchError, Figure, Goal

REQUESTS = 400
THREADS = 8


class _Calls:
    """DynamoDB requests pynamodb makes (it sends them through botocore clients of its own)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def install(self) -> None:
        from pynamodb.connection.base import Connection

        original = Connection._make_api_call

        def call(connection: Connection, operation: str, kwargs: dict[str, Any]) -> Any:
            with self._lock:
                self.count += 1
            return original(connection, operation, kwargs)

        Connection._make_api_call = call  # type: ignore[method-assign, assignment]

    def reset(self) -> int:
        with self._lock:
            seen, self.count = self.count, 0
        return seen


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def measure() -> list[Figure]:
    from booksync.store.models import IntentModel, bind_tables
    from booksync.store.rate_limits import DynamoRateLimiter
    from booksync.sync.rate_limits import ConnectionGate, declared_limits

    limits = declared_limits("quickbooks")
    if limits is None:
        raise BenchError("QuickBooks declares no limits")

    from bench.figures.catalog_sync import _aws

    aws = _Calls()
    aws.install()
    with _aws():
        bind_tables(SimpleNamespace(intents_table=f"intents-{uuid.uuid4().hex[:8]}"))
        IntentModel.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        limiter = DynamoRateLimiter()

        def gate(account: str) -> ConnectionGate:
            return ConnectionGate(limiter, provider="quickbooks", account_id=account, limits=limits)

        alone = gate("bench-alone")
        aws.reset()
        times: list[float] = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            with alone.slot(batch=False):
                pass
            times.append((time.perf_counter() - started) * 1000)
        alone_calls = aws.reset() / REQUESTS

        shared = gate("bench-shared")

        def worker() -> None:
            for _ in range(REQUESTS // THREADS):
                with shared.slot(batch=False):
                    pass

        threads = [threading.Thread(target=worker) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        contended_calls = aws.reset() / (REQUESTS // THREADS * THREADS)
    note = f"{REQUESTS} slots, one worker, moto server on loopback; mean {statistics.fmean(times):.2f} ms"
    return [
        Figure("rate_limiter.overhead_p50_ms", round(_percentile(times, 0.50), 2), "ms", note=note),
        Figure("rate_limiter.overhead_p99_ms", round(_percentile(times, 0.99), 2), "ms"),
        Figure("rate_limiter.aws_calls_per_request", round(alone_calls, 2), "requests", goal=Goal("<=", 4)),
        Figure(
            "rate_limiter.aws_calls_per_request_contended",
            round(contended_calls, 2),
            "requests",
            note=f"{THREADS} threads on one company",
        ),
    ]
