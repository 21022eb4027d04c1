"""The conformance suite: what booksync promises of every accounting provider, run for each one in
``PROVIDERS`` (tests/conformance/books.py) through the sync engine, booksync's own stores and the
provider's adapter against its books. A provider passes only if it passes every test here; README
"The conformance suite" says how a provider plugs in."""

from __future__ import annotations

import functools
import threading
import time
from decimal import Decimal

import pytest
from booksync.account_mapping import AccountMapping
from booksync.documents import DocumentKind, Payment, Refund
from booksync.errors import InvalidRequest, RateLimited, TransientError, WriteInProgress
from booksync.integrations import Integrations
from booksync.providers.declaration import Capability
from booksync.providers.port import ItemRefs
from booksync.store.connections import ConnectionStatus
from booksync.store.models import ConnectionModel, link_parts
from booksync.store.notifications import NotificationRepository
from booksync.sync.engine import Outcome
from booksync.sync.sweep import Sweep
from booksync.sync.worker import SyncWorker
from booksync.wiring import payments_resumed

from tests import builders
from tests.conformance.books import Held, Together
from tests.conformance.conftest import World
from tests.integration.test_api_payments_refunds import split_body
from tests.threads import run_threads


def test_a_customer_and_an_item_already_in_the_books_are_linked_not_created_again(world: World) -> None:
    """Link before create: what the books already hold (typed in before booksync was connected;
    seeded here through the adapter, so every provider seeds alike) is found and linked."""
    adapter = world.books.adapter
    income = world.income_account()
    # The same person and mailbox, written the other way round; the item under its own name.
    seeded_customer = adapter.create_customer(
        builders.customer(display_name="LOVELACE, Ada"), idempotency_key="typed-in-customer"
    )
    seeded_item = adapter.create_item(builders.item("i-1"), ItemRefs(income), idempotency_key="typed-in-item")
    world.service.put_invoice(world.company, builders.invoice())

    report = world.sync()

    assert report.outcome == Outcome.SYNCED, report.error
    assert world.link(DocumentKind.CUSTOMER, "c-1").remote_id == seeded_customer.id
    assert world.link(DocumentKind.ITEM, "i-1").remote_id == seeded_item.id
    assert world.books.counts("customer", "item", "invoice") == (1, 2, 1)


def test_duplicated_deliveries_of_one_job_make_one_object_each(world: World) -> None:
    """A second delivery while the first is mid-write backs off; later ones find everything done."""
    world.service.put_invoice(world.company, builders.invoice())
    held = Held(world.books.adapter, "create_invoice")
    first: list[str] = []
    worker = threading.Thread(target=lambda: first.append(world.engine("w1", held).run(world.job()).outcome))
    worker.start()
    try:
        assert held.entered.wait(30), "the first delivery reached the invoice's create"
        with pytest.raises(WriteInProgress):
            world.engine("w2").run(world.job())
    finally:
        held.released.set()
        worker.join(30)
    assert first == [Outcome.SYNCED]

    for owner in ("w3", "w4"):  # redeliveries after the busy refusal
        again = world.engine(owner).run(world.job())
        assert again.outcome == Outcome.SYNCED and again.counts["unchanged"] == 4, again.counts
    assert world.books.counts("customer", "item", "invoice") == (1, 2, 1)


@pytest.mark.parametrize(("kind", "held"), [("customer", 1), ("item", 2), ("invoice", 1)])
def test_a_committed_write_whose_answer_was_lost_makes_one_object(world: World, kind: str, held: int) -> None:
    """The provider committed the create but booksync never heard: the next run finds it."""
    world.service.put_invoice(world.company, builders.invoice())
    world.books.lose_answer(kind)
    with pytest.raises(TransientError):
        world.sync()

    assert world.sync().outcome == Outcome.SYNCED
    assert world.books.count(kind) == held
    assert world.books.count("invoice") == 1
    assert world.link(DocumentKind.INVOICE, "inv-1").remote_id


