"""Intuit's throttles per realm: a sliding 60-second window of requests and of batch requests,
and a cap on requests in flight. Windows run on the scaled sandbox clock."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.quickbooks.config import Limits

WINDOW_SECONDS = 60.0


@dataclass
class _RealmUsage:
    requests: deque[float] = field(default_factory=deque)
    batches: deque[float] = field(default_factory=deque)
    in_flight: int = 0


class Throttled(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"throttled, retry after {retry_after_s}s")
        self.retry_after_s = retry_after_s


class RateLimiter:
    def __init__(self, clock: SandboxClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._usage: dict[str, _RealmUsage] = {}

    def acquire(self, realm: str, limits: Limits, *, batch: bool) -> None:
        """Admit one request or raise Throttled; an admitted request must be released."""
        now = self._clock.now()
        with self._lock:
            usage = self._usage.setdefault(realm, _RealmUsage())
            if usage.in_flight >= limits.max_concurrent:
                raise Throttled(1)
            _expire(usage.requests, now)
            _expire(usage.batches, now)
            if len(usage.requests) >= limits.requests_per_minute:
                raise Throttled(self._wait(usage.requests, now))
            if batch and len(usage.batches) >= limits.batch_per_minute:
                raise Throttled(self._wait(usage.batches, now))
            usage.requests.append(now)
            if batch:
                usage.batches.append(now)
            usage.in_flight += 1

    def release(self, realm: str) -> None:
        with self._lock:
            self._usage[realm].in_flight -= 1

    def reset(self) -> None:
        with self._lock:
            for usage in self._usage.values():
                usage.requests.clear()
                usage.batches.clear()

    def _wait(self, window: deque[float], now: float) -> int:
        """Real seconds until the oldest admitted request leaves the window (at least 1)."""
        remaining = window[0] + WINDOW_SECONDS - now
        return max(1, math.ceil(self._clock.to_real_seconds(remaining)))


def _expire(window: deque[float], now: float) -> None:
    while window and window[0] <= now - WINDOW_SECONDS:
        window.popleft()
