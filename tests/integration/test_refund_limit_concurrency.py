"""A payment's refunds never add up to more than it, whatever requests run at the same time.

Two requests are interleaved deterministically: the rival runs to its end at the moment the first
one has read and checked the payment but not yet written (as two Lambdas can), over real tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.api.app import ApiServices
from booksync.documents import DocumentKind, Invoice, Payment, Refund, _Doc
from booksync.errors import ConcurrentChange, FieldProblem
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository, PutOutcome
from booksync.store.models import DocumentModel
from booksync.store.runs import RunRepository
from booksync.sync.records import CHECK_ATTEMPTS, DocumentService

from tests import builders
from tests.apigw import admin
from tests.fakes.integrations import fake_integrations
from tests.integration.test_api import Lambda
from tests.integration.test_invoice_sync_engine import COMPANY
from tests.integration.test_payments_and_refunds import refund, world

__all__ = ["world"]  # the fixture, shared with the engine tests


class RivalFirst(DocumentRepository):
    """Lets a rival request run to its end just before this request's step ``step`` on ``kind``:
    for a refund, its read of the payment's invoices (after the limit check, before the write);
    for a payment, its write (with its invoices); for a deletion ("delete"), its write. ``times``: how many of this request's attempts it does so."""

    def __init__(self, step: str, kind: DocumentKind, rival: Callable[[int], object], times: int = 1) -> None:
        self._step, self._kind, self._rival, self._left = step, kind, rival, times
        self.rivals_run = 0

    def _before(self, step: str, kind: DocumentKind) -> None:
        if (step, kind) == (self._step, self._kind) and self._left > 0:
            self._left -= 1
            self.rivals_run += 1
            self._rival(self.rivals_run)

    def get_many(
        self, company_id: str, kind: DocumentKind, doc_ids: Iterable[str]
    ) -> dict[str, DocumentModel]:
        self._before("get_many", kind)
        return super().get_many(company_id, kind, doc_ids)

    def put(self, company_id: str, kind: DocumentKind, doc: _Doc, **kw: Any) -> PutOutcome:
        self._before("put", kind)
        return super().put(company_id, kind, doc, **kw)

    def put_invoice(self, company_id: str, invoice: Invoice, **kw: Any) -> PutOutcome:
        self._before("put", DocumentKind.INVOICE)
        return super().put_invoice(company_id, invoice, **kw)

    def put_payment(self, payment: Payment, **kw: Any) -> PutOutcome:
        self._before("put", DocumentKind.PAYMENT)
        return super().put_payment(payment, **kw)

    def mark_deleted(self, row: DocumentModel, **kw: Any) -> DocumentModel:
        self._before("delete", DocumentKind(row.kind))
        return super().mark_deleted(row, **kw)


def service_over(documents: DocumentRepository, world: SimpleNamespace) -> DocumentService:
    return DocumentService(
        documents=documents, connections=ConnectionRepository(), runs=RunRepository(), queue=world.queue
    )


def refund_racing(world: SimpleNamespace, rival: Callable[[int], object], times: int = 1) -> DocumentService:
    """A service whose refunds let ``rival`` run between their limit check and their write."""
    return service_over(RivalFirst("get_many", DocumentKind.INVOICE, rival, times), world)


def paid(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))


def payment_row(world: SimpleNamespace) -> DocumentModel:
    row: DocumentModel = world.docs.get(COMPANY, DocumentKind.PAYMENT, "p-1")
    return row


def held(world: SimpleNamespace) -> dict[str, str]:
    amounts = payment_row(world).refund_amounts
    return dict(amounts.as_dict()) if amounts is not None else {}


def refunded_total(world: SimpleNamespace) -> Decimal:
    rows = world.docs.get_many(COMPANY, DocumentKind.REFUND, payment_row(world).refund_ids or ())
    return sum((Decimal(r.body["amount"]) for r in rows.values()), Decimal("0"))


def legacy_refund(world: SimpleNamespace, doc: Refund) -> None:
    """A refund as booksync stored it before the payment row kept its refunds' amounts."""
    world.docs.put(COMPANY, DocumentKind.REFUND, doc, now=1.0, pending=True)
    payment_row(world).update(actions=[DocumentModel.refund_ids.add({doc.id})])


