"""Values Intuit keeps in step across entities: invoice balances, deposits, account balances."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from local.sandboxes.quickbooks.model import Realm, Record, ref_value

ZERO = Decimal("0")


def payment_applications(realm: Realm, *, skip_payment: str | None = None) -> dict[str, list[tuple[str, Decimal]]]:
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


def deposit_of(realm: Realm, payment_id: str, *, skip_deposit: str | None = None) -> str | None:
    """The deposit that holds a payment, if any (a deposited payment is locked: 6540)."""
    for deposit in realm.all("Deposit"):
        if deposit.id == skip_deposit:
            continue
        for line in deposit.data.get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") == "Payment" and str(link.get("TxnId")) == payment_id:
                    return deposit.id
    return None


def customer_balance(realm: Realm, customer_id: str) -> Decimal:
    """Open invoices less unapplied payments (credits), as QuickBooks shows a customer's balance."""
    balance = ZERO
    for invoice in realm.all("Invoice"):
        if ref_value(invoice.data.get("CustomerRef")) == customer_id:
            balance += invoice.data.get("Balance", ZERO)
    for payment in realm.all("Payment"):
        if ref_value(payment.data.get("CustomerRef")) == customer_id and not payment.voided:
            balance -= payment.data.get("UnappliedAmt", ZERO)
    return balance


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
    total = ZERO
    for payment in realm.all("Payment"):
        if ref_value(payment.data.get("DepositToAccountRef")) == account_id and not payment.voided:
            if deposit_of(realm, payment.id) is None:
                total += payment.data.get("TotalAmt", ZERO)
    return total


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
    return total
