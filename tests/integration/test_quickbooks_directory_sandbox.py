"""The QuickBooks adapter's wizard listings against the QuickBooks sandbox: customers and items
read page by page (ORDERBY Id, STARTPOSITION/MAXRESULTS) into provider-neutral records."""

from __future__ import annotations

from decimal import Decimal

from booksync.providers.port import ItemRefs, ProviderDirectory

from tests.integration import test_quickbooks_adapter_sandbox as qbo
from tests.integration.test_quickbooks_adapter_sandbox import Connected, ann, pump

# The adapter tests' sandbox, consent flow and connected company.
sandbox, control, oauth, company = qbo.sandbox, qbo.control, qbo.oauth, qbo.company


def test_customers_are_listed_page_by_page_with_the_wizards_fields(company: Connected) -> None:
    provider = company.provider
    assert isinstance(provider, ProviderDirectory)
    made = [
        provider.create_customer(ann(id=f"c-{n}", display_name=f"Wizard Person {n}", email=f"p{n}@gmail.com"),
                                 idempotency_key=f"wiz-c-{n}").id
        for n in range(5)
    ]  # fmt: skip
    seen, start, pages = [], 1, 0
    while start is not None:
        page = provider.list_customers(start, 2)
        assert len(page.rows) <= 2 and page.start == start
        seen.extend(page.rows)
        start, pages = page.next_start, pages + 1
    assert pages >= 3
    ids = [c.id for c in seen]
    assert len(ids) == len(set(ids)), "a page repeated a customer"
    assert set(made) <= set(ids)
    one = next(c for c in seen if c.id == made[3])
    assert (one.display_name, one.email, one.given_name, one.family_name) == (
        "Wizard Person 3", "p3@gmail.com", "Ann", "Smith",
    )  # fmt: skip
    assert one.billing_address is not None and one.billing_address.postal_code == "62701"
    assert one.active and one.version is not None


def test_items_are_listed_with_sku_price_type_and_income_account(company: Connected) -> None:
    provider = company.provider
    created = provider.create_item(
        pump(name="Wizard pump"),
        ItemRefs(income_account_id=company.income_account_id),
        idempotency_key="wiz-i-1",
    )
    page = provider.list_items(1, 1000)
    item = next(i for i in page.rows if i.id == created.id)
    assert item.name == "Wizard pump" and item.sku == "TKO-1" and item.type == "service"
    assert item.unit_price == Decimal("150.00")
    assert item.income_account_id == company.income_account_id and item.income_account_name
