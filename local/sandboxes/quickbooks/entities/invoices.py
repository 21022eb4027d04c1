"""Invoice (Finance.xsd): sales lines, a server-written subtotal line, discounts and balances."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from local.sandboxes.quickbooks import errors, schema
from local.sandboxes.quickbooks.currency import transaction_currency
from local.sandboxes.quickbooks.derived import ZERO, payment_applications
from local.sandboxes.quickbooks.entities.base import (
    META_QUERY,
    EntityType,
    Q,
    WriteContext,
    check_text,
    require,
)
from local.sandboxes.quickbooks.entities.lists import account_by_sub_type
from local.sandboxes.quickbooks.model import Realm, Record, money, named_ref, resolve_ref

DOC_NUMBER_MAX = 21
_DEFAULT_TERMS_DAYS = 30  # a new company's default sales term is Net 30
_ITEM_REF = "Line.SalesItemLineDetail.ItemRef"


class InvoiceType(EntityType):
    name: ClassVar[str] = "Invoice"
    shape = schema.INVOICE
    sequence = "txn"  # all transactions share one id sequence, as in QuickBooks
    voidable = True
    deletable = True
    queryable: ClassVar[dict[str, Q]] = {
        "Id": Q.ID,
        "DocNumber": Q.STR,
        "TxnDate": Q.DATE,
        "DueDate": Q.DATE,
        "CustomerRef": Q.REF,
        "TotalAmt": Q.DEC,
        "Balance": Q.DEC,
        **META_QUERY,
    }

    def prepare(self, ctx: WriteContext, data: dict[str, Any], existing: Record | None) -> dict[str, Any]:
        customer = resolve_ref(ctx.realm, "Customer", require(data, "CustomerRef"), "CustomerRef")
        check_text(data, "PrivateNote", 4000)
        check_text(data.get("CustomerMemo") or {}, "value", 1000)
        lines, total = _build_lines(ctx.realm, require(data, "Line"))
        tax = _total_tax(data)
        total += tax
        if total < 0:
            raise errors.business("An invoice total can't be negative.", element="Line")
        if existing is not None:
            _check_total_covers_payments(ctx.realm, existing, total)
        txn_date = date.fromisoformat(data.get("TxnDate") or ctx.today.isoformat())
        return {
            **data,
            "DocNumber": _doc_number(ctx.realm, data, existing),
            "TxnDate": txn_date.isoformat(),
            "DueDate": data.get("DueDate") or (txn_date + timedelta(days=_DEFAULT_TERMS_DAYS)).isoformat(),
            "CustomerRef": named_ref(customer, "DisplayName"),
            "Line": lines,
            "TotalAmt": total,
            "Balance": total,
            "LinkedTxn": [],
            "CurrencyRef": transaction_currency(ctx.realm, data, existing, customer),
            "TxnTaxDetail": {"TotalTax": tax},
            "ApplyTaxAfterDiscount": data.get("ApplyTaxAfterDiscount", False),
            "PrintStatus": data.get("PrintStatus", "NotSet"),
            "EmailStatus": data.get("EmailStatus", "NotSet"),
            "Deposit": ZERO,
        }

    def void_data(self, realm: Realm, record: Record) -> dict[str, Any]:
        voided = copy.deepcopy(record.data)
        for line in voided["Line"]:
            if "Amount" in line:
                line["Amount"] = ZERO
        voided.update(TotalAmt=ZERO, Balance=ZERO, PrivateNote="Voided")
        return voided


def _total_tax(data: dict[str, Any]) -> Decimal:
    """A supplied TxnTaxDetail.TotalTax overrides the (unmodelled) tax engine, as Intuit allows
    for companies not on automated sales tax; without one the invoice carries no tax."""
    supplied = (data.get("TxnTaxDetail") or {}).get("TotalTax")
    if supplied is None:
        return ZERO
    tax = Decimal(str(supplied))
    if tax < 0:
        raise errors.business("TotalTax can't be negative.", element="TxnTaxDetail.TotalTax")
    return tax


def _doc_number(realm: Realm, data: dict[str, Any], existing: Record | None) -> str:
    """A supplied DocNumber (max 21 chars) or the company's next number, kept across updates."""
    supplied = data.get("DocNumber")
    if supplied and supplied != "AUTO_GENERATE":
        check_text(data, "DocNumber", DOC_NUMBER_MAX)
        return str(supplied)
    if existing is not None and supplied is None:
        return str(existing.data["DocNumber"])
    number = realm.next_doc_number
    realm.next_doc_number += 1
    return str(number)


