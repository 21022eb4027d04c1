"""Payment (Finance.xsd): money received, applied to invoices by linked lines."""

from __future__ import annotations

import copy
from collections import defaultdict
from decimal import Decimal
from typing import Any, ClassVar

from local.sandboxes.quickbooks import errors, schema
from local.sandboxes.quickbooks.currency import same_currency, transaction_currency
from local.sandboxes.quickbooks.derived import ZERO, deposit_of, invoice_open_balance
from local.sandboxes.quickbooks.entities.base import (
    META_QUERY,
    EntityType,
    Q,
    WriteContext,
    check_text,
    require,
)
from local.sandboxes.quickbooks.entities.lists import account_by_sub_type
from local.sandboxes.quickbooks.model import Realm, Record, money, named_ref, ref_value, resolve_ref

DEPOSIT_ACCOUNT_TYPES = {"Bank", "Other Current Asset"}
_MONEY_FIELDS = ("TotalAmt", "CustomerRef", "DepositToAccountRef", "Line")


class PaymentType(EntityType):
    name: ClassVar[str] = "Payment"
    shape = schema.PAYMENT
    sequence = "txn"
    voidable = True
    deletable = True
    queryable: ClassVar[dict[str, Q]] = {
        "Id": Q.ID,
        "TxnDate": Q.DATE,
        "CustomerRef": Q.REF,
        "TotalAmt": Q.DEC,
        "PaymentRefNum": Q.STR,
        **META_QUERY,
    }

    def prepare(self, ctx: WriteContext, data: dict[str, Any], existing: Record | None) -> dict[str, Any]:
        realm = ctx.realm
        customer = resolve_ref(realm, "Customer", require(data, "CustomerRef"), "CustomerRef")
        total = money(require(data, "TotalAmt"))
        if total < 0:
            raise errors.business("A payment amount can't be negative.", element="TotalAmt")
        for element, maximum in (("PaymentRefNum", 21), ("DocNumber", 21), ("PrivateNote", 4000)):
            check_text(data, element, maximum)
        currency = transaction_currency(realm, data, existing, customer)
        lines = _applied_lines(realm, customer, currency["value"], data.get("Line", []), existing)
        applied = sum((line["Amount"] for line in lines), ZERO)
        if applied > total:
            raise errors.business(
                "The amount applied to invoices exceeds the payment amount.", element="Line"
            )
        stored = {
            **data,
            "CustomerRef": named_ref(customer, "DisplayName"),
            "TotalAmt": total,
            "Line": lines,
            "UnappliedAmt": total - applied,
            "DepositToAccountRef": _deposit_account(realm, data.get("DepositToAccountRef")),
            "TxnDate": data.get("TxnDate") or ctx.today.isoformat(),
            "ProcessPayment": data.get("ProcessPayment", False),
            "CurrencyRef": currency,
        }
        if "PaymentMethodRef" in data:
            method = resolve_ref(realm, "PaymentMethod", data["PaymentMethodRef"], "PaymentMethodRef")
            stored["PaymentMethodRef"] = named_ref(method, "Name")
        return stored

    def before_change(self, realm: Realm, record: Record, new_data: dict[str, Any]) -> None:
        if deposit_of(realm, record.id) and _money_changed(record.data, new_data):
            raise errors.deposited_transaction()

    def check_delete(self, realm: Realm, record: Record) -> None:
        if deposit_of(realm, record.id):
            raise errors.deposited_transaction()

    def void_data(self, realm: Realm, record: Record) -> dict[str, Any]:
        self.check_delete(realm, record)
        voided = copy.deepcopy(record.data)
        for line in voided["Line"]:
            line["Amount"] = ZERO
        voided.update(TotalAmt=ZERO, UnappliedAmt=ZERO, PrivateNote="Voided")
        return voided


def _deposit_account(realm: Realm, ref: object) -> dict[str, str]:
    """Undeposited Funds unless the payment names a bank (or other current asset) account."""
    if ref is None:
        return named_ref(account_by_sub_type(realm, "UndepositedFunds"), "Name")
    account = resolve_ref(realm, "Account", ref, "DepositToAccountRef")
    if account.data.get("AccountType") not in DEPOSIT_ACCOUNT_TYPES:
        raise errors.business("Select a bank account for this payment.", element="DepositToAccountRef")
    return named_ref(account, "Name")


def _applied_lines(
    realm: Realm, customer: Record, currency: str, lines: list[dict[str, Any]], existing: Record | None
) -> list[dict[str, Any]]:
    """Each line applies an amount to one of the customer's open invoices."""
    skip = existing.id if existing is not None else None
    per_invoice: dict[str, Decimal] = defaultdict(Decimal)
    result = []
    for line in lines:
        amount = money(require(line, "Amount"))
        links = require(line, "LinkedTxn")
        if len(links) != 1 or links[0].get("TxnType") != "Invoice":
            raise errors.business("A payment line must link exactly one invoice.", element="Line.LinkedTxn")
        invoice = _open_invoice(realm, customer, links[0])
        same_currency(currency, invoice)
        per_invoice[invoice.id] += amount
        if amount < 0 or per_invoice[invoice.id] > invoice_open_balance(realm, invoice, skip_payment=skip):
            raise errors.business(
                f"The amount applied to invoice {invoice.data['DocNumber']} exceeds its open balance.",
                element="Line.Amount",
            )
        result.append({"Amount": amount, "LinkedTxn": [{"TxnId": invoice.id, "TxnType": "Invoice"}]})
    return result


def _open_invoice(realm: Realm, customer: Record, link: dict[str, Any]) -> Record:
    invoice = realm.get("Invoice", str(link.get("TxnId")))
    if invoice is None:
        raise errors.invalid_reference("Line.LinkedTxn.TxnId")
    if invoice.voided:
        raise errors.business("A payment can't be applied to a voided invoice.", element="Line.LinkedTxn")
    if ref_value(invoice.data.get("CustomerRef")) != customer.id:
        raise errors.business("The invoice belongs to another customer.", element="Line.LinkedTxn")
    return invoice


def _money_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def key(data: dict[str, Any]) -> tuple[object, ...]:
        return (
            data.get("TotalAmt"),
            ref_value(data.get("CustomerRef")),
            ref_value(data.get("DepositToAccountRef")),
            [(line.get("Amount"), line.get("LinkedTxn")) for line in data.get("Line", [])],
        )

    return key(old) != key(new)
