"""The rate limiter shared by every process that calls one provider company (issue 14).

``sync/limiter.py`` paces one process; a provider's throttles are per company (QuickBooks: per
realm and app), and ten sync workers, a catalog step and the wizard may call one company at
once from as many Lambdas. This module is the port every one of them passes before a request:

- ``RateLimiter``: the store of each connection's state (``store/rate_limits.py`` keeps it in
  DynamoDB with conditional writes; ``InMemoryRateLimiter`` is the fake for fast tests). Both
  apply the same rules, ``LimitState.admit`` and ``LimitState.release``.
- The rules, as the in-process limiter's: a request holds an in-flight slot while it is out
  (a lease, so a killed worker's slot comes back when it ends); it enters the per-minute windows
  when its answer arrives (the provider admitted it somewhere between, so our window ends after
  the provider's); requests in flight count in the windows already. The day's count grows when
  a request is admitted; once it reaches the provider's ``requests_per_day`` nothing more is
  admitted until the provider's next day begins (UTC unless the provider declares its zone).
- ``ConnectionGate``: one connection's gate for a provider client. It waits for a slot while the
  wait is short and fits the invocation's time; otherwise it raises ``RateLimited`` (the queue
  delays the message; the API answers 429), and ``DailyLimitReached`` when the day is spent (the
  caller parks the work until ``resume_at``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from booksync.errors import DailyLimitReached, RateLimited
from booksync.providers.profile import provider_label
from booksync.sync.limiter import Limits

# A slot outlives one provider call at the HTTP client's worst (3 attempts of connect 5 s, write
# and read 30 s each, and two waits of at most 10 s), and no longer than the invocation holding
# it can run (the client never calls past its deadline): a killed worker's slot comes back then.
SLOT_LEASE_SECONDS = 240.0
# While every slot is out, how often the gate asks again (a slot frees when a call answers).
POLL_SECONDS = 0.25
# Longest wait for a slot inline; a longer one goes back to the queue as RateLimited.
MAX_WAIT_SECONDS = 10.0
# Seconds that must remain in the invocation after the wait, for the call itself.
TIME_RESERVE_SECONDS = 5.0
# Clocks of two Lambdas differ a little: a window's entries are kept this much longer.
CLOCK_MARGIN_SECONDS = 0.05


def limit_key(provider: str, account_id: str) -> str:
    """The state's key: the provider company (QuickBooks realm), whose throttles these are."""
    return f"limit#{provider}#{account_id}"


def declared_limits(provider: str) -> Limits | None:
    """The provider's limits, as its settings set them now (None: it declares none, nothing is
    limited)."""
    from booksync.providers.registry import declaration

    return declaration(provider).current_limits()


def day_zone(limits: Limits) -> tzinfo:
    if limits.day_zone in ("UTC", "Etc/UTC"):
        return UTC
    from zoneinfo import ZoneInfo

    return ZoneInfo(limits.day_zone)


def provider_day(limits: Limits, now: float) -> tuple[str, float]:
    """The provider's day at ``now`` (ISO date) and when the next one begins (epoch seconds)."""
    zone = day_zone(limits)
    local = datetime.fromtimestamp(now, zone)
    start_next = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
    return local.date().isoformat(), start_next.timestamp()


@dataclass(frozen=True)
class Admission:
    """What ``admit`` decided: a slot (None: not now), else how long to wait, or the day is spent."""

    slot: str | None
    wait: float = 0.0
    day_resumes_at: float | None = None


@dataclass
class LimitState:
    """One connection's state: leases of the slots out, answers in the window, the day's count."""

    leases: dict[str, list[float | bool]] = field(default_factory=dict)  # slot: [until, batch]
    requests: list[float] = field(default_factory=list)
    batches: list[float] = field(default_factory=list)
    day: str = ""
    day_count: int = 0

    @classmethod
    def loads(cls, text: str | None) -> LimitState:
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(
            leases={str(k): list(v) for k, v in raw.get("leases", {}).items()},
            requests=[float(t) for t in raw.get("requests", [])],
            batches=[float(t) for t in raw.get("batches", [])],
            day=str(raw.get("day", "")),
            day_count=int(raw.get("day_count", 0)),
        )

    def dumps(self) -> str:
        return json.dumps(
            {
                "leases": self.leases,
                "requests": [round(t, 3) for t in self.requests],
                "batches": [round(t, 3) for t in self.batches],
                "day": self.day,
                "day_count": self.day_count,
            },
            separators=(",", ":"),
        )

    def admit(self, limits: Limits, *, now: float, batch: bool, slot: str, lease_until: float) -> Admission:
        """Take ``slot`` when every limit allows it now; otherwise say how long to wait."""
        self._expire(limits, now)
        day, next_day = provider_day(limits, now)
        if day != self.day:
            self.day, self.day_count = day, 0
        if limits.requests_per_day is not None and self.day_count >= limits.requests_per_day:
            return Admission(slot=None, wait=next_day - now, day_resumes_at=next_day)
        out = len(self.leases)
        batches_out = sum(1 for _, is_batch in self.leases.values() if is_batch)
        waits = [0.0]
        if out >= limits.max_concurrent:
            earliest = min(float(until) for until, _ in self.leases.values())
            waits.append(max(0.01, min(POLL_SECONDS, earliest - now)))
        if len(self.requests) + out >= limits.requests_per_minute:
            waits.append(self._until_free(limits, self.requests, now))
        per_minute = limits.batches_per_minute
        if batch and per_minute is not None and len(self.batches) + batches_out >= per_minute:
            waits.append(self._until_free(limits, self.batches, now))
        if max(waits) > 0:
            return Admission(slot=None, wait=max(waits))
        self.leases[slot] = [lease_until, batch]
        self.day_count += 1
        return Admission(slot=slot)

    def release(self, slot: str, *, now: float) -> None:
        """The answer arrived: the slot is free and the request enters the windows. A slot whose
        lease ran out (and was taken back) still counts its request: it was made."""
        lease = self.leases.pop(slot, None)
        self.requests.append(now)
        if lease is not None and lease[1]:
            self.batches.append(now)

    def expires_at(self, limits: Limits, now: float) -> float:
        """When nothing in it matters any more: the end of the provider's day, or of the leases."""
        leases = [float(until) for until, _ in self.leases.values()]
        return max([provider_day(limits, now)[1], now + limits.window_seconds, *leases]) + 3600

    def _expire(self, limits: Limits, now: float) -> None:
        horizon = now - limits.window_seconds - CLOCK_MARGIN_SECONDS
        self.requests = [t for t in self.requests if t > horizon]
        self.batches = [t for t in self.batches if t > horizon]
        # A lease that ran out: its holder died (or overran); the slot comes back.
        self.leases = {s: lease for s, lease in self.leases.items() if float(lease[0]) > now}

    def _until_free(self, limits: Limits, window: list[float], now: float) -> float:
        if not window:
            return POLL_SECONDS  # only requests in flight fill it: one answer frees room
        return max(POLL_SECONDS / 10, min(window) + limits.window_seconds + CLOCK_MARGIN_SECONDS - now)


