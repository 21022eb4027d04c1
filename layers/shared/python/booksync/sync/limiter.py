"""A client-side limiter for one provider company: requests in flight, per minute, batches per minute.

The provider's throttles, as its declaration gives them (``Limits``; QuickBooks: 10 concurrent,
500 requests/min, 40 batch requests/min per realm and app), are honoured before a request is
sent, so the provider never has to answer 429.

Each admitted request is entered in its sliding window at the moment its *answer* arrives, not
when it was sent: the provider admitted it somewhere in between, so the client's window always
ends after the provider's and the two can never disagree in the provider's disfavour.

The batch window survives the Lambda invocation (``recent_batches`` goes into the job's cursor),
so the next invocation of a resumable job does not start with a fresh minute it does not have.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from booksync.providers.declaration import Limits

__all__ = ["Limiter", "Limits"]  # Limits: the declared ones (providers/declaration.py)


class Limiter:
    def __init__(
        self,
        limits: Limits,
        *,
        recent_batches: Iterable[float] = (),
        recent_requests: Iterable[float] = (),
        clock: Callable[[], float] = time.time,
        margin_seconds: float = 0.05,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._margin = margin_seconds * limits.window_seconds / 60.0
        self._cond = threading.Condition()
        self._in_flight = 0
        self._batches_in_flight = 0
        self._requests: deque[float] = deque(sorted(recent_requests))
        self._batches: deque[float] = deque(sorted(recent_batches))

    def acquire(self, *, batch: bool, deadline: float | None = None) -> bool:
        """Wait for a slot; False (and no slot) when it would not come before ``deadline``."""
        with self._cond:
            while True:
                now = self._clock()
                wait = self._wait_needed(now, batch=batch)
                if wait <= 0:
                    self._in_flight += 1
                    self._batches_in_flight += int(batch)
                    return True
                if deadline is not None and now + wait > deadline:
                    return False
                # Woken early by a release; a window wait needs no wake-up, only time.
                self._cond.wait(timeout=min(wait, 1.0))

    def release(self, *, batch: bool) -> None:
        with self._cond:
            now = self._clock()
            self._in_flight -= 1
            self._batches_in_flight -= int(batch)
            self._requests.append(now)
            if batch:
                self._batches.append(now)
            self._cond.notify_all()

    def recent_batches(self) -> list[float]:
        """Batch answers still inside the window: what the next invocation must respect."""
        with self._cond:
            self._expire(self._clock())
            return list(self._batches)

    def recent_requests(self) -> list[float]:
        with self._cond:
            self._expire(self._clock())
            return list(self._requests)

    def _wait_needed(self, now: float, *, batch: bool) -> float:
        self._expire(now)
        if self._in_flight >= self.limits.max_concurrent:
            return 1.0  # until a release notifies
        # Requests in flight will enter the windows when they finish: count them already.
        waits = [0.0]
        if len(self._requests) + self._in_flight >= self.limits.requests_per_minute:
            waits.append(self._until_free(self._requests, now))
        per_minute = self.limits.batches_per_minute
        if batch and per_minute is not None and len(self._batches) + self._batches_in_flight >= per_minute:
            waits.append(self._until_free(self._batches, now))
        return max(waits)

    def _until_free(self, window: deque[float], now: float) -> float:
        if not window:
            return 1.0  # only in-flight requests fill it: wait for one to finish
        return window[0] + self.limits.window_seconds + self._margin - now

    def _expire(self, now: float) -> None:
        horizon = now - self.limits.window_seconds - self._margin
        for window in (self._requests, self._batches):
            while window and window[0] <= horizon:
                window.popleft()
