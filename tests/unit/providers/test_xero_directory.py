"""What the wizard's Xero directory lists of what Xero answers: customers, not suppliers; items
one can sell, not those only bought; an item's sales account (a code in Xero) as the chart's id."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from booksync.providers.xero.directory import XeroDirectory


class Answers:
    """Xero's answers to the directory's reads, by collection (one page of contacts)."""

    def __init__(self, **collections: list[dict[str, Any]]) -> None:
        self.collections = collections
        self.asked: list[tuple[str, dict[str, str]]] = []

    def query(self, collection: str, **params: str) -> list[dict[str, Any]]:
        self.asked.append((collection, params))
        return self.collections[collection]


def directory(answers: Answers) -> XeroDirectory:
    return XeroDirectory(answers)  # type: ignore[arg-type]


def test_a_contact_xero_knows_only_as_a_supplier_is_no_customer() -> None:
    answers = Answers(
        Contacts=[
            {"ContactID": "a", "Name": "Acme Supplies", "IsSupplier": True, "IsCustomer": False},
            {"ContactID": "b", "Name": "Both Ways Ltd", "IsSupplier": True, "IsCustomer": True},
            {"ContactID": "c", "Name": "New Contact", "IsSupplier": False, "IsCustomer": False},
        ]
    )
    page = directory(answers).list_customers(1, 3)
    assert [c.id for c in page.rows] == ["b", "c"]
    assert page.next_start == 4, "the next page starts after what Xero answered, suppliers included"
    assert answers.asked == [("Contacts", {"order": "Name ASC", "page": "1", "pageSize": "3"})]


def test_items_only_bought_are_left_out_and_the_sales_account_code_becomes_its_id() -> None:
    answers = Answers(
        Items=[
            {"ItemID": "i1", "Code": "PUMP", "Name": "Pump", "IsSold": True,
             "SalesDetails": {"UnitPrice": 150.5, "AccountCode": "200", "TaxType": "NONE"}},
            {"ItemID": "i2", "Code": "PIPE", "Name": "Pipe stock", "IsSold": False},
        ],
        Accounts=[{"AccountID": "acc-200", "Code": "200", "Name": "Sales"}, {"AccountID": "acc-090", "Name": "Bank"}],
    )  # fmt: skip
    (pump,) = directory(answers).list_items(1, 10).rows
    assert (pump.id, pump.sku, pump.unit_price, pump.taxable) == ("i1", "PUMP", Decimal("150.5"), False)
    assert (pump.income_account_id, pump.income_account_name) == ("acc-200", "Sales")