# ---------------------------------------------------------------------- the race


@pytest.mark.parametrize("legacy", [False, True], ids=["payment", "payment-from-before"])
def test_two_refunds_checked_at_the_same_time_never_exceed_the_payment(
    world: SimpleNamespace, legacy: bool
) -> None:
    paid(world)
    if legacy:  # its first refund was stored before the amounts were kept on the payment
        legacy_refund(world, refund("r-0", "10.00"))
    racing = refund_racing(world, lambda _n: world.service.put_refund(COMPANY, refund("r-2", "50.00")))
    with pytest.raises(FieldProblem) as refused:
        racing.put_refund(COMPANY, refund("r-1", "60.00"))
    # The first request read "nothing (or 10.00) refunded", lost the write, read again: refused.
    assert refused.value.field == "amount"
    already = "60.00" if legacy else "50.00"
    assert f"({already} already refunded)" in refused.value.message
    assert world.docs.get(COMPANY, DocumentKind.REFUND, "r-1") is None, "nothing stored"
    assert refunded_total(world) == Decimal(already)
    assert held(world) == ({"r-0": "10.00", "r-2": "50.00"} if legacy else {"r-2": "50.00"})
    assert payment_row(world).refund_ids == ({"r-0", "r-2"} if legacy else {"r-2"})


def test_a_refund_that_still_fits_after_the_rival_is_recorded_on_the_second_read(
    world: SimpleNamespace,
) -> None:
    paid(world)
    racing = refund_racing(world, lambda _n: world.service.put_refund(COMPANY, refund("r-2", "60.00")))
    accepted = racing.put_refund(COMPANY, refund("r-1", "40.00"))
    assert accepted.created and accepted.pending
    assert held(world) == {"r-1": "40.00", "r-2": "60.00"} and refunded_total(world) == Decimal("100.00")
    assert payment_row(world).refunds_version == 2


def test_the_same_refund_sent_twice_at_the_same_time_is_recorded_once(world: SimpleNamespace) -> None:
    paid(world)
    racing = refund_racing(world, lambda _n: world.service.put_refund(COMPANY, refund("r-1", "60.00")))
    accepted = racing.put_refund(COMPANY, refund("r-1", "60.00"))
    assert not accepted.created and not accepted.changed, "the rival recorded it; this one finds it"
    assert held(world) == {"r-1": "60.00"} and payment_row(world).refunds_version == 1
    again = world.service.put_refund(COMPANY, refund("r-1", "60.00"))
    assert not again.changed and payment_row(world).refunds_version == 1, "a retry writes nothing"


def test_a_payment_lowered_while_a_refund_is_recorded_is_refused(world: SimpleNamespace) -> None:
    paid(world)
    world.service.put_refund(COMPANY, refund("r-1", "10.00"))
    racing = service_over(
        RivalFirst(
            "put",
            DocumentKind.PAYMENT,
            lambda _n: world.service.put_refund(COMPANY, refund("r-2", "80.00")),
        ),
        world,
    )
    with pytest.raises(FieldProblem) as refused:
        racing.put_payment(COMPANY, builders.payment("p-1", "50.00"))
    assert refused.value.field == "amount" and "already add up to 90.00" in refused.value.message
    assert payment_row(world).body["amount"] == "100.00"
    assert refunded_total(world) == Decimal("90.00")


def test_a_refund_checked_against_a_payment_lowered_meanwhile_is_refused(world: SimpleNamespace) -> None:
    paid(world)
    racing = refund_racing(
        world, lambda _n: world.service.put_payment(COMPANY, builders.payment("p-1", "50.00"))
    )
    with pytest.raises(FieldProblem) as refused:
        racing.put_refund(COMPANY, refund("r-1", "80.00"))
    assert "more than the payment's 50.00" in refused.value.message
    assert held(world) == {} and world.docs.get(COMPANY, DocumentKind.REFUND, "r-1") is None


