"""Currency through the QuickBooks adapter against the sandbox (issue 10, item 4): the company's
currencies are read from Preferences, the currency is sent on every transaction, and what the
company cannot book is refused instead of being booked in the home currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from booksync.documents import Payment
from booksync.errors import Rejected
from booksync.providers.port import CompanyCurrencies, InvoiceRefs, ItemRefs, PaymentRefs

from local.sandboxes.quickbooks.control import SandboxControl
from tests.integration.test_quickbooks_adapter_sandbox import (
    Connected,
    ann,
    company,
    control,
    invoice_1001,
    oauth,
    pump,
    sandbox,
)

__all__ = ["company", "control", "oauth", "sandbox"]  # fixtures


def ledger_invoice(control: SandboxControl, realm: str) -> dict[str, object]:
    (invoice,) = control.ledger(realm)["entities"]["Invoice"]
    assert isinstance(invoice, dict)
    return invoice


def test_the_company_currencies_come_from_preferences(company: Connected, control: SandboxControl) -> None:
    provider = company.provider
    assert provider.company_currencies() == CompanyCurrencies("USD", multicurrency=False)
    control.set_currency(company.realm, multicurrency=True)
    assert provider.company_currencies() == CompanyCurrencies("USD", multicurrency=True)


def test_a_eur_invoice_is_never_booked_in_the_home_currency(
    company: Connected, control: SandboxControl
) -> None:
    """Before: no CurrencyRef was sent, so QuickBooks booked the EUR amounts as USD."""
    provider = company.provider
    customer = provider.create_customer(ann(), idempotency_key="c-1")
    item = provider.create_item(pump(), ItemRefs(company.income_account_id), idempotency_key="i-1")
    refs = InvoiceRefs(
        customer_id=customer.id, item_ids={"i-1": item.id}, marker="booksync:acme:invoice:inv-1"
    )
    with pytest.raises(Rejected, match="Multicurrency is off"):
        provider.create_invoice(invoice_1001(currency="EUR"), refs, idempotency_key="inv-1")
    assert not control.ledger(company.realm)["entities"].get("Invoice")
    provider.create_invoice(invoice_1001(), refs, idempotency_key="inv-1-usd")
    assert ledger_invoice(control, company.realm)["CurrencyRef"] == {
        "value": "USD",
        "name": "United States Dollar",
    }


def test_with_multicurrency_the_customer_invoice_and_payment_are_in_eur(
    company: Connected, control: SandboxControl
) -> None:
    control.set_currency(company.realm, multicurrency=True)
    provider = company.provider
    customer = provider.create_customer(ann(), idempotency_key="c-1", currency="EUR")
    assert customer.currency == "EUR"
    item = provider.create_item(pump(), ItemRefs(company.income_account_id), idempotency_key="i-1")
    refs = InvoiceRefs(
        customer_id=customer.id, item_ids={"i-1": item.id}, marker="booksync:acme:invoice:inv-1"
    )
    invoice = provider.create_invoice(invoice_1001(currency="EUR"), refs, idempotency_key="inv-1")
    assert ledger_invoice(control, company.realm)["CurrencyRef"]["value"] == "EUR"  # type: ignore[index]
    payment = Payment(id="p-1", invoice_id="inv-1", amount=Decimal("100.00"), date=date(2025, 3, 5))
    marker = "booksync:acme:payment:p-1"
    in_usd = PaymentRefs(customer_id=customer.id, invoice_id=invoice.id, marker=marker, currency="USD")
    with pytest.raises(Rejected, match="currency"):
        provider.create_payment(payment, in_usd, idempotency_key="p-1-usd")
    in_eur = PaymentRefs(customer_id=customer.id, invoice_id=invoice.id, marker=marker, currency="EUR")
    provider.create_payment(payment, in_eur, idempotency_key="p-1")
    (paid,) = control.ledger(company.realm)["entities"]["Payment"]
    assert paid["CurrencyRef"]["value"] == "EUR"
    assert provider.get_customer(customer.id).currency == "EUR"  # type: ignore[union-attr]
