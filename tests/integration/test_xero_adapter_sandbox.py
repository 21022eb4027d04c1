"""The Xero adapter against the Xero sandbox (local/sandboxes/xero), as booksync's declaration
builds it: contacts found by ContactNumber, item codes shortened unique, invoice tax modes, the
Idempotency-Key answering a retry after a committed write whose answer was lost, a name another
contact holds, a tenant no longer connected, and the day's limit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from booksync.documents import Invoice, Payment, Refund
from booksync.errors import ConnectionDown, DailyLimitReached, DuplicateName, Rejected, TransientError
from booksync.providers.port import AccountKind, InvoiceRefs, ItemRefs, PaymentRefs, RefundRefs, TokenSet
from booksync.providers.registry import declaration
from booksync.providers.xero.adapter import XeroProvider
from booksync.providers.xero.oauth import XeroOAuth
from booksync.settings import XeroSettings

from local.sandboxes.kit.oauth import ClientApp
from local.sandboxes.xero.config import XeroConfig
from local.sandboxes.xero.server import XeroSandbox
from local.sandboxes.xero.testing import SCOPES, XeroControl
from tests import builders
from tests.lambda_env import xero_environment

CLIENT_ID, CLIENT_SECRET = "xero-adapter-app", "xero-adapter-secret"
REDIRECT = "https://booksync.test/oauth/xero/callback"


class Tokens:
    """The connection's tokens: one refresh after a rejection, as booksync's token source does."""

    def __init__(self, oauth: XeroOAuth, tokens: TokenSet) -> None:
        self._oauth = oauth
        self._tokens = tokens
        self.refreshes = 0

    def access_token(self) -> str:
        return self._tokens.access_token

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        assert self._tokens.refresh_token is not None
        self._tokens = self._oauth.refresh(self._tokens.refresh_token)
        self.refreshes += 1
        return self._tokens.access_token


@pytest.fixture(scope="module")
def sandbox() -> Iterator[XeroSandbox]:
    config = XeroConfig(clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT])})
    server = XeroSandbox(config=config, organisations=("Adapter Ltd",)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def control(sandbox: XeroSandbox) -> Iterator[XeroControl]:
    with XeroControl(sandbox.url) as client:
        client.call("POST", "/reset", {})
        client.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT])
        yield client
        client.clear_faults()


def settings(url: str) -> XeroSettings:
    return XeroSettings.model_validate(
        {**xero_environment(url, CLIENT_ID, CLIENT_SECRET), "XERO_SCOPES": SCOPES}
    )


class Org:
    def __init__(self, sandbox: XeroSandbox, control: XeroControl) -> None:
        self.control = control
        self.settings = settings(sandbox.url)
        oauth = XeroOAuth.from_settings(self.settings)
        code = control.consent(CLIENT_ID, REDIRECT)["code"]
        tokens = oauth.exchange_code(code=code, redirect_uri=REDIRECT)
        (organisation,) = oauth.list_organisations(tokens)
        self.tenant = organisation.id
        self.connection = organisation.ids["connection"]
        self.tokens = Tokens(oauth, tokens)
        build = declaration("xero").builders.adapter
        assert build is not None
        adapter = build(self.settings, self.tenant, self.tokens, None)
        assert isinstance(adapter, XeroProvider)
        self.adapter = adapter

    def ledger(self, kind: str) -> list[dict[str, Any]]:
        return self.control.ledger(self.tenant)[kind]

    def account(self, code: str) -> str:
        return next(a["AccountID"] for a in self.ledger("accounts") if a.get("Code") == code)

    def fault(self, action: str, **match: object) -> None:
        self.control.add_fault(action, realm=self.tenant, **match)


@pytest.fixture
def org(sandbox: XeroSandbox, control: XeroControl) -> Org:
    return Org(sandbox, control)


def _invoice(**kw: Any) -> Invoice:
    return builders.invoice(**kw)


def _linked(org: Org, invoice: Invoice | None = None) -> tuple[Invoice, InvoiceRefs]:
    adapter = org.adapter
    sales = ItemRefs(org.account("200"))
    customer = adapter.create_customer(builders.customer(), idempotency_key="c-1")
    one = adapter.create_item(builders.item("i-1"), sales, idempotency_key="i-1")
    two = adapter.create_item(
        builders.item("i-2", "Call-out fee", "80.00", taxable=False), sales, idempotency_key="i-2"
    )
    invoice = invoice or _invoice()
    return invoice, InvoiceRefs(customer.id, {"i-1": one.id, "i-2": two.id}, "booksync:co-1:invoice:inv-1")


def test_a_customer_is_found_by_the_contact_number_carrying_its_id(org: Org) -> None:
    adapter = org.adapter
    created = adapter.create_customer(builders.customer(), idempotency_key="k-c-1")
    renamed = builders.customer(display_name="Augusta Ada King")  # renamed in booksync since

    found = adapter.find_customer(renamed)

    assert found is not None and found.id == created.id and found.version is None
    (contact,) = org.ledger("contacts")
    assert contact["ContactNumber"] == "c-1"
    assert adapter.find_customer(builders.customer("c-2", display_name="Someone Else")) is None


def test_a_name_another_contact_holds_is_refused_as_a_duplicate_name_and_a_namesake_is_not_taken(
    org: Org,
) -> None:
    adapter = org.adapter
    # Another booksync customer, the same person by name and mailbox (a duplicate in the app).
    adapter.create_customer(builders.customer("c-9"), idempotency_key="k-9")

    with pytest.raises(DuplicateName) as refused:
        adapter.create_customer(builders.customer(), idempotency_key="k-1")

    assert "already assigned to another contact" in refused.value.message
    # The namesake carries another customer's number: not ours, whatever the name says.
    assert adapter.find_customer(builders.customer()) is None
    distinct = adapter.distinct(builders.customer())
    created = adapter.create_customer(distinct, idempotency_key="k-1b")
    assert created.name is not None and created.name.startswith("Ada Lovelace (")
    assert adapter.find_customer(distinct) is not None


def test_a_contact_typed_in_under_the_customers_name_is_linked_when_it_surely_is_them(org: Org) -> None:
    client = org.adapter._client  # as a person typed it in Xero: no ContactNumber
    typed = client.create(
        "Contacts", {"Name": "Ada Lovelace", "EmailAddress": "ada@example.com"}, idempotency_key="t"
    )

    found = org.adapter.find_customer(builders.customer())

    assert found is not None and found.id == typed["ContactID"]


def test_a_contact_typed_in_another_letter_case_is_the_namesake_xero_refuses_and_is_linked(org: Org) -> None:
    """Xero refuses a second contact whose name differs only in letter case: the lookup by name
    finds it as Xero matches names (searchTerm, case-insensitive), so it is linked, not refused."""
    client = org.adapter._client
    typed = client.create(
        "Contacts", {"Name": "ada LOVELACE", "EmailAddress": "ada@example.com"}, idempotency_key="t"
    )
    with pytest.raises(DuplicateName):
        org.adapter.create_customer(builders.customer(), idempotency_key="k-1")

    found = org.adapter.find_customer(builders.customer())

    assert found is not None and found.id == typed["ContactID"]


def test_item_codes_are_shortened_unique_and_names_cut_to_xeros_limits(org: Org) -> None:
    adapter = org.adapter
    sales = ItemRefs(org.account("200"))
    long_name = "Hydro-jetting of main sewer line, per hour of work on site"
    first = adapter.create_item(builders.item("i-1", long_name), sales, idempotency_key="k-i-1")
    second = adapter.create_item(builders.item("i-2", long_name + " (night)"), sales, idempotency_key="k-i-2")

    codes = {i["ItemID"]: i["Code"] for i in org.ledger("items")}
    assert len(codes[first.id]) <= 30 and len(codes[second.id]) <= 30
    assert codes[first.id] != codes[second.id]
    assert all(len(i["Name"]) <= 50 for i in org.ledger("items"))
    assert adapter.find_item(builders.item("i-1", long_name)) == first
    sku = adapter.create_item(builders.item("i-3", "Valve", sku="VLV-100"), sales, idempotency_key="k-i-3")
    assert codes.get(sku.id) is None and {i["Code"] for i in org.ledger("items")} >= {"VLV-100"}
    (stored,) = (i for i in org.ledger("items") if i["ItemID"] == first.id)
    assert stored["SalesDetails"]["AccountCode"] == "200"


def test_an_invoice_without_tax_is_no_tax_and_approved_with_its_number_and_marker(org: Org) -> None:
    invoice, refs = _linked(org)

    remote = org.adapter.create_invoice(invoice, refs, idempotency_key="k-inv")

    (stored,) = org.ledger("invoices")
    assert (stored["Status"], stored["Type"], stored["LineAmountTypes"]) == ("AUTHORISED", "ACCREC", "NoTax")
    assert stored["InvoiceNumber"] == "INV-1" and stored["Reference"] == refs.marker
    assert Decimal(str(stored["Total"])) == invoice.total == remote.total == Decimal("380.00")
    assert remote.version is None
    assert org.adapter.find_invoice(invoice, refs.marker) == remote
    assert org.adapter.find_invoice(invoice, refs.marker + "0") is None


def test_an_invoice_with_tax_and_a_discount_is_exclusive_and_totals_as_booksync(org: Org) -> None:
    org.adapter._sales_tax_type = "OUTPUT"  # the sandbox's 10% sales tax
    taxed = _invoice(tax_rate_percent=Decimal("10"), discount={"kind": "percent", "value": "10"})
    invoice, refs = _linked(org, taxed)

    remote = org.adapter.create_invoice(invoice, refs, idempotency_key="k-inv")

    (stored,) = org.ledger("invoices")
    assert stored["LineAmountTypes"] == "Exclusive"
    taxes = [line["TaxType"] for line in stored["LineItems"]]
    assert taxes == ["OUTPUT", "NONE"]  # the tax-exempt item's line bears none
    assert Decimal(str(stored["Total"])) == remote.total == invoice.total


def test_a_committed_create_whose_answer_was_lost_is_answered_by_its_idempotency_key(org: Org) -> None:
    invoice, refs = _linked(org)
    org.fault("commit_then_reset", entity="invoices", operation="create", times=1)
    with pytest.raises(TransientError) as lost:
        org.adapter.create_invoice(invoice, refs, idempotency_key="k-inv")
    assert lost.value.uncertain

    again = org.adapter.create_invoice(invoice, refs, idempotency_key="k-inv")

    assert len(org.ledger("invoices")) == 1
    assert again.id == org.ledger("invoices")[0]["InvoiceID"]
    replayed = [r for r in org.control.requests(org.tenant) if r.get("replayed")]
    assert replayed, "the second create was answered from the first, not made again"


def _paid(org: Org) -> tuple[Payment, PaymentRefs, str]:
    """An invoice of 380.00, and its payment's references into the bank account (090)."""
    invoice, refs = _linked(org)
    remote = org.adapter.create_invoice(invoice, refs, idempotency_key="k-inv")
    bank = org.account("090")
    pay = PaymentRefs(
        refs.customer_id, remote.id, "booksync:co-1:payment:p-1", "USD", deposit_account_id=bank
    )
    return Payment(id="p-1", invoice_id="inv-1", amount=Decimal("380.00"), date=date(2026, 11, 3)), pay, bank


