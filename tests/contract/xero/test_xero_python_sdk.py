"""The official ``xero-python`` SDK pointed at the Xero sandbox (``base_url=``, as Xero's own CI
runs it against a mock): it connects, refreshes through the sandbox's identity service, creates a
contact and an authorised invoice with Idempotency-Keys, pays it, and reads them back as its own
models, so the sandbox is held to the real client as well as to the spec."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from xero_python.accounting import Account as XeroAccount
from xero_python.accounting import AccountingApi, Contact, Contacts, Invoice, Invoices, LineItem, Payment
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import AccountingBadRequestException, NotFoundException, RateLimitException
from xero_python.identity import IdentityApi

from local.sandboxes.xero.server import XeroSandbox
from local.sandboxes.xero.testing import XeroControl

pytestmark = pytest.mark.contract

CLIENT_ID, SECRET, REDIRECT = "xero-sdk-app", "xero-sdk-secret", "https://app.test/cb"


class Sdk:
    def __init__(self, sandbox: XeroSandbox, control: XeroControl) -> None:
        tokens = control.connect(
            CLIENT_ID, SECRET, REDIRECT, tenants=[control.organisations()[0]["tenant_id"]]
        )
        self.token: dict[str, Any] = {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "token_type": "Bearer",
            "expires_in": 1800,
            "expires_at": time.time() + 1800,
            "scope": ["offline_access", "accounting.contacts", "accounting.invoices", "accounting.payments"],
        }
        self.client = ApiClient(
            Configuration(oauth2_token=OAuth2Token(client_id=CLIENT_ID, client_secret=SECRET)),
            oauth2_token_getter=lambda: self.token,
            oauth2_token_saver=self._save,
        )
        self.accounting = AccountingApi(self.client, base_url=f"{sandbox.url}/api.xro/2.0")
        self.identity = IdentityApi(self.client, base_url=sandbox.url)
        self.tenant = tokens.tenant_ids[0]
        self.control = control

    def _save(self, token: dict[str, Any]) -> None:
        self.token = token


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sdk]:
    with XeroSandbox() as sandbox, XeroControl(sandbox.url) as control:
        control.register_client(CLIENT_ID, SECRET, [REDIRECT])
        monkeypatch.setattr(TokenApi, "refresh_token_url", f"{sandbox.url}/connect/token")
        monkeypatch.setattr(TokenApi, "revoke_token_url", f"{sandbox.url}/connect/revocation")
        yield Sdk(sandbox, control)


def test_the_sdk_creates_a_contact_and_an_invoice_and_reads_them_back(sdk: Sdk) -> None:
    [connection] = sdk.identity.get_connections()
    assert (connection.tenant_id, connection.tenant_type) == (sdk.tenant, "ORGANISATION")
    created = sdk.accounting.create_contacts(
        sdk.tenant,
        Contacts(contacts=[Contact(name="Ada Lovelace", contact_number="bk-42", email_address="ada@x.test")]),
        summarize_errors=False,
        idempotency_key="contact-bk-42",
    )
    contact = created.contacts[0]
    assert contact.contact_id and contact.has_validation_errors is False
    invoice = Invoice(
        type="ACCREC",
        contact=Contact(contact_id=contact.contact_id),
        line_items=[
            LineItem(description="Tires", quantity=2, unit_amount=20, account_code="200", tax_type="NONE")
        ],
        date=date(2026, 12, 1),
        due_date=date(2026, 12, 31),
        reference="booksync bk-inv-1",
        status="AUTHORISED",
    )
    made = sdk.accounting.create_invoices(
        sdk.tenant, Invoices(invoices=[invoice]), idempotency_key="invoice-bk-inv-1"
    )
    invoice_id = made.invoices[0].invoice_id

    read_contact = sdk.accounting.get_contact(sdk.tenant, contact.contact_id).contacts[0]
    assert (read_contact.name, read_contact.contact_number) == ("Ada Lovelace", "bk-42")
    by_number = sdk.accounting.get_contacts(sdk.tenant, where='ContactNumber=="bk-42"').contacts
    assert [c.contact_id for c in by_number] == [contact.contact_id]
    read = sdk.accounting.get_invoice(sdk.tenant, invoice_id).invoices[0]
    assert (read.status, read.total, read.amount_due) == ("AUTHORISED", Decimal("40.0"), Decimal("40.0"))
    assert read.date == date(2026, 12, 1) and read.due_date == date(2026, 12, 31)
    assert read.contact.contact_id == contact.contact_id and read.reference == "booksync bk-inv-1"

    sdk.accounting.create_payment(
        sdk.tenant,
        Payment(
            invoice=Invoice(invoice_id=invoice_id),
            account=XeroAccount(code="090"),
            amount=40,
            date=date(2026, 12, 2),
        ),
        idempotency_key="payment-bk-inv-1",
    )
    paid = sdk.accounting.get_invoice(sdk.tenant, invoice_id).invoices[0]
    assert (paid.status, paid.amount_paid, paid.amount_due) == ("PAID", Decimal("40.0"), Decimal("0.0"))


def test_the_sdk_sees_xeros_errors_and_refreshes_through_the_sandbox(sdk: Sdk) -> None:
    sdk.accounting.create_contacts(sdk.tenant, Contacts(contacts=[Contact(name="Taken")]))
    with pytest.raises(AccountingBadRequestException) as refused:
        sdk.accounting.create_contacts(sdk.tenant, Contacts(contacts=[Contact(name="Taken")]))
    assert b"already assigned to another contact" in refused.value.body
    with pytest.raises(NotFoundException):
        sdk.accounting.get_invoice(sdk.tenant, "00000000-0000-0000-0000-000000000000")
    # The SDK retries a 429 by itself (after Retry-After); one that lasts reaches the caller.
    sdk.control.add_fault("http_429", path="/api.xro/2.0/Contacts", retry_after=0)
    with pytest.raises(RateLimitException) as limited:
        sdk.accounting.get_contacts(sdk.tenant)
    assert limited.value.rate_limit == "minute"
    sdk.control.clear_faults()
    before = sdk.token["refresh_token"]
    sdk.client.refresh_oauth2_token()
    assert sdk.token["refresh_token"] != before
    assert sdk.accounting.get_contacts(sdk.tenant).contacts[0].name == "Taken"
