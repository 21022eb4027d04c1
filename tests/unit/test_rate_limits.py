"""The shared rate limiter's rules (sync/rate_limits.py) over its in-memory fake, on an injected
clock: counts only, never timings (the limiter's overhead is a bench figure)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import pytest
from booksync.errors import DailyLimitReached, RateLimited
from booksync.sync.limiter import Limits
from booksync.sync.rate_limits import ConnectionGate, InMemoryRateLimiter, provider_day

LIMITS = Limits(max_concurrent=3, requests_per_minute=5, batches_per_minute=2, requests_per_day=8)
NOON = datetime(2026, 12, 6, 12, 0, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2026, 12, 7, 0, 0, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float = NOON) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def gate(
    limiter: InMemoryRateLimiter,
    clock: Clock,
    limits: Limits = LIMITS,
    *,
    account_id: str = "realm-1",
    **kw: Any,
) -> ConnectionGate:
    return ConnectionGate(
        limiter,
        provider="quickbooks",
        account_id=account_id,
        limits=limits,
        clock=clock,
        sleep=clock.sleep,
        **{"max_wait": 0.0, **kw},
    )


def hold(g: ConnectionGate, slots: int) -> list[AbstractContextManager[None]]:
    """``slots`` slots taken and never released (their worker was killed); keep what it returns:
    a collected context would release its slot."""
    held = [g.slot(batch=False) for _ in range(slots)]
    for slot in held:
        slot.__enter__()
    return held


def test_no_more_slots_in_flight_than_the_limit() -> None:
    clock, limiter = Clock(), InMemoryRateLimiter()
    g = gate(limiter, clock)
    held = hold(g, 3)
    with pytest.raises(RateLimited) as caught, g.slot(batch=False):
        pass
    assert not isinstance(caught.value, DailyLimitReached)
    held[0].__exit__(None, None, None)
    with g.slot(batch=False):  # an answer frees its slot
        pass


def test_requests_per_minute_counted_at_the_answer_and_freed_a_minute_later() -> None:
    clock, limiter = Clock(), InMemoryRateLimiter()
    g = gate(limiter, clock)
    for _ in range(5):
        with g.slot(batch=False):
            pass
    with pytest.raises(RateLimited) as caught, g.slot(batch=False):
        pass
    assert 60 <= caught.value.retry_after <= 61
    clock.now += 60.1
    with g.slot(batch=False):
        pass


def test_a_gate_waits_a_short_wait_inline() -> None:
    clock, limiter = Clock(), InMemoryRateLimiter()
    limits = Limits(max_concurrent=3, requests_per_minute=2, batches_per_minute=2, window_seconds=6)
    for _ in range(3):
        with gate(limiter, clock, limits, max_wait=10).slot(batch=False):
            pass
    assert len(clock.slept) == 1 and 6 <= sum(clock.slept) <= 7  # the third waited for the window


def test_batches_per_minute_apart_from_requests() -> None:
    clock, limiter = Clock(), InMemoryRateLimiter()
    g = gate(limiter, clock)
    for _ in range(2):
        with g.slot(batch=True):
            pass
    with pytest.raises(RateLimited), g.slot(batch=True):
        pass
    with g.slot(batch=False):  # a plain request still goes
        pass


def test_a_killed_holders_slot_comes_back_after_its_lease() -> None:
    clock, limiter = Clock(), InMemoryRateLimiter()
    killed = hold(gate(limiter, clock, lease_seconds=30), 3)
    g = gate(limiter, clock)
    with pytest.raises(RateLimited), g.slot(batch=False):
        pass
    clock.now += 29.9
    with pytest.raises(RateLimited), g.slot(batch=False):
        pass
    clock.now += 0.2
    with g.slot(batch=False):
        pass
    assert len(killed) == 3  # held to the end (a collected context would release its slot)


def test_a_slots_lease_ends_with_the_invocation_holding_it() -> None:
    clock, limiter = Clock(), InMemoryRateLimiter()
    killed = hold(gate(limiter, clock, remaining=lambda: 20.0), 3)
    clock.now += 21.5
    with gate(limiter, clock).slot(batch=False):
        pass
    assert len(killed) == 3  # held to the end (a collected context would release its slot)


def test_the_daily_cap_stops_until_the_providers_next_day() -> None:
    clock, limiter = Clock(), InMemoryRateLimiter()
    limits = Limits(max_concurrent=3, requests_per_minute=100, batches_per_minute=2, requests_per_day=8)
    g = gate(limiter, clock, limits, max_wait=3600)
    for _ in range(8):
        with g.slot(batch=False):
            pass
    with pytest.raises(DailyLimitReached) as caught, g.slot(batch=False):
        pass
    assert caught.value.resume_at == MIDNIGHT
    assert caught.value.retry_after == MIDNIGHT - NOON
    assert caught.value.message.startswith("Daily limit reached: QuickBooks allows this company 8 requests")
    assert "resumes by itself at 2026-12-07 00:00 UTC (tomorrow)" in caught.value.message
    assert clock.slept == []  # never waited inline for the next day
    clock.now = MIDNIGHT - 0.01
    with pytest.raises(DailyLimitReached), g.slot(batch=False):
        pass
    clock.now = MIDNIGHT
    for _ in range(8):
        with g.slot(batch=False):
            pass


def test_the_providers_day_is_utc_unless_it_declares_its_zone() -> None:
    assert provider_day(LIMITS, NOON) == ("2026-12-06", MIDNIGHT)
    pacific = Limits(
        max_concurrent=1, requests_per_minute=1, batches_per_minute=1, day_zone="America/Los_Angeles"
    )
    late = datetime(2026, 12, 7, 3, 0, tzinfo=UTC).timestamp()  # 19:00 the day before in Los Angeles
    day, next_day = provider_day(pacific, late)
    assert day == "2026-12-06"
    assert next_day == datetime(2026, 12, 7, 8, 0, tzinfo=UTC).timestamp()


def test_connections_are_limited_apart() -> None:
    clock, limiter = Clock(), InMemoryRateLimiter()
    for _ in range(5):
        with gate(limiter, clock).slot(batch=False):
            pass
    with gate(limiter, clock, account_id="realm-2").slot(batch=False):
        pass