def test_edits_a_b_a_b_each_reach_the_books(world: World) -> None:
    """Every push has a key of its own: an edit back to earlier content is pushed again, with
    versions or without (issue 14: the second B was once taken for the first and skipped)."""
    world.service.put_invoice(world.company, builders.invoice(memo="A"))
    world.sync()
    remote_id = world.remote_invoice()
    for memo in ("B", "A", "B"):
        world.service.put_invoice(world.company, builders.invoice(memo=memo))
        assert world.sync().outcome == Outcome.SYNCED
        assert world.books.invoice(remote_id).memo == memo
    assert world.books.count("invoice") == 1


def test_a_voided_invoice_is_voided_in_the_books(voiding_world: World) -> None:
    world = voiding_world
    world.service.put_invoice(world.company, builders.invoice())
    world.sync()
    remote_id = world.remote_invoice()
    assert world.books.invoice(remote_id).total == Decimal("380.00")

    world.service.put_invoice(world.company, builders.invoice(status="VOID"))
    world.books.lose_answer("invoice", "void")
    with pytest.raises(TransientError):
        world.sync()
    assert world.sync().outcome == Outcome.SYNCED

    seen = world.books.invoice(remote_id)
    assert (seen.total, seen.balance) == (Decimal(0), Decimal(0))
    assert world.books.count("invoice") == 1
    assert world.sync().counts["unchanged"] == 1, "voided once: a redelivery has nothing to do"


def test_a_voided_invoice_is_said_not_supported_where_the_books_have_no_void(
    non_voiding_world: World,
) -> None:
    """Books without a void (FreshBooks): the void is said on the invoice and in the run, once;
    nothing is sent, the invoice in the books stays as it was, and nothing is retried."""
    world = non_voiding_world
    world.service.put_invoice(world.company, builders.invoice())
    world.sync()
    remote_id = world.remote_invoice()

    world.service.put_invoice(world.company, builders.invoice(status="VOID"))
    report = world.sync()
    assert report.outcome == Outcome.NOT_SUPPORTED
    label = world.books.declaration().label
    assert [u["message"] for u in report.unsupported] == [
        f"Voiding an invoice is not supported by {label} (invoice inv-1)."
    ]
    link = world.link(DocumentKind.INVOICE, "inv-1")
    assert (link.outcome, link.remote_id) == (Outcome.NOT_SUPPORTED, remote_id)
    assert world.books.invoice(remote_id).total == Decimal("380.00")
    assert world.books.count("invoice") == 1
    again = world.sync()
    assert again.counts["unchanged"] == 1 and again.unsupported == [], "said once: a redelivery sends nothing"


@pytest.mark.parametrize(
    ("fault", "status"),
    [("revoke", ConnectionStatus.NEEDS_RECONNECTION), ("refuse", ConnectionStatus.CONNECTION_DOWN)],
    ids=["grant-revoked", "refused-with-a-fresh-token"],
)
def test_an_auth_failure_sets_the_connection_status_and_parks_the_work_until_reconnected(
    world: World, fault: str, status: str
) -> None:
    """The grant revoked (the refresh ends in invalid_grant): Needs Reconnection. Every call
    refused, a fresh token's too: Connection Down. Either way the edit waits, pending, and reaches
    the books once the user reconnects and the sweep queues the parked work."""
    world.service.put_invoice(world.company, builders.invoice(memo="before"))
    world.sync()
    remote_id = world.remote_invoice()
    world.service.put_invoice(world.company, builders.invoice(memo="while broken"))
    getattr(world.books, fault)()

    report = world.sync()

    assert report.outcome == Outcome.BLOCKED
    assert world.connection().status == status
    assert world.link(DocumentKind.INVOICE, "inv-1").outcome == Outcome.BLOCKED
    assert world.row(DocumentKind.INVOICE, "inv-1").pending_bucket, "parked, not dropped"
    assert world.runs.recent(world.company)[0].status == "parked"
    assert world.books.invoice(remote_id).memo == "before"

    world.books.allow()
    world.books.connect()
    sweep = Sweep(documents=world.docs, connections=world.connections, runs=world.runs, queue=world.queue)
    assert sweep.resume(world.company).queued >= 1
    assert world.job().invoice_id in [job.invoice_id for job in world.queue.jobs]
    for job in world.queue.jobs:
        assert world.engine().run(job).outcome == Outcome.SYNCED
    assert world.books.invoice(remote_id).memo == "while broken"
    assert world.row(DocumentKind.INVOICE, "inv-1").pending_bucket is None
    assert world.books.count("invoice") == 1


