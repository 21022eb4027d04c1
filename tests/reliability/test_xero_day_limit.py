"""Xero's day running out in the middle of the invoice work: parked until Xero's next day, nothing
lost, everything in the books once after.

The Xero sandbox's ``day_limit`` is set low (``DAY_LIMIT`` calls an organisation may make in its
rolling day), far below what the soak's data needs (customers, items, invoices, payments across
invoices, refunds): the work takes several of Xero's days. Each day the sweep queues what is
pending and the real invoice engine (wiring.sync_worker, the Xero adapter against the sandbox)
runs it until Xero answers 429 ``day``; from then the connection is held until Xero's next day,
the invoice reads Blocked with the reason, its run is parked, and the sweep queues nothing the
same day. Then the sandbox's clock moves a day on (its rolling day passes) and booksync's clock
past the hold. At the end the soak's own proof reads Xero's ledger: every object once, in its
place, the amounts equal.
"""

from __future__ import annotations

import contextlib
import random
import time
from dataclasses import replace
from types import SimpleNamespace

import boto3
import pytest
from booksync.documents import DocumentKind
from booksync.errors import WriteInProgress
from booksync.providers.xero import faults as xero_faults
from booksync.settings import SchedulerSettings, SyncWorkerSettings
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.sync import rate_limits
from booksync.sync.jobs import SyncJob
from booksync.wiring import sweep, sync_worker

from tests.reliability.conftest import COMPANY
from tests.reliability.soak_books import SoakBooks
from tests.reliability.test_soak import SEED, _assert_books_match, build_dataset, pending_rows, put_documents

pytestmark = [pytest.mark.reliability, pytest.mark.xdist_group("reliability")]

DAY = 86_400
DAY_LIMIT = 30  # calls a day: the data below needs several days of them
MAX_DAYS = 12  # a hang guard only


@pytest.mark.parametrize("provider", ["xero"])
def test_xeros_day_running_out_parks_the_work_until_its_next_day_and_everything_lands_once(
    stack: SimpleNamespace, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    books: SoakBooks = stack.books
    # Xero's minute (60 calls) is not what this is about: the shared limiter keeps its in-flight
    # cap and its own day, not the minute, which would only make the test wait.
    declared = rate_limits.declared_limits(provider)
    assert declared is not None
    monkeypatch.setattr(
        rate_limits, "declared_limits", lambda _p: replace(declared, requests_per_minute=1_000_000)
    )
    data = build_dataset(random.Random(SEED), 8)
    data.edits = []  # Xero refuses edits of invoices with payments (test_soak.SOAKED says why)
    used_items = {line.item_id for invoice in data.invoices.values() for line in invoice.lines}
    data.items = [item for item in data.items if item.id in used_items]
    data.customers = [c for c in data.customers if c.id in {i.customer_id for i in data.invoices.values()}]
    data.payments.update({p.id: p for p in data.late_payments})  # all recorded at once here
    data.refunds.update({r.id: r for r in data.late_refunds})
    data.late_payments, data.late_refunds = [], []
    put_documents(stack.services.documents, data)
    # The jobs the API queued go: the sweep queues the same pending documents, day after day.
    boto3.client("sqs").purge_queue(QueueUrl=stack.queue)

    now = [time.time()]
    worker, _ = sync_worker(SyncWorkerSettings.from_env(stack.env))
    engine = worker._engine
    engine._clock = lambda: now[0]
    sweeper = sweep(SchedulerSettings.from_env(stack.env))
    sweeper._clock = lambda: now[0]
    queued: list[SyncJob] = []
    sweeper._queue = SimpleNamespace(enqueue=queued.extend)
    # The adapter reads Xero's Retry-After from booksync's now: the same clock, moved by the test.
    monkeypatch.setattr(xero_faults, "time", SimpleNamespace(time=lambda: now[0]))
    books.control.set_config(day_limit=DAY_LIMIT)
    books.control.clear_requests()

    holds: list[str] = []
    blocked: set[str] = set()
    for _day in range(MAX_DAYS):
        queued.clear()
        sweeper.run()
        if not queued and not pending_rows():
            break
        for job in list(queued):
            # A write this job shares with one just parked was released a moment ago: the job's
            # queue retries it later, as SQS does; it stays pending meanwhile.
            with contextlib.suppress(WriteInProgress):
                engine.run(job)
        connection = ConnectionRepository().get(COMPANY, provider)
        assert connection is not None
        if connection.held_until is None or float(connection.held_until) <= now[0]:
            continue  # the day's calls sufficed
        holds.append(str(connection.held_reason))
        rows = DocumentRepository().get_many(COMPANY, DocumentKind.INVOICE, list(data.invoices))
        blocked |= {
            doc_id
            for doc_id, row in rows.items()
            if (link := row.link(provider)) is not None
            and link.outcome == "blocked"
            and (link.error_code or "").startswith("daily_limit_reached")
        }
        # The same day the sweep leaves the work parked: nothing queued, no call made.
        calls = len(books.requests(stack.realm))
        now[0] += 3_600
        queued.clear()
        report = sweeper.run()
        assert (report.queued, queued) == (0, []) and report.parked > 0
        assert len(books.requests(stack.realm)) == calls
        # Xero's next day: its rolling day passes, and booksync's clock passes the hold.
        books.control.advance(DAY)
        now[0] = float(connection.held_until) + 60
    else:
        pytest.fail(f"still pending after {MAX_DAYS} of Xero's days: {len(pending_rows())} documents")

    assert len(holds) >= 2, f"the day ran out on {len(holds)} day(s): the limit was not what held the work"
    assert all(h.startswith("Daily limit reached: Xero") for h in holds), holds
    assert blocked, "no invoice read Blocked for the day's limit while it held"
    answered = [e for e in books.requests(stack.realm) if e["status"] == 429]
    assert answered, "Xero never answered 429 day: booksync stopped before the sandbox's limit"
    _assert_books_match(stack, data)  # nothing lost, nothing twice, the amounts equal
