"""Values Intuit keeps in step across entities: invoice balances, deposits, account balances."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Set
from decimal import Decimal
from typing import Any

from local.sandboxes.quickbooks.model import Realm, Record, ref_value

ZERO = Decimal("0")


def payment_applications(
    realm: Realm, *, skip_payment: str | None = None
) -> dict[str, list[tuple[str, Decimal]]]:
    """invoice id -> [(payment id, amount applied)] over live, unvoided payments."""
    applied: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for payment in realm.all("Payment"):
        if payment.voided or payment.id == skip_payment:
            continue
        for line in payment.data.get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") == "Invoice":
                    applied[str(link.get("TxnId"))].append((payment.id, line.get("Amount", ZERO)))
    return applied


def invoice_open_balance(realm: Realm, invoice: Record, *, skip_payment: str | None = None) -> Decimal:
    applied = payment_applications(realm, skip_payment=skip_payment).get(invoice.id, [])
    total: Decimal = invoice.data.get("TotalAmt", ZERO)
    return total - sum((amount for _, amount in applied), ZERO)


def deposit_of(
    realm: Realm, payment_id: str, *, skip_deposit: str | None = None, txn_type: str = "Payment"
) -> str | None:
    """The deposit that holds a payment (or refund receipt), if any (a deposited one is locked: 6540)."""
    for deposit in realm.all("Deposit"):
        if deposit.id == skip_deposit:
            continue
        for line in deposit.data.get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") == txn_type and str(link.get("TxnId")) == payment_id:
                    return deposit.id
    return None


def customer_balance(realm: Realm, customer_id: str) -> Decimal:
    """Open invoices less unapplied payments (credits), as QuickBooks shows a customer's balance."""
    balances: dict[str, Decimal] = cached(realm, "customer_balances", _customer_balances)
    return balances.get(customer_id, ZERO)


def _customer_balances(realm: Realm) -> dict[str, Decimal]:
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in realm.all("Invoice"):
        balances[ref_value(invoice.data.get("CustomerRef")) or ""] += invoice.data.get("Balance", ZERO)
    for payment in realm.all("Payment"):
        if not payment.voided:
            balances[ref_value(payment.data.get("CustomerRef")) or ""] -= payment.data.get(
                "UnappliedAmt", ZERO
            )
    return dict(balances)


def _deposited_payments(realm: Realm) -> set[str]:
    return {
        str(link.get("TxnId"))
        for deposit in realm.all("Deposit")
        for line in deposit.data.get("Line", [])
        for link in line.get("LinkedTxn", [])
        if link.get("TxnType") in ("Payment", "RefundReceipt")
    }


def cached(realm: Realm, key: str, compute: Callable[[Realm], Any]) -> Any:
    """Renders of many rows (a query) share one computation; any write empties the cache."""
    if key not in realm.cache:
        realm.cache[key] = compute(realm)
    return realm.cache[key]


def account_balance(realm: Realm, account: Record) -> Decimal:
    """Balance-sheet accounts the sandbox posts to: bank, Undeposited Funds and A/R.

    Income and expense accounts answer 0, as QuickBooks does for CurrentBalance on P&L accounts.
    """
    sub_type = account.data.get("AccountSubType")
    if sub_type == "UndepositedFunds":
        return _undeposited(realm, account.id)
    if account.data.get("AccountType") == "Accounts Receivable":
        return _receivable(realm)
    if account.data.get("AccountType") in {"Bank", "Other Current Asset"}:
        return _deposited_into(realm, account.id)
    return ZERO


def _undeposited(realm: Realm, account_id: str) -> Decimal:
    deposited: set[str] = cached(realm, "deposited_payments", _deposited_payments)
    total = ZERO
    for payment in realm.all("Payment"):
        in_account = ref_value(payment.data.get("DepositToAccountRef")) == account_id
        if in_account and not payment.voided and payment.id not in deposited:
            total += payment.data.get("TotalAmt", ZERO)
    # Refunds paid out of Undeposited Funds wait there, negative, for the deposit that nets them.
    return total - _refunded_from(realm, account_id, skip=deposited)


def _refunded_from(realm: Realm, account_id: str, *, skip: Set[str] = frozenset()) -> Decimal:
    return sum(
        (
            refund.data.get("TotalAmt", ZERO)
            for refund in realm.all("RefundReceipt")
            if ref_value(refund.data.get("DepositToAccountRef")) == account_id and refund.id not in skip
        ),
        ZERO,
    )


def _receivable(realm: Realm) -> Decimal:
    invoiced = sum((inv.data.get("TotalAmt", ZERO) for inv in realm.all("Invoice")), ZERO)
    paid = sum((pay.data.get("TotalAmt", ZERO) for pay in realm.all("Payment")), ZERO)
    return invoiced - paid


def _deposited_into(realm: Realm, account_id: str) -> Decimal:
    total = ZERO
    for payment in realm.all("Payment"):
        if ref_value(payment.data.get("DepositToAccountRef")) == account_id and not payment.voided:
            total += payment.data.get("TotalAmt", ZERO)
    for deposit in realm.all("Deposit"):
        if ref_value(deposit.data.get("DepositToAccountRef")) == account_id:
            total += deposit.data.get("TotalAmt", ZERO)
    return total - _refunded_from(realm, account_id)
