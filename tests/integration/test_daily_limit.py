"""A provider's daily request limit, end to end through the invoice engine and the sweep (moto):
work that meets it is parked with the reason on the invoice and in history, is not queued again
that day, and resumes the provider's next day. The clock is injected; counts, never timings."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.documents import DocumentKind
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.models import ConnectionModel
from booksync.store.runs import RunRepository
from booksync.sync.jobs import SyncJob
from booksync.sync.limiter import Limits
from booksync.sync.rate_limits import ConnectionGate, InMemoryRateLimiter, provider_day
from booksync.sync.records import DocumentService
from booksync.sync.sweep import Sweep

from tests import builders
from tests.fakes.provider import FakeProvider

COMPANY = "acme"
# An invoice with a new customer and two new items takes 9 requests: the day ends mid-sync.
LIMITS = Limits(max_concurrent=10, requests_per_minute=500, batches_per_minute=40, requests_per_day=6)


class ListQueue:
    def __init__(self) -> None:
        self.jobs: list[SyncJob] = []

    def enqueue(self, jobs: list[SyncJob]) -> None:
        self.jobs.extend(jobs)


class Gated:
    """The provider behind the company's gate: every call holds a slot, as every QuickBooks
    request does (providers/quickbooks/client.py)."""

    def __init__(self, inner: Any, gate: ConnectionGate) -> None:
        self._inner, self._gate = inner, gate
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            slot: AbstractContextManager[None] = self._gate.slot(batch=False)
            with slot:
                self.calls += 1
                return target(*args, **kwargs)

        return call


@pytest.fixture
def world(tables: SimpleNamespace) -> SimpleNamespace:
    ConnectionModel(
        COMPANY, "quickbooks", connection_id="c1", status="connected", account_id="realm-1"
    ).save()
    # A day's hold ends at the provider's midnight: start at least two hours before it, so the
    # hour the test moves forward never crosses into the next day whatever time it runs at.
    real = time.time()
    day_end = provider_day(LIMITS, real)[1]
    now = [real if day_end - real > 7200 else day_end + 7200]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731 - the test moves it
    provider = Gated(
        FakeProvider(),
        ConnectionGate(
            InMemoryRateLimiter(), provider="quickbooks", account_id="realm-1", limits=LIMITS, clock=clock
        ),
    )
    queue = ListQueue()
    docs, conns, runs = DocumentRepository(), ConnectionRepository(), RunRepository()
    service = DocumentService(documents=docs, connections=conns, runs=runs, queue=queue)
    service.put_customer(COMPANY, builders.customer())
    service.put_item(COMPANY, builders.item("i-1"))
    service.put_item(COMPANY, builders.item("i-2", name="Trip charge", price="80.00"))
    service.put_invoice(COMPANY, builders.invoice())
    queue.jobs.clear()
    return SimpleNamespace(
        now=now,
        provider=provider,
        queue=queue,
        docs=docs,
        runs=runs,
        engine=builders.invoice_sync(docs, conns, runs, provider, clock=clock),
        sweep=Sweep(documents=docs, connections=conns, runs=runs, queue=queue, clock=clock),
    )


def test_the_daily_limit_parks_the_invoice_with_the_reason_until_the_next_day(world: SimpleNamespace) -> None:
    report = world.engine.run(SyncJob(company_id=COMPANY, invoice_id="inv-1", provider="quickbooks"))
    assert world.provider.calls == 6  # the day's requests, not one more
    assert report.outcome == "blocked"
    assert report.error.startswith("Daily limit reached: QuickBooks allows this company 6 requests a day")
    assert "resumes by itself" in report.error and "(tomorrow)" in report.error
    invoice = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1")
    link = invoice.link("quickbooks")
    assert (link.outcome, link.error_code) == ("blocked", "daily_limit_reached")  # the badge: Blocked, why
    assert invoice.pending_bucket is not None  # parked, not dropped
    run = world.runs.get(COMPANY, report.run_id)
    assert run.status == "parked" and run.errors[0].code == "daily_limit_reached"  # in Sync History

    # The same day the sweep leaves it parked (no run, no job, no request)...
    world.now[0] += 3600
    swept = world.sweep.run()
    assert (swept.queued, swept.parked) == (0, 1) and world.queue.jobs == []

    # ...and queues it once the provider's next day begins; it then syncs.
    world.now[0] = provider_day(LIMITS, world.now[0])[1] + 120
    swept = world.sweep.run()
    assert swept.queued == 1
    assert world.engine.run(world.queue.jobs[0]).outcome == "synced"
    link = world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1").link("quickbooks")
    assert link.outcome == "synced" and link.remote_id