class Delays:
    def __init__(self) -> None:
        self.delays: list[tuple[str, float]] = []

    def delay(self, receipt_handle: str, seconds: float) -> None:
        self.delays.append((receipt_handle, seconds))


def test_a_429_retry_after_is_honoured_by_the_queue_and_the_work_lands_after_it(world: World) -> None:
    world.service.put_invoice(world.company, builders.invoice())
    world.books.throttle("invoice", retry_after=120)
    queue = Delays()
    worker = SyncWorker(world.engine(), queue)
    body = world.job().model_dump_json()

    with pytest.raises(RateLimited):
        worker.handle(body, "receipt-1")

    assert queue.delays == [("receipt-1", 120)], "the message waits what the provider asked"
    assert world.books.count("invoice") == 0
    assert world.runs.recent(world.company)[0].status == "retrying"
    assert worker.handle(body, "receipt-2")["outcome"] == Outcome.SYNCED
    assert queue.delays == [("receipt-1", 120)]
    assert world.books.count("invoice") == 1


def test_no_more_requests_in_flight_than_the_provider_declares(world: World) -> None:
    """More jobs at once than the provider allows requests in flight, their calls sent at the same
    moment and slowed so they overlap: the connection's shared gate holds the rest back, so the
    books refuse none."""
    world.service.put_invoice(world.company, builders.invoice())
    world.sync()  # the customer and items: each job below makes one call, its invoice's create
    invoice_ids = [f"inv-{n}" for n in range(2, world.books.limits.max_concurrent + 4)]
    for invoice_id in invoice_ids:
        world.service.put_invoice(world.company, builders.invoice(invoice_id))
    world.books.slow(1.5)
    at_once = Together(world.books.adapter, "create_invoice", len(invoice_ids))
    outcomes: dict[str, str] = {}

    def deliver(invoice_id: str) -> None:
        outcomes[invoice_id] = world.engine(adapter=at_once).run(world.job(invoice_id)).outcome

    run_threads(*(functools.partial(deliver, invoice_id) for invoice_id in invoice_ids))

    assert world.books.refused_over_limits() == 0
    assert sorted(outcomes) == sorted(invoice_ids) and set(outcomes.values()) == {Outcome.SYNCED}
    assert world.books.count("invoice") == len(invoice_ids) + 1


def test_the_books_own_daily_limit_parks_the_work_until_the_day_they_name(day_capped_world: World) -> None:
    """Books that cap a company's requests a day answer 429 for the day before booksync's own
    count says so (other apps share the company's day): the work is parked with the reason until
    the time the books name, not retried that day (the sweep leaves it), then queued and synced."""
    world = day_capped_world
    world.service.put_invoice(world.company, builders.invoice())
    world.books.spend_day()
    started = time.time()

    report = world.sync()

    assert report.outcome == Outcome.BLOCKED and str(report.error).startswith("Daily limit reached")
    link = world.link(DocumentKind.INVOICE, "inv-1")
    assert (link.outcome, link.error_code) == (Outcome.BLOCKED, "daily_limit_reached")
    assert world.row(DocumentKind.INVOICE, "inv-1").pending_bucket, "parked, not dropped"
    assert world.runs.recent(world.company)[0].status == "parked"
    assert world.books.counts("customer", "invoice") == (0, 0)
    held_until = world.connection().held_until
    assert held_until is not None and float(held_until) > started + 3600, "until the books' day, not a minute"

    def sweep(at: float) -> Sweep:
        return Sweep(
            documents=world.docs,
            connections=world.connections,
            runs=world.runs,
            queue=world.queue,
            clock=lambda: at,
        )

    assert sweep(started + 600).resume(world.company).queued == 0, "the same day it waits"
    world.books.restore_day()
    assert sweep(float(held_until) + 1).resume(world.company).queued >= 1
    for job in world.queue.jobs:
        assert world.engine().run(job).outcome == Outcome.SYNCED
    assert world.books.count("invoice") == 1


