"""The Xero adapter against the Xero sandbox, where Xero's records end or refuse: an invoice a
user voided is never linked again (its next generation carries the same number and marker), and
a write of one record Xero refuses is that refusal, however Xero is asked to answer it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
from booksync.documents import Refund
from booksync.errors import DuplicateName, Rejected, TransientError
from booksync.providers.http import HttpClient
from booksync.providers.port import RefundRefs
from booksync.providers.xero.adapter import XeroProvider
from booksync.providers.xero.client import XeroClient
from booksync.providers.xero.oauth import LABEL, PROVIDER

from tests import builders
from tests.integration.test_xero_adapter_sandbox import Org, _linked, _paid, control, org, sandbox

__all__ = ["control", "org", "sandbox"]  # the adapter suite's fixtures, used here as they are


def _live(org: Org) -> list[dict[str, object]]:
    return [i for i in org.ledger("invoices") if i["Status"] not in ("VOIDED", "DELETED")]


def test_an_invoice_voided_in_xero_is_never_found_again_as_the_documents_invoice(org: Org) -> None:
    """A user voids the synced invoice in Xero. The lookups booksync runs before a create and
    after an uncertain one (same InvoiceNumber, same marker in every generation) never take the
    voided invoice for the document's; a create of it again (answer lost, then retried past the
    Idempotency-Key's minutes) is Xero's refusal of the number, which a voided invoice keeps in
    Xero, never a link to the dead one."""
    invoice, refs = _linked(org)
    first = org.adapter.create_invoice(invoice, refs, idempotency_key="k-inv-1")
    org.adapter.void_invoice(first, idempotency_key="k-user-void")  # as the user voids it in Xero

    assert org.adapter.find_invoice(invoice, refs.marker) is None
    org.fault("commit_then_reset", entity="invoices", operation="create", times=1)
    with pytest.raises(TransientError) as lost:
        org.adapter.create_invoice(invoice, refs, idempotency_key="k-inv-2")
    assert lost.value.uncertain
    org.control.advance(7 * 60)

    assert org.adapter.find_invoice(invoice, refs.marker) is None
    with pytest.raises(Rejected) as refused:
        org.adapter.create_invoice(invoice, refs, idempotency_key="k-inv-2")
    assert "must be unique" in refused.value.message
    assert "voided or deleted" in refused.value.fix and "new number" in refused.value.fix
    (voided,) = org.ledger("invoices")
    assert voided["Status"] == "VOIDED" and not _live(org)


def test_a_single_write_asks_xero_for_a_summarized_refusal(org: Org) -> None:
    org.adapter.create_customer(builders.customer("c-9"), idempotency_key="k-9")
    org.control.clear_requests()

    with pytest.raises(DuplicateName):
        org.adapter.create_customer(builders.customer(), idempotency_key="k-1")

    (sent,) = [r for r in org.control.requests(org.tenant) if r["method"] == "PUT"]
    assert (sent["status"], sent["summarizeErrors"]) == (400, "true")


class ElementAnswers(httpx.HTTPTransport):
    """Xero answering each element for itself (``summarizeErrors=false``, the OpenAPI text's
    declared default): a refused record comes back 200, marked ERROR with its ValidationErrors."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_set_param("summarizeErrors", "false")
        return super().handle_request(request)


def test_a_record_refused_in_an_answer_of_200_is_the_refusal_not_a_record_made(org: Org) -> None:
    org.adapter.create_customer(builders.customer("c-9"), idempotency_key="k-9")
    http = HttpClient(provider=PROVIDER, label=LABEL, transport=ElementAnswers())
    client = XeroClient(
        tenant_id=org.tenant, tokens=org.tokens, http=http, api_base_url=org.settings.api_base_url
    )
    adapter = XeroProvider(client)

    with pytest.raises(DuplicateName) as refused:
        adapter.create_customer(builders.customer(), idempotency_key="k-1")

    assert "already assigned to another contact" in refused.value.message
    assert len(org.ledger("contacts")) == 1
    answered = [r for r in org.control.requests(org.tenant) if r["method"] == "PUT"][-1]
    assert (answered["status"], answered["summarizeErrors"]) == (200, "false")