def _build_lines(realm: Realm, lines: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Decimal]:
    """Item lines first, then QuickBooks' own SubTotalLine, then discounts; returns the total."""
    body: list[dict[str, Any]] = []
    discounts: list[dict[str, Any]] = []
    for line in lines:
        kind = line.get("DetailType")
        if kind == "SubTotalLineDetail":
            continue  # the server writes its own subtotal line
        if kind == "SalesItemLineDetail":
            body.append(sales_line(realm, line))
        elif kind == "DescriptionOnly":
            body.append(_description_line(line))
        elif kind == "DiscountLineDetail":
            discounts.append(line)
        elif kind is None:
            raise errors.required_missing("Line.DetailType")
        else:
            raise errors.business(f"Line type {kind} can't be used on an invoice.", element="Line.DetailType")
    subtotal = sum((line.get("Amount", ZERO) for line in body), ZERO)
    priced = [_discount_line(realm, line, subtotal) for line in discounts]
    discount_total = sum((line["Amount"] for line in priced), ZERO)
    numbered = _number(body + priced)
    subtotal_line: dict[str, Any] = {
        "Amount": subtotal,
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    ordered = [*numbered[: len(body)], subtotal_line, *numbered[len(body) :]]
    return ordered, money(subtotal - discount_total)


def _number(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**line, "Id": str(index), "LineNum": index} for index, line in enumerate(lines, start=1)]


def sales_line(realm: Realm, line: dict[str, Any]) -> dict[str, Any]:
    detail = dict(line.get("SalesItemLineDetail") or {})
    item = resolve_ref(realm, "Item", detail.get("ItemRef"), _ITEM_REF)
    if item.data.get("Type") == "Category":
        raise errors.category_in_transaction(_ITEM_REF)
    amount = money(require(line, "Amount"))
    quantity, price = detail.get("Qty"), detail.get("UnitPrice")
    if quantity is not None and price is not None and money(quantity * price) != amount:
        raise errors.amount_mismatch(line["Amount"])
    detail.update(ItemRef=named_ref(item, "Name"), TaxCodeRef=detail.get("TaxCodeRef", {"value": "NON"}))
    if "IncomeAccountRef" in item.data:
        detail["ItemAccountRef"] = dict(item.data["IncomeAccountRef"])
    check_text(line, "Description", 4000)
    return {**line, "Amount": amount, "SalesItemLineDetail": detail}


def _description_line(line: dict[str, Any]) -> dict[str, Any]:
    check_text(line, "Description", 4000)
    kept: dict[str, Any] = {key: line[key] for key in ("Description", "DescriptionLineDetail") if key in line}
    return {
        **kept,
        "DetailType": "DescriptionOnly",
        "DescriptionLineDetail": line.get("DescriptionLineDetail", {}),
    }


def _discount_line(realm: Realm, line: dict[str, Any], subtotal: Decimal) -> dict[str, Any]:
    detail = dict(line.get("DiscountLineDetail") or {})
    if "DiscountAccountRef" in detail:
        account = resolve_ref(realm, "Account", detail["DiscountAccountRef"], "DiscountAccountRef")
    else:
        account = account_by_sub_type(realm, "DiscountsRefundsGiven")
    if detail.get("PercentBased"):
        percent = detail.get("DiscountPercent")
        if percent is None:
            raise errors.business("Discount amount or percent should be provided", "6090")
        amount = money(subtotal * percent / 100)
    elif line.get("Amount") is not None:
        amount = money(line["Amount"])
    else:
        raise errors.business("Discount amount or percent should be provided", "6090")
    detail.update(
        PercentBased=bool(detail.get("PercentBased")), DiscountAccountRef=named_ref(account, "Name")
    )
    return {**line, "Amount": amount, "DetailType": "DiscountLineDetail", "DiscountLineDetail": detail}


def _check_total_covers_payments(realm: Realm, invoice: Record, total: Decimal) -> None:
    applied = sum((amount for _, amount in payment_applications(realm).get(invoice.id, [])), ZERO)
    if applied > total:
        raise errors.business("The invoice total can't be less than the payments applied to it.")


def settle_invoices(realm: Realm, now: Any) -> None:
    """Keep each invoice's Balance and LinkedTxn in step with the payments applied to it.

    QuickBooks rewrites the invoice when a payment is applied, so its SyncToken moves too: an
    adapter holding an old SyncToken gets 5010 and must re-read.
    """
    applied = payment_applications(realm)
    for invoice in realm.all("Invoice"):
        entries = applied.get(invoice.id, [])
        paid = sum((amount for _, amount in entries), ZERO)
        balance = ZERO if invoice.voided else money(invoice.data["TotalAmt"] - paid)
        links = [{"TxnId": pid, "TxnType": "Payment"} for pid in dict.fromkeys(pid for pid, _ in entries)]
        if invoice.data.get("Balance") != balance or invoice.data.get("LinkedTxn") != links:
            invoice.data.update(Balance=balance, LinkedTxn=links)
            invoice.touch(now)


def release_invoice(realm: Realm, invoice_id: str, now: Any) -> None:
    """A voided or deleted invoice lets go of its payments; their amounts become unapplied."""
    for payment in realm.all("Payment"):
        kept = [line for line in payment.data.get("Line", []) if not _links_invoice(line, invoice_id)]
        if len(kept) != len(payment.data.get("Line", [])):
            applied = sum((line.get("Amount", ZERO) for line in kept), ZERO)
            payment.data.update(Line=kept, UnappliedAmt=payment.data["TotalAmt"] - applied)
            payment.input["Line"] = copy.deepcopy(kept)
            payment.touch(now)


def _links_invoice(line: dict[str, Any], invoice_id: str) -> bool:
    return any(
        link.get("TxnType") == "Invoice" and str(link.get("TxnId")) == invoice_id
        for link in line.get("LinkedTxn", [])
    )