def test_payments_cover_the_invoice_into_the_chosen_account_then_it_reads_paid(org: Org) -> None:
    payment, pay, _ = _paid(org)

    created = org.adapter.create_payment(payment, pay, idempotency_key="k-p")

    assert org.adapter.find_payment(payment, pay) == created
    (stored,) = org.ledger("invoices")
    assert stored["Status"] == "PAID"
    with pytest.raises(Rejected) as unset:
        org.adapter.create_payment(
            payment, PaymentRefs(pay.customer_id, pay.invoice_id, pay.marker, "USD"), idempotency_key="k-q"
        )
    assert "payments" in unset.value.fix and "settings" in unset.value.fix


@pytest.mark.parametrize("paid", ["100.00", "380.00"])  # part paid (AUTHORISED), all paid (PAID)
def test_an_edit_of_an_invoice_with_a_payment_is_refused_with_the_fix_and_lands_once_it_is_removed(
    org: Org, paid: str
) -> None:
    payment, pay, _ = _paid(org)
    created = org.adapter.create_payment(
        payment.model_copy(update={"amount": Decimal(paid)}), pay, idempotency_key="k-p"
    )
    invoice, refs = _linked(org)
    edited = _invoice(lines=[{"item_id": "i-1", "quantity": "3", "unit_price": "150.00"}])
    remote = org.adapter.get_invoice(pay.invoice_id)
    assert remote is not None

    with pytest.raises(Rejected) as refused:
        org.adapter.update_invoice(remote, edited, refs, idempotency_key="k-edit")

    assert type(refused.value) is Rejected  # a person acts: not retried, never a duplicate name
    assert "remove the payment in Xero" in refused.value.fix
    assert "record the change there yourself" in refused.value.fix
    assert Decimal(str(org.ledger("invoices")[0]["Total"])) == invoice.total  # nothing half-done
    # The payment removed in Xero, the same edit (kept in booksync, synced again) lands.
    org.adapter._client.update("Payments", created.id, {"Status": "DELETED"}, idempotency_key="k-del")
    again = org.adapter.update_invoice(remote, edited, refs, idempotency_key="k-edit-2")
    assert again.total == edited.total == Decimal("450.00")