class RateLimiter(Protocol):
    """Where every connection's ``LimitState`` lives; each change is atomic across processes."""

    def admit(
        self, key: str, limits: Limits, *, now: float, batch: bool, slot: str, lease_until: float
    ) -> Admission: ...

    def release(self, key: str, limits: Limits, slot: str, *, now: float) -> None: ...


class InMemoryRateLimiter:
    """The fake: one process's states behind a lock (the rules are ``LimitState``'s)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.states: dict[str, LimitState] = {}

    def admit(
        self, key: str, limits: Limits, *, now: float, batch: bool, slot: str, lease_until: float
    ) -> Admission:
        with self._lock:
            state = self.states.setdefault(key, LimitState())
            return state.admit(limits, now=now, batch=batch, slot=slot, lease_until=lease_until)

    def release(self, key: str, limits: Limits, slot: str, *, now: float) -> None:
        with self._lock:
            self.states.setdefault(key, LimitState()).release(slot, now=now)


class RequestGate(Protocol):
    """What a provider client passes before each request (one connection's gate)."""

    def slot(self, *, batch: bool) -> AbstractContextManager[None]: ...


class ConnectionGate:
    """One connection's requests, admitted by the shared ``RateLimiter``."""

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        provider: str,
        account_id: str,
        limits: Limits,
        remaining: Callable[[], float | None] = lambda: None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = MAX_WAIT_SECONDS,
        lease_seconds: float = SLOT_LEASE_SECONDS,
    ) -> None:
        self.limiter = limiter
        self.provider = provider
        self.key = limit_key(provider, account_id)
        self.limits = limits
        self._remaining = remaining
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._lease = lease_seconds

    @contextmanager
    def slot(self, *, batch: bool) -> Iterator[None]:
        """Hold a slot while the block runs (the request); raise when none comes soon enough."""
        slot = self._acquire(batch=batch)
        try:
            yield
        finally:
            self.limiter.release(self.key, self.limits, slot, now=self._clock())

    def _acquire(self, *, batch: bool) -> str:
        slot = uuid.uuid4().hex
        waited = 0.0
        while True:
            now = self._clock()
            left = self._remaining()
            lease = self._lease if left is None else max(1.0, min(self._lease, left + 1.0))
            admission = self.limiter.admit(
                self.key, self.limits, now=now, batch=batch, slot=slot, lease_until=now + lease
            )
            if admission.slot is not None:
                return admission.slot
            label = provider_label(self.provider)
            if admission.day_resumes_at is not None:
                raise DailyLimitReached(
                    f"Daily limit reached: {label} allows this company {self.limits.requests_per_day} "
                    f"requests a day, all used today; the work waits and resumes by itself at "
                    f"{_when(self.limits, admission.day_resumes_at)} (tomorrow).",
                    provider=self.provider,
                    resume_at=admission.day_resumes_at,
                    now=now,
                    fix=f"Nothing to do: booksync resumes when {label}'s next day begins.",
                )
            wait = admission.wait
            fits = left is None or left - wait >= TIME_RESERVE_SECONDS
            if waited + wait > self._max_wait or not fits:
                retry_after = max(1.0, wait)
                raise RateLimited(
                    f"The requests {label} allows this company are in use by other work; "
                    f"try again in {retry_after:.0f} s",
                    provider=self.provider,
                    retry_after=retry_after,
                    fix=f"Nothing to do: booksync tries again automatically once {label} allows it.",
                )
            self._sleep(wait)
            waited += wait


def _when(limits: Limits, at: float) -> str:
    moment = datetime.fromtimestamp(at, day_zone(limits))
    return moment.strftime("%Y-%m-%d %H:%M ") + (moment.tzname() or limits.day_zone)