# -------------------------------------------- providers whose declarations say they record payments


def test_a_refund_reaches_the_books_once(refunding_world: World) -> None:
    world = refunding_world
    world.service.put_invoice(world.company, builders.invoice())
    world.service.put_payment(world.company, builders.payment("p-1", "200.00"))
    refund = Refund.model_validate(
        {"id": "r-1", "payment_id": "p-1", "amount": "40.00", "date": "2026-11-05"}
    )
    world.service.put_refund(world.company, refund)
    world.books.lose_answer("refund")
    with pytest.raises(TransientError):
        world.sync()

    assert world.sync().outcome == Outcome.SYNCED
    assert world.sync().counts["unchanged"] == 6, "customer, 2 items, invoice, payment, refund"
    assert world.books.counts("payment", "refund") == (1, 1)
    assert world.link(DocumentKind.REFUND, "r-1").remote_id
    assert world.books.invoice(world.remote_invoice()).balance == Decimal("180.00")


def split_payment_answer_lost(world: World, first_job: str) -> Payment:
    """Two invoices and a payment across them (380.00 on inv-1, 100.00 on inv-2), whose first
    payment create in ``first_job``'s sync is committed and its answer lost."""
    world.service.put_invoice(world.company, builders.invoice("inv-1"))
    world.service.put_invoice(world.company, builders.invoice("inv-2"))
    split = Payment.model_validate(split_body())
    world.service.put_payment(world.company, split)
    world.books.lose_answer("payment")
    with pytest.raises(TransientError):
        world.sync(first_job)
    return split


def test_one_payment_across_two_invoices_is_one_payment_in_the_books(splitting_world: World) -> None:
    """Pushed by whichever invoice's job comes first, once, after a lost answer too."""
    world = splitting_world
    split_payment_answer_lost(world, "inv-1")

    assert world.sync("inv-2").outcome == Outcome.SYNCED
    assert world.sync("inv-1").outcome == Outcome.SYNCED
    assert world.books.count("payment") == 1
    assert world.books.count("invoice") == 2
    assert world.books.invoice(world.remote_invoice("inv-1")).balance == Decimal(0)
    assert world.books.invoice(world.remote_invoice("inv-2")).balance == Decimal("280.00")


def test_one_payment_across_two_invoices_is_one_payment_per_invoice_where_each_pays_one(
    per_invoice_world: World,
) -> None:
    """Books whose payments each pay one invoice get one per invoice, each with its invoice's
    share, each written once: after a lost answer too, and whichever invoice's job comes first."""
    world = per_invoice_world
    split = split_payment_answer_lost(world, "inv-2")

    assert world.sync("inv-2").outcome == Outcome.SYNCED
    assert world.sync("inv-1").outcome == Outcome.SYNCED
    assert world.books.counts("invoice", "payment") == (2, 2)
    link = world.link(DocumentKind.PAYMENT, split.id)
    parts = link_parts(link)
    assert sorted(parts) == ["inv-1", "inv-2"] and len(set(parts.values())) == 2
    assert link.remote_id in parts.values() and link.outcome == Outcome.SYNCED
    assert world.books.invoice(world.remote_invoice("inv-1")).balance == Decimal(0)
    assert world.books.invoice(world.remote_invoice("inv-2")).balance == Decimal("280.00")


