"""Xero's limits (providers.md 7.1) and its Idempotency-Key store, on the sandbox's scaled clock.

Per tenant: 5 calls in flight, 60 a minute, a daily cap (the app's tier); per app 10,000 a minute
across tenants. Every Accounting answer carries ``X-DayLimit-Remaining``, ``X-MinLimit-Remaining``
and ``X-AppMinLimit-Remaining``; a call over a limit is 429 with ``Retry-After`` and
``X-Rate-Limit-Problem`` (``minute``, ``day``, ``appminute``, ``concurrent``) and is not counted.
Windows are rolling: the minute is the last 60 seconds, the day the last 24 hours.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.wire import Response
from local.sandboxes.xero import errors
from local.sandboxes.xero.config import DAY_S, XeroConfig

MINUTE_S = 60


@dataclass
class _Window:
    calls: deque[float] = field(default_factory=deque)

    def used(self, now: float, span: float) -> int:
        while self.calls and self.calls[0] <= now - span:
            self.calls.popleft()
        return len(self.calls)

    def retry_after(self, now: float, span: float) -> int:
        return max(1, math.ceil(self.calls[0] + span - now)) if self.calls else 1


class Limits:
    def __init__(self, config: XeroConfig, clock: SandboxClock) -> None:
        self.config = config
        self.clock = clock
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.minute: dict[str, _Window] = {}
        self.day: dict[str, _Window] = {}
        self.app_minute: dict[str, _Window] = {}

    def reset(self) -> None:
        with self.lock:
            self.in_flight.clear()
            self.minute.clear()
            self.day.clear()
            self.app_minute.clear()

    def headers(self, tenant: str, client_id: str) -> dict[str, str]:
        with self.lock:
            return self._headers(tenant, client_id, self.clock.now())

    def _headers(self, tenant: str, client_id: str, now: float) -> dict[str, str]:
        config = self.config
        minute = self.minute.setdefault(tenant, _Window()).used(now, MINUTE_S)
        day = self.day.setdefault(tenant, _Window()).used(now, DAY_S)
        app = self.app_minute.setdefault(client_id, _Window()).used(now, MINUTE_S)
        return {
            "X-DayLimit-Remaining": str(max(0, config.day_limit - day)),
            "X-MinLimit-Remaining": str(max(0, config.minute_limit - minute)),
            "X-AppMinLimit-Remaining": str(max(0, config.app_minute_limit - app)),
        }

    @contextmanager
    def admit(self, tenant: str, client_id: str) -> Iterator[None]:
        """Hold one of the tenant's slots while the call is served; XeroError 429 when over a limit."""
        with self.lock:
            now = self.clock.now()
            headers = self._headers(tenant, client_id, now)
            config = self.config
            checks = (
                ("day", self.day[tenant], DAY_S, config.day_limit),
                ("appminute", self.app_minute[client_id], MINUTE_S, config.app_minute_limit),
                ("minute", self.minute[tenant], MINUTE_S, config.minute_limit),
            )
            for kind, window, span, limit in checks:
                if window.used(now, span) >= limit:
                    seconds = window.retry_after(now, span) / self.clock.scale
                    raise errors.rate_limited(kind, max(1, math.ceil(seconds)), headers)
            if self.in_flight.get(tenant, 0) >= config.concurrent_limit:
                raise errors.rate_limited("concurrent", 1, headers)
            self.in_flight[tenant] = self.in_flight.get(tenant, 0) + 1
            for _, window, _, _ in checks:
                window.calls.append(now)
        try:
            yield
        finally:
            with self.lock:
                self.in_flight[tenant] -= 1


@dataclass
class _Kept:
    fingerprint: str
    expires_at: float
    response: Response | None = None  # None while the first call is being served
    done: threading.Event = field(default_factory=threading.Event)


class Idempotency:
    """Answers by (app, key) for ``idempotency_ttl_s``: the same request again gets the same answer
    (errors included), another request with the key is a 400."""

    def __init__(self, config: XeroConfig, clock: SandboxClock) -> None:
        self.config = config
        self.clock = clock
        self.lock = threading.Lock()
        self.kept: dict[tuple[str, str], _Kept] = {}

    def reset(self) -> None:
        with self.lock:
            self.kept.clear()

    @staticmethod
    def fingerprint(method: str, target: str, tenant: str, body: bytes) -> str:
        return hashlib.sha256(
            b"\0".join([method.encode(), target.encode(), tenant.encode(), body])
        ).hexdigest()

    def claim(self, client_id: str, key: str, fingerprint: str) -> tuple[_Kept, bool]:
        """(entry, first): ``first`` means this call serves it and must ``keep`` its answer."""
        if len(key) > 128:
            raise errors.bad_request("The Idempotency-Key header must be at most 128 characters.")
        with self.lock:
            now = self.clock.now()
            for stale in [k for k, kept in self.kept.items() if kept.expires_at <= now]:
                del self.kept[stale]
            kept = self.kept.get((client_id, key))
            if kept is None:
                kept = _Kept(fingerprint, now + self.config.idempotency_ttl_s)
                self.kept[(client_id, key)] = kept
                return kept, True
        if kept.fingerprint != fingerprint:
            raise errors.bad_request(
                f"The Idempotency-Key {key} was already used with a different request. "
                "Use a new key for a new request."
            )
        return kept, False

    def keep(self, kept: _Kept, response: Response) -> None:
        kept.response = response
        kept.done.set()

    def forget(self, client_id: str, key: str, kept: _Kept) -> None:
        """The first call did not get an answer to keep (429 before it was served): the key is free."""
        with self.lock:
            if self.kept.get((client_id, key)) is kept:
                del self.kept[(client_id, key)]
        kept.done.set()