def test_a_refund_is_a_credit_note_paid_out_once_whichever_answer_is_lost(org: Org) -> None:
    """Two writes (the credit note, the payment out of it), each committed with its answer lost
    and retried after Xero has forgotten its Idempotency-Key (6 minutes): one note, paid once."""
    payment, pay, bank = _paid(org)
    org.adapter.create_payment(payment, pay, idempotency_key="k-p")
    refund = Refund(
        id="r-1", payment_id="p-1", amount=Decimal("50.00"), date=date(2026, 11, 4), reason="Leak"
    )
    refund_refs = RefundRefs(
        pay.customer_id, "booksync:co-1:refund:r-1", payment.method, "USD", from_account_id=bank
    )
    for collection in ("creditnotes", "payments"):
        org.fault("commit_then_reset", entity=collection, operation="create", times=1)
        with pytest.raises(TransientError):
            org.adapter.create_refund(refund, refund_refs, idempotency_key="k-r")
        org.control.advance(7 * 60)  # past the key's 6 minutes: only the lookups can tell
    assert org.adapter.find_refund(refund, refund_refs) is not None, "paid out: found"

    assert org.adapter.find_refund(refund, refund_refs) == org.adapter.create_refund(
        refund, refund_refs, idempotency_key="k-r"
    )
    (note,) = org.ledger("credit_notes")
    assert (note["Type"], note["Status"], Decimal(str(note["RemainingCredit"]))) == (
        "ACCRECCREDIT",
        "PAID",
        0,
    )
    assert len([p for p in org.ledger("payments") if "CreditNote" in p]) == 1


