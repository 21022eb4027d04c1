"""FreshBooks publishes no rate limit (providers.md 3.5, 7.2: the SDKs retry 429). The sandbox
counts each business's calls over a rolling minute on its scaled clock; one over
``business_minute_limit`` is a 429 with ``Retry-After`` (seconds) and is not counted."""

from __future__ import annotations

import math
import threading
from collections import deque

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
        self.refused = 0

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.refused = 0

    def admit(self, account_id: str) -> None:
        """Count a call of the business; FreshBooksError 429 when over the limit."""
        limit = self.config.business_minute_limit
        with self.lock:
            now = self.clock.now()
            window = self.calls.setdefault(account_id, deque())
            while window and window[0] <= now - MINUTE_S:
                window.popleft()
            if limit and len(window) >= limit:
                self.refused += 1
                wait = (window[0] + MINUTE_S - now) / self.clock.scale
                raise errors.rate_limited(max(1, math.ceil(wait)))
            window.append(now)