def test_a_payment_across_invoices_is_one_payment_or_not_supported_where_declared(world: World) -> None:
    """Books that declare payments across invoices get one payment; books whose payments each pay
    one invoice get one per invoice; books that declare no payments get none, and the payment says
    "not supported by <label>": not a failure, no admin notification, nothing left pending for the
    sweep, both invoices synced."""
    declared = world.books.declaration()
    world.service.put_invoice(world.company, builders.invoice("inv-1"))
    world.service.put_invoice(world.company, builders.invoice("inv-2"))
    split = Payment.model_validate(split_body())  # 380.00 on inv-1, 100.00 on inv-2
    world.service.put_payment(world.company, split)

    assert world.sync("inv-1").outcome == Outcome.SYNCED
    assert world.sync("inv-2").outcome == Outcome.SYNCED
    assert world.books.count("invoice") == 2
    link = world.link(DocumentKind.PAYMENT, split.id)
    if declared.supports(Capability.PAYMENTS) and declared.supports(Capability.PAYMENTS_ACROSS_INVOICES):
        assert world.books.count("payment") == 1 and link.remote_id and link.outcome == Outcome.SYNCED
        assert world.books.invoice(world.remote_invoice("inv-2")).balance == Decimal("280.00")
    elif declared.supports(Capability.PAYMENTS):
        assert world.books.count("payment") == 2 and link.remote_id and link.outcome == Outcome.SYNCED
        assert sorted(link_parts(link)) == ["inv-1", "inv-2"]
        assert world.books.invoice(world.remote_invoice("inv-1")).balance == Decimal(0)
        assert world.books.invoice(world.remote_invoice("inv-2")).balance == Decimal("280.00")
    else:
        assert world.books.count("payment") == 0 and not link.remote_id
        assert link.outcome == Outcome.NOT_SUPPORTED
        assert f"is not supported by {declared.label} (payment {split.id}" in str(link.error_message)
        assert world.books.invoice(world.remote_invoice("inv-1")).balance == Decimal("380.00")
        assert NotificationRepository().for_company(world.company) == [], "not a failure: nobody is told"
    assert world.row(DocumentKind.PAYMENT, split.id).pending_bucket is None, (
        "the sweep has nothing to re-queue"
    )


def test_a_payment_waits_for_the_account_payments_go_into_and_resumes_once_it_is_chosen(
    payment_account_world: World,
) -> None:
    """Books whose payments need the account they go into: while none is chosen a payment is not a
    silent failure but waits, said on it, on its invoice, in history and once to admins, and the
    sweep leaves it be; an account that cannot take payments is refused naming those that can;
    once one is chosen the payment syncs by itself, into that account."""
    world = payment_account_world
    chosen = world.connection().settings.payment_account_id
    assert chosen, "every world of such books has its payment account chosen"
    world.connection().update(actions=[ConnectionModel.settings.payment_account_id.remove()])
    world.service.put_invoice(world.company, builders.invoice())
    world.service.put_payment(world.company, builders.payment("p-1", "200.00"))
    world.queue.jobs.clear()  # their auto-sync jobs: this test runs the job itself

    assert world.sync().outcome == Outcome.SYNCED, "the invoice itself is in the books"
    assert world.books.counts("invoice", "payment") == (1, 0)
    waiting = world.link(DocumentKind.PAYMENT, "p-1")
    assert (waiting.outcome, waiting.error_code) == (Outcome.BLOCKED, "payment_account_not_chosen")
    assert "needs the account payments go into" in str(waiting.error_message)
    assert str(waiting.error_fix).startswith("Choose the account payments go into in Account mapping")
    assert world.row(DocumentKind.PAYMENT, "p-1").pending_bucket, "kept, not lost"
    assert world.runs.recent(world.company)[0].status == "parked"
    invoice = world.row(DocumentKind.INVOICE, "inv-1")
    state = Integrations.sync_state(
        invoice, world.books.provider, world.connection(), {"inv-1": [world.row(DocumentKind.PAYMENT, "p-1")]}
    )
    assert state["badge"] == "Out of Date" and "Payment p-1: " in state["error"]["message"], state
    (told,) = NotificationRepository().for_company(world.company)
    assert told.kind.endswith(":payment_account_not_chosen") and told.resolved_at is None, told.kind
    sweep = Sweep(documents=world.docs, connections=world.connections, runs=world.runs, queue=world.queue)
    assert sweep.resume(world.company).queued == 0, "the sweep leaves it waiting"

    mapping = AccountMapping(
        connections=world.connections,
        documents=world.docs,
        provider_for=lambda _c: world.books.adapter,
        on_payment_account=payments_resumed(NotificationRepository(), sweep),
    )
    income = next(a for a in world.books.adapter.list_accounts() if a.classification == "Revenue")
    with pytest.raises(InvalidRequest) as refused:
        mapping.set_payment_account(world.company, world.books.provider, income.id)
    assert "choose a bank account or one that accepts payments" in refused.value.message
    assert f"({chosen})" in refused.value.fix, "names the accounts that can take payments"
    assert world.queue.jobs == []

    mapping.set_payment_account(world.company, world.books.provider, str(chosen))
    assert [job.invoice_id for job in world.queue.jobs] == ["inv-1"], "resumed by itself"
    assert world.engine().run(world.queue.jobs[0]).outcome == Outcome.SYNCED
    link = world.link(DocumentKind.PAYMENT, "p-1")
    assert link.outcome == Outcome.SYNCED and link.remote_id
    assert world.books.counts("invoice", "payment") == (1, 1)
    assert world.books.payment_account(str(link.remote_id)) == chosen
    assert world.row(DocumentKind.PAYMENT, "p-1").pending_bucket is None
    assert NotificationRepository().for_company(world.company)[0].resolved_at is not None