def test_a_payment_others_keep_changing_ends_in_a_conflict_with_nothing_saved(
    world: SimpleNamespace,
) -> None:
    paid(world)

    def another_refund(n: int) -> object:
        return world.service.put_refund(COMPANY, refund(f"r-rival-{n}", "1.00"))

    racing = refund_racing(world, another_refund, times=CHECK_ATTEMPTS)
    with pytest.raises(ConcurrentChange) as conflict:
        racing.put_refund(COMPANY, refund("r-1", "10.00"))
    assert "Payment p-1 or its refunds changed while this request was being checked" in conflict.value.message
    assert conflict.value.fix.startswith("Send the same request again")
    assert world.docs.get(COMPANY, DocumentKind.REFUND, "r-1") is None
    assert set(held(world)) == {f"r-rival-{n}" for n in range(1, CHECK_ATTEMPTS + 1)}
    assert world.service.put_refund(COMPANY, refund("r-1", "10.00")).created, "sent again, it is recorded"


def test_the_api_answers_a_lasting_conflict_with_a_409_problem(world: SimpleNamespace, kms_key: str) -> None:
    paid(world)

    def another_refund(n: int) -> object:
        return world.service.put_refund(COMPANY, refund(f"r-rival-{n}", "1.00"))

    api = Lambda(
        ApiServices(
            documents=refund_racing(world, another_refund, times=CHECK_ATTEMPTS),
            integrations=fake_integrations(ConnectionRepository(), world.docs, kms_key),
            runs=RunRepository(),
        )
    )
    body = refund("r-1", "10.00").model_dump(mode="json")
    status, problem, headers = api("PUT", "/refunds/r-1", body, claims=admin())
    assert status == 409, problem
    assert problem["type"].endswith("/concurrent_change") and "nothing was saved" in problem["detail"]
    assert problem["fix"].startswith("Send the same request again")
    assert headers.get("content-type") == "application/problem+json" and problem["status"] == 409


# ---------------------------------------------------------------------- one request at a time


def test_an_edited_refund_replaces_what_it_held(world: SimpleNamespace) -> None:
    paid(world)
    world.service.put_refund(COMPANY, refund("r-1", "60.00"))
    world.service.put_refund(COMPANY, refund("r-2", "30.00"))
    assert world.service.put_refund(COMPANY, refund("r-1", "70.00")).changed, "70 + 30 fits in 100"
    with pytest.raises(FieldProblem) as refused:
        world.service.put_refund(COMPANY, refund("r-1", "70.01"))
    assert refused.value.fix == "Refund at most 70.00 on this payment."
    assert world.docs.get(COMPANY, DocumentKind.REFUND, "r-1").body["amount"] == "70.00"
    world.service.put_refund(COMPANY, refund("r-1", "10.00"))
    assert world.service.put_refund(COMPANY, refund("r-2", "90.00")).changed, "what r-1 gave back is free"
    assert held(world) == {"r-1": "10.00", "r-2": "90.00"} and refunded_total(world) == Decimal("100.00")


def test_a_payment_is_refused_below_its_refunds_and_accepted_down_to_them(world: SimpleNamespace) -> None:
    paid(world)
    world.service.put_refund(COMPANY, refund("r-1", "60.00"))
    with pytest.raises(FieldProblem):
        world.service.put_payment(COMPANY, builders.payment("p-1", "59.99"))
    assert world.service.put_payment(COMPANY, builders.payment("p-1", "60.00")).changed
    assert held(world) == {"r-1": "60.00"}, "editing the payment keeps its refunds' amounts"


def test_a_payment_from_before_keeps_its_refunds_and_stores_them_on_its_next_refund(
    world: SimpleNamespace,
) -> None:
    paid(world)
    legacy_refund(world, refund("r-1", "60.00"))
    assert payment_row(world).refunds_version is None and payment_row(world).refund_amounts is None
    with pytest.raises(FieldProblem) as refused:
        world.service.put_payment(COMPANY, builders.payment("p-1", "59.99"))
    assert "already add up to 60.00" in refused.value.message, "counted from its refund rows"
    with pytest.raises(FieldProblem):
        world.service.put_refund(COMPANY, refund("r-2", "40.01"))
    assert payment_row(world).refunds_version is None, "a refusal migrates nothing"
    assert not world.service.put_refund(COMPANY, refund("r-1", "60.00")).changed
    assert payment_row(world).refunds_version is None, "an identical re-send neither"
    assert world.service.put_refund(COMPANY, refund("r-2", "40.00")).created
    assert held(world) == {"r-1": "60.00", "r-2": "40.00"} and payment_row(world).refunds_version == 1
