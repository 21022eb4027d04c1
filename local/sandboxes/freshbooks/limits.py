"""FreshBooks publishes no rate limit (providers.md 3.5, 7.2: the SDKs retry 429). The sandbox
counts each business's calls over a rolling minute on its scaled clock; one over
``business_minute_limit`` is a 429 with ``Retry-After`` (seconds) and is not counted; with
``business_concurrent_limit``, a call while that many of the business's are in flight is a 429
(Retry-After 1) too."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from local.sandboxes.freshbooks import errors
from local.sandboxes.freshbooks.config import FreshBooksConfig
from local.sandboxes.kit.clock import SandboxClock

MINUTE_S = 60


class Limits:
    def __init__(self, config: FreshBooksConfig, clock: SandboxClock) -> None:
        self.config = config
        self.clock = clock
        self.lock = threading.Lock()
        self.calls: dict[str, deque[float]] = {}
        self.in_flight: dict[str, int] = {}
        self.refused = 0

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.in_flight.clear()
            self.refused = 0

    @contextmanager
    def admit(self, account_id: str) -> Iterator[None]:
        """Hold one of the business's places while the call is served; FreshBooksError 429 when
        over a limit."""
        limit = self.config.business_concurrent_limit
        with self.lock:
            if limit and self.in_flight.get(account_id, 0) >= limit:
                self.refused += 1
                raise errors.rate_limited(1)
            self._count(account_id)
            self.in_flight[account_id] = self.in_flight.get(account_id, 0) + 1
        try:
            yield
        finally:
            with self.lock:
                self.in_flight[account_id] -= 1

    def _count(self, account_id: str) -> None:
        """(Under the lock.) Count a call of the business; 429 over the minute's limit."""
        limit = self.config.business_minute_limit
        now = self.clock.now()
        window = self.calls.setdefault(account_id, deque())
        while window and window[0] <= now - MINUTE_S:
            window.popleft()
        if limit and len(window) >= limit:
            self.refused += 1
            wait = (window[0] + MINUTE_S - now) / self.clock.scale
            raise errors.rate_limited(max(1, math.ceil(wait)))
        window.append(now)
