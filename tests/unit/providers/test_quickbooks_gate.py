"""Every QuickBooks request passes the company's shared gate (sync/rate_limits.py): it holds a
slot while out, enters the windows at its answer (batches apart), and a 429 still comes back as
RateLimited with QuickBooks' own wait, its slot given back."""

from __future__ import annotations

import pytest
from booksync.errors import RateLimited
from booksync.providers.http import HttpClient
from booksync.providers.quickbooks.client import BatchOp, QuickBooksClient
from booksync.sync.limiter import Limits
from booksync.sync.rate_limits import ConnectionGate, InMemoryRateLimiter, LimitState, limit_key

from tests.unit.providers.qbo_fake import API, REALM, FakeIntuit, FakeTokens, fault, respond

LIMITS = Limits(max_concurrent=2, requests_per_minute=100, batches_per_minute=10)


@pytest.fixture
def limiter() -> InMemoryRateLimiter:
    return InMemoryRateLimiter()


@pytest.fixture
def gated(http: HttpClient, tokens: FakeTokens, limiter: InMemoryRateLimiter) -> QuickBooksClient:
    gate = ConnectionGate(limiter, provider="quickbooks", account_id=REALM, limits=LIMITS)
    return QuickBooksClient(realm_id=REALM, tokens=tokens, http=http, api_base_url=API, gate=gate)


def state(limiter: InMemoryRateLimiter) -> LimitState:
    return limiter.states[limit_key("quickbooks", REALM)]


def test_every_request_holds_a_slot_and_is_counted_at_its_answer(
    gated: QuickBooksClient, intuit: FakeIntuit, limiter: InMemoryRateLimiter
) -> None:
    created = gated.create("Customer", {"DisplayName": "Ann"}, idempotency_key="k1")
    gated.read("Customer", created["Id"])
    gated.batch([BatchOp.select("1", "select * from Customer")])
    assert len(intuit.requests) == 3
    assert len(state(limiter).requests) == 3 and len(state(limiter).batches) == 1
    assert state(limiter).leases == {} and state(limiter).day_count == 3


def test_a_refused_token_and_its_retry_are_two_requests(
    gated: QuickBooksClient, intuit: FakeIntuit, limiter: InMemoryRateLimiter
) -> None:
    intuit.valid_tokens = {"access-2"}
    gated.create("Customer", {"DisplayName": "Ann"}, idempotency_key="k1")
    assert len(intuit.requests) == 2 and len(state(limiter).requests) == 2


def test_a_429_is_still_honoured_and_its_slot_given_back(
    gated: QuickBooksClient, intuit: FakeIntuit, limiter: InMemoryRateLimiter, sleeps: list[float]
) -> None:
    intuit.then(respond(429, fault(3001, "ThrottleExceeded", kind="SERVICE"), headers={"Retry-After": "45"}))
    with pytest.raises(RateLimited) as caught:
        gated.create("Customer", {"DisplayName": "Ann"}, idempotency_key="k")
    assert caught.value.retry_after == 45.0  # QuickBooks' own wait: the queue delays the message by it
    assert sleeps == [] and len(intuit.requests) == 1
    assert state(limiter).leases == {} and len(state(limiter).requests) == 1