def _note_only(org: Org) -> tuple[Refund, RefundRefs, str, str]:
    """A paid invoice, and its refund of 50.00 whose credit note Xero made while the payment out
    of it failed: the note holding its whole credit, and the bank account refunds come out of."""
    payment, pay, bank = _paid(org)
    org.adapter.create_payment(payment, pay, idempotency_key="k-p")
    refund = Refund(id="r-1", payment_id="p-1", amount=Decimal("50.00"), date=date(2026, 11, 4))
    refs = RefundRefs(
        pay.customer_id, "booksync:co-1:refund:r-1", payment.method, "USD", from_account_id=bank
    )
    org.fault("http_500", entity="payments", operation="create", times=9)
    with pytest.raises(TransientError):
        org.adapter.create_refund(refund, refs, idempotency_key="k-r")
    org.control.clear_faults()
    (note,) = org.ledger("credit_notes")
    return refund, refs, str(note["CreditNoteID"]), bank


def _out_of(org: Org, note_id: str) -> list[Decimal]:
    """The payments out of the credit note, as Xero keeps them (live ones)."""
    return [
        Decimal(str(p["Amount"]))
        for p in org.ledger("payments")
        if p.get("CreditNote", {}).get("CreditNoteID") == note_id and p["Status"] != "DELETED"
    ]


def test_a_refunds_note_found_again_with_part_of_its_credit_applied_pays_out_what_is_left(org: Org) -> None:
    """A user applied 20.00 of the note's credit to another invoice in Xero before booksync paid
    it out: the 30.00 left is paid out (Xero refuses more), and the refund is in the books."""
    refund, refs, note_id, _ = _note_only(org)
    client = org.adapter._client
    (contact,) = org.ledger("contacts")
    other = client.create(
        "Invoices",
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact["ContactID"]},
            "Date": "2026-11-04",
            "DueDate": "2026-11-30",
            "Status": "AUTHORISED",
            "LineAmountTypes": "NoTax",
            "LineItems": [
                {"Description": "Typed in Xero", "Quantity": 1, "UnitAmount": 80, "AccountCode": "200"}
            ],
        },
        idempotency_key="user-invoice",
    )
    client.put_under(
        "CreditNotes",
        note_id,
        "Allocations",
        {"Invoice": {"InvoiceID": other["InvoiceID"]}, "Amount": Decimal("20.00"), "Date": "2026-11-04"},
        idempotency_key="user-allocation",
    )
    assert org.adapter.find_refund(refund, refs) is None, "credit left, none of it paid out by booksync"

    done = org.adapter.create_refund(refund, refs, idempotency_key="k-r2")

    (note,) = org.ledger("credit_notes")
    assert (done.id, note["Status"], Decimal(str(note["RemainingCredit"]))) == (note_id, "PAID", 0)
    assert _out_of(org, note_id) == [Decimal("30.00")]
    assert org.adapter.find_refund(refund, refs) == done


def test_a_refund_paid_out_whose_answer_was_lost_is_not_paid_again_when_credit_comes_back(org: Org) -> None:
    """booksync's payment out of the note (the 30.00 a user's own 20.00 left) commits, its
    answer lost; the user then deletes their payment, so 20.00 of credit comes back to the note
    before booksync looks again: the refund is found paid out, and nothing is paid twice."""
    refund, refs, note_id, bank = _note_only(org)
    client = org.adapter._client
    by_hand = client.create(
        "Payments",
        {"CreditNote": {"CreditNoteID": note_id}, "Account": {"AccountID": bank}, "Amount": Decimal("20.00")},
        idempotency_key="user-payment",
    )
    org.fault("commit_then_reset", entity="payments", operation="create", times=1)
    with pytest.raises(TransientError):
        org.adapter.create_refund(refund, refs, idempotency_key="k-r2")
    org.control.advance(7 * 60)  # past the Idempotency-Key's 6 minutes: only the lookups can tell
    client.update("Payments", by_hand["PaymentID"], {"Status": "DELETED"}, idempotency_key="user-delete")

    found = org.adapter.find_refund(refund, refs)
    again = org.adapter.create_refund(refund, refs, idempotency_key="k-r2")

    assert found is not None and found.id == again.id == note_id
    assert _out_of(org, note_id) == [Decimal("30.00")], "booksync's payment out, made once"