class FoundNothingYet:
    """``adapter`` whose first ``find_customer`` answers, then waits until ``go`` before the engine
    hears it: a worker that looked before another worker's create landed."""

    def __init__(self, adapter: object) -> None:
        self.inner = adapter
        self.looked = threading.Event()
        self.go = threading.Event()

    def __getattr__(self, name: str) -> object:
        attr = getattr(self.inner, name)
        if name != "find_customer" or self.looked.is_set():
            return attr

        def find(*args: object, **kwargs: object) -> object:
            found = attr(*args, **kwargs)
            self.looked.set()
            assert self.go.wait(30), "never let go"
            return found

        return find


def test_a_worker_that_looked_before_another_ones_lost_create_looks_again_before_creating(
    lenient_world: World,
) -> None:
    """Lookup after doubt, where the books accept two customers under one name (FreshBooks, Wave):
    worker 2 finds no customer while worker 1's create is on its way; worker 1's create lands and
    its answer is lost; worker 2 then takes the write over and must look again (the intent shows
    an earlier attempt) instead of creating a second customer. (Books that refuse the name answer
    the second create with a duplicate, and the engine finds the first by e-mail.)"""
    world = lenient_world
    world.service.put_invoice(world.company, builders.invoice())
    world.books.lose_answer("customer")
    held = Held(world.books.adapter, "create_customer")
    late = FoundNothingYet(world.books.adapter)
    first: list[BaseException] = []
    second: list[str] = []

    def deliver_first() -> None:
        try:
            world.engine("w1", held).run(world.job())
        except TransientError as exc:
            first.append(exc)

    one = threading.Thread(target=deliver_first)
    two = threading.Thread(target=lambda: second.append(world.engine("w2", late).run(world.job()).outcome))
    one.start()
    try:
        assert held.entered.wait(30), "worker 1 reached the customer's create"
        two.start()
        assert late.looked.wait(30), "worker 2 looked for the customer"
    finally:
        held.released.set()
        one.join(30)
        late.go.set()
        two.join(30)
    assert len(first) == 1, "worker 1's answer was lost"
    assert second == [Outcome.SYNCED]
    assert world.books.counts("customer", "invoice") == (1, 1)


def test_an_item_named_as_another_is_written_once_after_a_lost_answer(lenient_world: World) -> None:
    """Books that keep two records under one name (FreshBooks, Wave): a second booksync item under
    an item's name gets a name of its own, so the lookup after its lost answer finds its record and
    not the first item's (which it cannot claim): created once, not again beside a namesake."""
    world = lenient_world
    world.service.put_invoice(world.company, builders.invoice())
    assert world.sync().outcome == Outcome.SYNCED
    world.service.put_item(world.company, builders.item("i-3", name="Drain cleaning", price="90.00"))
    lines = [{"item_id": "i-3", "quantity": "1", "unit_price": "90.00"}]
    world.service.put_invoice(world.company, builders.invoice("inv-2", lines=lines))
    world.books.lose_answer("item")
    with pytest.raises(TransientError):
        world.sync("inv-2")
    assert world.sync("inv-2").outcome == Outcome.SYNCED
    assert world.books.count("item") == 3, "the namesake's item was created twice"
    held = {world.link(DocumentKind.ITEM, doc_id).remote_id for doc_id in ("i-1", "i-3")}
    assert len(held) == 2 and world.link(DocumentKind.ITEM, "i-3").distinct_name
