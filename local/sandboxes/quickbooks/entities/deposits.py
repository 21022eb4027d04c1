"""Deposit (Finance.xsd): payments moved from Undeposited Funds to the bank, plus direct lines."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from local.sandboxes.quickbooks import errors, schema
from local.sandboxes.quickbooks.currency import currency_ref
from local.sandboxes.quickbooks.derived import ZERO, deposit_of
from local.sandboxes.quickbooks.entities.base import (
    META_QUERY,
    EntityType,
    Q,
    WriteContext,
    check_text,
    require,
)
from local.sandboxes.quickbooks.entities.payments import DEPOSIT_ACCOUNT_TYPES
from local.sandboxes.quickbooks.model import Realm, Record, money, named_ref, ref_value, resolve_ref

_SELECT_BANK = "Select a bank account for this deposit."


class DepositType(EntityType):
    name: ClassVar[str] = "Deposit"
    shape = schema.DEPOSIT
    sequence = "txn"
    deletable = True
    queryable: ClassVar[dict[str, Q]] = {"Id": Q.ID, "TxnDate": Q.DATE, "TotalAmt": Q.DEC, **META_QUERY}

    def prepare(self, ctx: WriteContext, data: dict[str, Any], existing: Record | None) -> dict[str, Any]:
        realm = ctx.realm
        account = _bank_account(realm, require(data, "DepositToAccountRef"))
        check_text(data, "PrivateNote", 4000)
        check_text(data, "DocNumber", 21)
        skip = existing.id if existing is not None else None
        lines = [_line(realm, line, skip) for line in require(data, "Line")]
        _check_distinct_payments(lines)
        numbered = [{**line, "Id": str(i), "LineNum": i} for i, line in enumerate(lines, start=1)]
        total = sum((line["Amount"] for line in numbered), ZERO)
        stored = {
            **data,
            "DepositToAccountRef": named_ref(account, "Name"),
            "Line": numbered,
            "TxnDate": data.get("TxnDate") or ctx.today.isoformat(),
            "CurrencyRef": currency_ref(ctx.realm.home_currency),
        }
        if "CashBack" in data:
            stored["CashBack"] = _cash_back(realm, data["CashBack"])
            total -= stored["CashBack"]["Amount"]
        if total < 0:
            raise errors.business("A deposit total can't be negative.", element="Line")
        stored["TotalAmt"] = money(total)
        return stored


def _bank_account(realm: Realm, ref: object) -> Record:
    account = resolve_ref(realm, "Account", ref, "DepositToAccountRef")
    is_bank = account.data.get("AccountType") in DEPOSIT_ACCOUNT_TYPES
    if not is_bank or account.data.get("AccountSubType") == "UndepositedFunds":
        raise errors.business(_SELECT_BANK, element="DepositToAccountRef")
    return account


def _line(realm: Realm, line: dict[str, Any], skip_deposit: str | None) -> dict[str, Any]:
    check_text(line, "Description", 4000)
    if line.get("LinkedTxn"):
        return _linked_line(realm, line, skip_deposit)
    return _direct_line(realm, line)


def _linked_line(realm: Realm, line: dict[str, Any], skip_deposit: str | None) -> dict[str, Any]:
    """A payment waiting in Undeposited Funds, deposited whole, or a refund receipt paid out of
    Undeposited Funds, netted whole (a negative line); such a line has no detail."""
    if "DepositLineDetail" in line or "DetailType" in line:
        raise errors.business(_SELECT_BANK, element="Line.DepositLineDetail")
    links = line["LinkedTxn"]
    if len(links) == 1 and links[0].get("TxnType") == "RefundReceipt":
        return _linked_refund(realm, line, links[0], skip_deposit)
    if len(links) != 1 or links[0].get("TxnType") != "Payment":
        raise errors.business("A deposit line must link exactly one payment.", element="Line.LinkedTxn")
    payment = realm.get("Payment", str(links[0].get("TxnId")))
    if payment is None:
        raise errors.invalid_reference("Line.LinkedTxn.TxnId")
    _check_depositable(realm, payment, skip_deposit)
    amount = money(require(line, "Amount"))
    if amount != payment.data["TotalAmt"]:
        raise errors.business(
            f"The deposit line amount {amount} doesn't match the amount of payment {payment.id}.",
            element="Line.Amount",
        )
    link = {"TxnId": payment.id, "TxnType": "Payment", "TxnLineId": str(links[0].get("TxnLineId", "0"))}
    kept = {key: line[key] for key in ("Description",) if key in line}
    return {**kept, "Amount": amount, "LinkedTxn": [link]}


def _linked_refund(
    realm: Realm, line: dict[str, Any], link: dict[str, Any], skip_deposit: str | None
) -> dict[str, Any]:
    refund = realm.get("RefundReceipt", str(link.get("TxnId")))
    if refund is None:
        raise errors.invalid_reference("Line.LinkedTxn.TxnId")
    account = realm.get("Account", ref_value(refund.data.get("DepositToAccountRef")) or "")
    if account is None or account.data.get("AccountSubType") != "UndepositedFunds":
        raise errors.business(f"Refund {refund.id} is not in Undeposited Funds.", element="Line.LinkedTxn")
    if deposit_of(realm, refund.id, skip_deposit=skip_deposit, txn_type="RefundReceipt"):
        raise errors.business(f"Refund {refund.id} has already been deposited.", element="Line.LinkedTxn")
    amount = money(require(line, "Amount"))
    if amount != -refund.data["TotalAmt"]:
        raise errors.business(
            f"The deposit line amount {amount} doesn't match the amount of refund {refund.id}.",
            element="Line.Amount",
        )
    kept = {key: line[key] for key in ("Description",) if key in line}
    return {**kept, "Amount": amount, "LinkedTxn": [{"TxnId": refund.id, "TxnType": "RefundReceipt"}]}


def _check_depositable(realm: Realm, payment: Record, skip_deposit: str | None) -> None:
    if payment.voided:
        raise errors.business("A voided payment can't be deposited.", element="Line.LinkedTxn")
    account = realm.get("Account", ref_value(payment.data.get("DepositToAccountRef")) or "")
    if account is None or account.data.get("AccountSubType") != "UndepositedFunds":
        raise errors.business(f"Payment {payment.id} is not in Undeposited Funds.", element="Line.LinkedTxn")
    if deposit_of(realm, payment.id, skip_deposit=skip_deposit):
        raise errors.business(f"Payment {payment.id} has already been deposited.", element="Line.LinkedTxn")


def _direct_line(realm: Realm, line: dict[str, Any]) -> dict[str, Any]:
    """Money straight to an account (fees are negative lines); needs DepositLineDetail.AccountRef."""
    kind = line.get("DetailType")
    if kind is None:
        raise errors.required_missing("Line.DetailType")
    if kind != "DepositLineDetail":
        raise errors.business(f"Line type {kind} can't be used on a deposit.", element="Line.DetailType")
    detail = dict(line.get("DepositLineDetail") or {})
    element = "Line.DepositLineDetail.AccountRef"
    detail["AccountRef"] = named_ref(resolve_ref(realm, "Account", detail.get("AccountRef"), element), "Name")
    if "Entity" in detail:
        customer = resolve_ref(realm, "Customer", detail["Entity"], "Line.DepositLineDetail.Entity")
        detail["Entity"] = {**named_ref(customer, "DisplayName"), "type": "CUSTOMER"}
    if "PaymentMethodRef" in detail:
        method = resolve_ref(realm, "PaymentMethod", detail["PaymentMethodRef"], "PaymentMethodRef")
        detail["PaymentMethodRef"] = named_ref(method, "Name")
    amount = money(require(line, "Amount"))
    return {**line, "Amount": amount, "DetailType": kind, "DepositLineDetail": detail}


def _cash_back(realm: Realm, cash_back: dict[str, Any]) -> dict[str, Any]:
    account = resolve_ref(realm, "Account", cash_back.get("AccountRef"), "CashBack.AccountRef")
    amount: Decimal = money(require(cash_back, "Amount"))
    return {**cash_back, "AccountRef": named_ref(account, "Name"), "Amount": amount}


def _check_distinct_payments(lines: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for line in lines:
        for link in line.get("LinkedTxn", []):
            if link["TxnId"] in seen:
                raise errors.business(f"Payment {link['TxnId']} appears twice.", element="Line.LinkedTxn")
            seen.add(link["TxnId"])