def test_a_refund_whose_note_was_made_but_not_paid_out_is_not_found_and_is_finished(org: Org) -> None:
    payment, pay, bank = _paid(org)
    org.adapter.create_payment(payment, pay, idempotency_key="k-p")
    refund = Refund(id="r-1", payment_id="p-1", amount=Decimal("50.00"), date=date(2026, 11, 4))
    refund_refs = RefundRefs(
        pay.customer_id, "booksync:co-1:refund:r-1", payment.method, "USD", from_account_id=bank
    )
    org.fault("http_500", entity="payments", operation="create", times=9)  # the note only
    with pytest.raises(TransientError):
        org.adapter.create_refund(refund, refund_refs, idempotency_key="k-r")
    org.control.clear_faults()

    assert org.adapter.find_refund(refund, refund_refs) is None, "a note still holding its credit"
    finished = org.adapter.create_refund(refund, refund_refs, idempotency_key="k-r2")

    (note,) = org.ledger("credit_notes")
    assert finished.id == note["CreditNoteID"] and note["Status"] == "PAID"


def test_void_and_delete(org: Org) -> None:
    invoice, refs = _linked(org)
    remote = org.adapter.create_invoice(invoice, refs, idempotency_key="k-inv")

    voided = org.adapter.void_invoice(remote, idempotency_key="k-void")

    assert (org.ledger("invoices")[0]["Status"], voided.balance, voided.voided) == (
        "VOIDED",
        Decimal(0),
        True,
    )
    assert org.adapter.get_invoice(remote.id) == voided
    org.adapter.delete_invoice(remote, idempotency_key="k-del")  # already gone: nothing to do


def test_a_tenant_no_longer_connected_is_a_connection_down(org: Org) -> None:
    # The organisation's connection removed (DELETE /connections/{id}); the grant itself lives on.
    gone = httpx.delete(
        f"{org.settings.connections_url}/{org.connection}",
        headers={"authorization": f"Bearer {org.tokens.access_token()}"},
    )
    assert gone.status_code == 204

    with pytest.raises(ConnectionDown) as down:
        org.adapter.get_customer("00000000-0000-0000-0000-000000000000")

    assert "AuthenticationUnsuccessful" in down.value.message and "Reconnect" in down.value.fix


def test_a_spent_day_parks_the_work_with_when_it_resumes(org: Org, sandbox: XeroSandbox) -> None:
    sandbox.config.day_limit = 1
    try:
        org.adapter.list_accounts()  # the day's one call
        with pytest.raises(DailyLimitReached) as parked:
            org.adapter.company_currencies()
    finally:
        sandbox.config.day_limit = 5_000
    assert parked.value.retry_after > 3600 and "Daily limit" in parked.value.message
    assert len([r for r in org.control.requests(org.tenant) if r["status"] == 429]) == 1, "not retried"


def test_an_expired_token_is_refreshed_once_and_the_call_made(org: Org) -> None:
    org.control.call("POST", "/tokens/expire", {})

    assert org.adapter.company_currencies().home == "USD"
    assert org.tokens.refreshes == 1


def test_accounts_are_booksyncs_kinds_with_xeros_type_and_class_and_which_take_payments(org: Org) -> None:
    accounts = {a.name: a for a in org.adapter.list_accounts()}

    sales, bank, clearing = accounts["Sales"], accounts["Business Bank Account"], accounts["Clearing Account"]
    assert (sales.kind, sales.account_type, sales.sub_type) == (AccountKind.INCOME, "REVENUE", "REVENUE")
    assert accounts["Accounts Receivable"].kind is AccountKind.RECEIVABLE
    assert bank.kind is AccountKind.BANK and bank.takes_payments
    # A liability Xero lets take payments (EnablePaymentsToAccount); an income account does not.
    assert clearing.kind is AccountKind.LIABILITY and clearing.takes_payments and not sales.takes_payments
