"""The shared rate limiter over DynamoDB (moto server): threads and processes admitting requests
for one provider company at once never exceed its limits together. Counts only, never timings."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from booksync.errors import DailyLimitReached, RateLimited
from booksync.store.models import RateLimitModel
from booksync.store.rate_limits import DynamoRateLimiter
from booksync.sync.limiter import Limits
from booksync.sync.rate_limits import ConnectionGate, limit_key

from tests import rate_limit_processes
from tests.conftest import only_table
from tests.threads import run_threads

FROZEN = rate_limit_processes.FROZEN_NOW
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def table(moto_url: str) -> Iterator[str]:
    with only_table("intents_table"):  # the limiter's rows live in the Intents table
        yield str(RateLimitModel.Meta.table_name)


def gate(limits: Limits, clock: object = lambda: FROZEN, **kw: object) -> ConnectionGate:
    return ConnectionGate(
        DynamoRateLimiter(),
        provider="quickbooks",
        account_id="realm-1",
        limits=limits,
        clock=clock,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_threads_racing_for_one_minutes_requests_get_exactly_the_limit(table: str) -> None:
    limits = Limits(max_concurrent=1000, requests_per_minute=7, batches_per_minute=40)
    admitted: list[object] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def worker() -> None:
        g = gate(limits, max_wait=0.0)
        start.wait()
        for _ in range(3):
            slot = g.slot(batch=False)
            try:
                slot.__enter__()
            except RateLimited:
                continue
            with lock:
                admitted.append(slot)  # kept, never released (the clock stands still)

    run_threads(*[worker] * 12)
    assert len(admitted) == 7
    assert len(DynamoRateLimiter().state(limit_key("quickbooks", "realm-1")).leases) == 7


def in_processes(count: int, target: Callable[..., None], *args: object) -> None:
    """``target(*args, barrier)`` in ``count`` spawned processes that start together; each must
    end well (a guard against a hung process, not a time bound on the work)."""
    barrier = SPAWN.Barrier(count)
    processes = [SPAWN.Process(target=target, args=(*args, barrier)) for _ in range(count)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [p.exitcode for p in processes] == [0] * count


def test_processes_racing_for_one_minutes_requests_get_exactly_the_limit(table: str) -> None:
    limits = Limits(max_concurrent=1000, requests_per_minute=9, batches_per_minute=40)
    admitted = SPAWN.Value("i", 0)
    in_processes(4, rate_limit_processes.admit_until_refused, table, limits, 5, admitted)
    assert admitted.value == 9


def test_processes_never_hold_more_slots_than_the_limit_at_once(table: str) -> None:
    limits = Limits(max_concurrent=2, requests_per_minute=10_000, batches_per_minute=40)
    inside, most = SPAWN.Value("i", 0), SPAWN.Value("i", 0)
    in_processes(4, rate_limit_processes.hold_slots, table, limits, 4, inside, most)
    assert most.value <= 2
    state = DynamoRateLimiter().state(limit_key("quickbooks", "realm-1"))
    assert state.leases == {} and len(state.requests) == 16  # every slot given back, every answer counted


def test_a_killed_holders_slot_comes_back_after_its_lease(table: str) -> None:
    limits = Limits(max_concurrent=1, requests_per_minute=100, batches_per_minute=40)
    now = [FROZEN]
    killed = gate(limits, lambda: now[0], lease_seconds=90.0).slot(batch=False)
    killed.__enter__()  # its process is killed here: never released
    with pytest.raises(RateLimited), gate(limits, lambda: now[0], max_wait=0.0).slot(batch=False):
        pass
    now[0] += 90.5
    with gate(limits, lambda: now[0], max_wait=0.0).slot(batch=False):
        pass
    assert killed  # kept alive to the end: a collected context would release its slot


def test_the_days_cap_holds_across_gates_and_resumes_the_next_day(table: str) -> None:
    limits = Limits(max_concurrent=5, requests_per_minute=100, batches_per_minute=40, requests_per_day=4)
    now = [FROZEN]
    for _ in range(4):
        with gate(limits, lambda: now[0]).slot(batch=False):  # a new gate each time: another Lambda
            pass
    with pytest.raises(DailyLimitReached) as caught, gate(limits, lambda: now[0]).slot(batch=False):
        pass
    assert caught.value.resume_at == FROZEN + 12 * 3600  # midnight UTC
    row = RateLimitModel.get(limit_key("quickbooks", "realm-1"))
    assert int(row.ttl) > caught.value.resume_at  # the day's count outlives the day, then goes
    now[0] = caught.value.resume_at
    with gate(limits, lambda: now[0]).slot(batch=False):
        pass


@pytest.fixture
def dynamodb_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The DynamoDB operations pynamodb sends (through botocore clients of its own)."""
    from pynamodb.connection.base import Connection

    sent: list[str] = []
    original = Connection._make_api_call

    def call(connection: Connection, operation: str, kwargs: dict[str, Any]) -> Any:
        sent.append(operation)
        return original(connection, operation, kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", call)
    return sent


def test_giving_a_slot_back_is_one_conditional_write_and_no_read(
    table: str, dynamodb_requests: list[str]
) -> None:
    """Issue 14's limiter cost: a slot was 4 requests (read and write to take it, the same to give
    it back) and 18 with 8 threads on one company. Given back, it is one append now."""
    limits = Limits(max_concurrent=2, requests_per_minute=100, batches_per_minute=40)
    with gate(limits).slot(batch=True):
        assert dynamodb_requests == ["GetItem", "PutItem"]
        dynamodb_requests.clear()
    assert dynamodb_requests == ["UpdateItem"]
    state = DynamoRateLimiter().state(limit_key("quickbooks", "realm-1"))
    assert state.leases == {} and state.requests == [FROZEN] and state.batches == [FROZEN]


def test_a_slot_given_back_while_another_is_being_taken_is_not_lost(table: str) -> None:
    """A release lands between an admission's read and its write: the admission reads again (the
    release moved the row's version) and keeps it, so the slot is free and its answer counted."""
    limits = Limits(max_concurrent=2, requests_per_minute=100, batches_per_minute=40)
    key = limit_key("quickbooks", "realm-1")
    first = gate(limits).slot(batch=False)
    first.__enter__()
    original = RateLimitModel.get
    reads = [0]

    def read_then_release(*args: Any, **kwargs: Any) -> RateLimitModel:
        row = original(*args, **kwargs)
        reads[0] += 1
        if reads[0] == 1:  # the second slot's admission read the row: the first comes back now
            first.__exit__(None, None, None)
        return row

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RateLimitModel, "get", read_then_release)
        with gate(limits, max_wait=0.0).slot(batch=False):
            state = DynamoRateLimiter().state(key)
            assert len(state.leases) == 1 and state.requests == [FROZEN]
    state = DynamoRateLimiter().state(key)
    assert state.leases == {} and state.requests == [FROZEN, FROZEN]


def test_giving_back_a_slot_of_a_row_gone_writes_nothing(table: str) -> None:
    """A row past its TTL is gone with everything in it: a release makes no row of its own (one
    without a state, which no admission could read)."""
    key = limit_key("quickbooks", "realm-gone")
    DynamoRateLimiter().release(key, Limits(max_concurrent=1, requests_per_minute=10), "slot-1", now=FROZEN)
    with pytest.raises(RateLimitModel.DoesNotExist):
        RateLimitModel.get(key, consistent_read=True)
