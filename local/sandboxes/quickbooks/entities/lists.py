"""Account and PaymentMethod, and the lists a new QuickBooks Online company starts with."""

from __future__ import annotations

from typing import Any, ClassVar

from local.sandboxes.quickbooks import errors, schema
from local.sandboxes.quickbooks.currency import currency_ref
from local.sandboxes.quickbooks.derived import account_balance
from local.sandboxes.quickbooks.entities.base import (
    META_QUERY,
    EntityType,
    Q,
    WriteContext,
    check_text,
    check_unique_name,
    require,
)
from local.sandboxes.quickbooks.model import Realm, Record

# AccountType -> (Classification, default AccountSubType)
ACCOUNT_TYPES: dict[str, tuple[str, str]] = {
    "Bank": ("Asset", "Checking"),
    "Other Current Asset": ("Asset", "OtherCurrentAssets"),
    "Fixed Asset": ("Asset", "OtherFixedAssets"),
    "Other Asset": ("Asset", "OtherLongTermAssets"),
    "Accounts Receivable": ("Asset", "AccountsReceivable"),
    "Equity": ("Equity", "OwnersEquity"),
    "Expense": ("Expense", "OtherMiscellaneousServiceCost"),
    "Other Expense": ("Expense", "OtherMiscellaneousExpense"),
    "Cost of Goods Sold": ("Expense", "SuppliesMaterialsCogs"),
    "Accounts Payable": ("Liability", "AccountsPayable"),
    "Credit Card": ("Liability", "CreditCard"),
    "Long Term Liability": ("Liability", "OtherLongTermLiabilities"),
    "Other Current Liability": ("Liability", "OtherCurrentLiabilities"),
    "Income": ("Revenue", "ServiceFeeIncome"),
    "Other Income": ("Revenue", "OtherMiscellaneousIncome"),
}

# The chart of accounts of a new US company, in QuickBooks' wording.
DEFAULT_ACCOUNTS: list[tuple[str, str, str]] = [
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("Inventory Asset", "Other Current Asset", "Inventory"),
    ("Uncategorized Asset", "Other Current Asset", "OtherCurrentAssets"),
    ("Checking", "Bank", "Checking"),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable"),
    ("Opening Balance Equity", "Equity", "OpeningBalanceEquity"),
    ("Retained Earnings", "Equity", "RetainedEarnings"),
    ("Services", "Income", "ServiceFeeIncome"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("Discounts given", "Income", "DiscountsRefundsGiven"),
    ("Uncategorized Income", "Income", "OtherPrimaryIncome"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("Merchant Service Fees", "Expense", "BankCharges"),
    ("Bank Charges", "Expense", "BankCharges"),
    ("Uncategorized Expense", "Expense", "OtherMiscellaneousServiceCost"),
]

DEFAULT_PAYMENT_METHODS: list[tuple[str, str]] = [
    ("Cash", "NON_CREDIT_CARD"),
    ("Check", "NON_CREDIT_CARD"),
    ("Credit Card", "CREDIT_CARD"),
]


class AccountType(EntityType):
    name: ClassVar[str] = "Account"
    shape = schema.ACCOUNT
    has_active = True
    queryable: ClassVar[dict[str, Q]] = {
        "Id": Q.ID,
        "Name": Q.STR,
        "AccountType": Q.STR,
        "AccountSubType": Q.STR,
        "Classification": Q.STR,
        "Active": Q.BOOL,
        **META_QUERY,
    }

    def prepare(self, ctx: WriteContext, data: dict[str, Any], existing: Record | None) -> dict[str, Any]:
        name = str(require(data, "Name"))
        check_text(data, "Name", 100, colon_ok=False)
        check_text(data, "Description", 100)
        check_unique_name(ctx.realm, "Account", "Name", name, existing, "account")
        account_type = str(require(data, "AccountType"))
        if account_type not in ACCOUNT_TYPES:
            raise errors.unsupported_property("AccountType")
        classification, default_sub_type = ACCOUNT_TYPES[account_type]
        return {
            **data,
            "FullyQualifiedName": name,
            "SubAccount": False,
            "Classification": classification,
            "AccountSubType": data.get("AccountSubType") or default_sub_type,
            "Active": data.get("Active", True),
            "CurrencyRef": currency_ref(ctx.realm.home_currency),
        }

    def render_extra(self, realm: Realm, record: Record, out: dict[str, Any]) -> None:
        balance = account_balance(realm, record)
        out["CurrentBalance"] = balance
        out["CurrentBalanceWithSubAccounts"] = balance


class PaymentMethodType(EntityType):
    name: ClassVar[str] = "PaymentMethod"
    shape = schema.PAYMENT_METHOD
    has_active = True
    queryable: ClassVar[dict[str, Q]] = {"Id": Q.ID, "Name": Q.STR, "Active": Q.BOOL, **META_QUERY}

    def prepare(self, ctx: WriteContext, data: dict[str, Any], existing: Record | None) -> dict[str, Any]:
        name = str(require(data, "Name"))
        check_text(data, "Name", 31, colon_ok=False)
        check_unique_name(ctx.realm, "PaymentMethod", "Name", name, existing, "payment method")
        kind = data.get("Type", "NON_CREDIT_CARD")
        if kind not in {"CREDIT_CARD", "NON_CREDIT_CARD"}:
            raise errors.unsupported_property("Type")
        return {**data, "Type": kind, "Active": data.get("Active", True)}


def account_by_sub_type(realm: Realm, sub_type: str) -> Record:
    for account in realm.all("Account"):
        if account.data.get("AccountSubType") == sub_type:
            return account
    raise LookupError(f"realm {realm.id} has no {sub_type} account")
