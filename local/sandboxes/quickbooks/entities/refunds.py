"""RefundReceipt (Finance.xsd): money paid back to a customer, out of a bank or asset account.

Its lines are sales lines (an item, usually a "Refunds" service): the amount reverses that
item's income. ``DepositToAccountRef`` is the account the money leaves; a refund out of
Undeposited Funds waits there, like a payment, for the deposit that nets it. It does not touch
an invoice's balance (a refund is not linked to the invoice or payment it gives back).
"""

from __future__ import annotations

from typing import Any, ClassVar

from local.sandboxes.quickbooks import errors, schema
from local.sandboxes.quickbooks.currency import transaction_currency
from local.sandboxes.quickbooks.derived import ZERO, deposit_of
from local.sandboxes.quickbooks.entities.base import (
    META_QUERY,
    EntityType,
    Q,
    WriteContext,
    check_text,
    require,
)
from local.sandboxes.quickbooks.entities.invoices import sales_line
from local.sandboxes.quickbooks.model import Realm, Record, money, named_ref, resolve_ref

REFUND_FROM_ACCOUNT_TYPES = {"Bank", "Other Current Asset", "Credit Card"}


class RefundReceiptType(EntityType):
    name: ClassVar[str] = "RefundReceipt"
    shape = schema.REFUND_RECEIPT
    sequence = "txn"
    deletable = True
    queryable: ClassVar[dict[str, Q]] = {
        "Id": Q.ID,
        "DocNumber": Q.STR,
        "TxnDate": Q.DATE,
        "CustomerRef": Q.REF,
        "TotalAmt": Q.DEC,
        **META_QUERY,
    }

    def before_change(self, realm: Realm, record: Record, new_data: dict[str, Any]) -> None:
        # A refund receipt netted in a deposit is locked like a deposited payment (6540).
        if deposit_of(realm, record.id, txn_type="RefundReceipt"):
            raise errors.deposited_transaction()

    def check_delete(self, realm: Realm, record: Record) -> None:
        if deposit_of(realm, record.id, txn_type="RefundReceipt"):
            raise errors.deposited_transaction()

    def prepare(self, ctx: WriteContext, data: dict[str, Any], existing: Record | None) -> dict[str, Any]:
        realm = ctx.realm
        for element, maximum in (("PaymentRefNum", 21), ("DocNumber", 21), ("PrivateNote", 4000)):
            check_text(data, element, maximum)
        check_text(data.get("CustomerMemo") or {}, "value", 1000)
        lines = []
        for line in require(data, "Line"):
            if line.get("DetailType") != "SalesItemLineDetail":
                raise errors.business(
                    "A refund receipt line must be a SalesItemLineDetail line.", element="Line.DetailType"
                )
            lines.append(sales_line(realm, line))
        total = money(sum((line["Amount"] for line in lines), ZERO))
        if total < 0:
            raise errors.business("A refund amount can't be negative.", element="Line")
        account = resolve_ref(realm, "Account", require(data, "DepositToAccountRef"), "DepositToAccountRef")
        if account.data.get("AccountType") not in REFUND_FROM_ACCOUNT_TYPES:
            raise errors.business(
                "Select a bank or credit card account to refund from.", element="DepositToAccountRef"
            )
        stored = {
            **data,
            "Line": [{**line, "Id": str(i), "LineNum": i} for i, line in enumerate(lines, start=1)],
            "TotalAmt": total,
            "Balance": ZERO,
            "DepositToAccountRef": named_ref(account, "Name"),
            "TxnDate": data.get("TxnDate") or ctx.today.isoformat(),
        }
        customer = None
        if "CustomerRef" in data:
            customer = resolve_ref(realm, "Customer", data["CustomerRef"], "CustomerRef")
            stored["CustomerRef"] = named_ref(customer, "DisplayName")
        stored["CurrencyRef"] = transaction_currency(realm, data, existing, customer)
        if "PaymentMethodRef" in data:
            method = resolve_ref(realm, "PaymentMethod", data["PaymentMethodRef"], "PaymentMethodRef")
            stored["PaymentMethodRef"] = named_ref(method, "Name")
        return stored
