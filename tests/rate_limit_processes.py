"""What each process of the shared rate limiter's multi-process tests runs (a module of its own:
a spawned process imports its target by name)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

FROZEN_NOW = 1_796_558_400.0  # 2026-12-05 12:00 UTC: one minute, one day for every process


def admit_until_refused(table: str, limits: Any, attempts: int, admitted: Any, barrier: Any) -> None:
    """Each attempt takes a slot and keeps it (the clock stands still); count what was admitted."""
    from booksync.errors import RateLimited
    from booksync.store.models import bind_tables
    from booksync.store.rate_limits import DynamoRateLimiter
    from booksync.sync.rate_limits import ConnectionGate

    bind_tables(SimpleNamespace(intents_table=table))
    gate = ConnectionGate(
        DynamoRateLimiter(),
        provider="quickbooks",
        account_id="realm-1",
        limits=limits,
        clock=lambda: FROZEN_NOW,
        max_wait=0.0,
    )
    held = []
    barrier.wait()
    for _ in range(attempts):
        slot = gate.slot(batch=False)
        try:
            slot.__enter__()
        except RateLimited:
            continue
        held.append(slot)
        with admitted.get_lock():
            admitted.value += 1


def hold_slots(table: str, limits: Any, slots: int, inside: Any, most: Any, barrier: Any) -> None:
    """Take ``slots`` slots one after another, holding each a moment; record how many were held
    at once across every process."""
    from booksync.store.models import bind_tables
    from booksync.store.rate_limits import DynamoRateLimiter
    from booksync.sync.rate_limits import ConnectionGate

    bind_tables(SimpleNamespace(intents_table=table))
    gate = ConnectionGate(
        DynamoRateLimiter(), provider="quickbooks", account_id="realm-1", limits=limits, max_wait=600.0
    )
    barrier.wait()
    for _ in range(slots):
        with gate.slot(batch=False):
            with inside.get_lock():
                inside.value += 1
                most.value = max(most.value, inside.value)
            time.sleep(0.2)  # long enough that, unlimited, the processes would overlap
            with inside.get_lock():
                inside.value -= 1
