"""What the wizard's FreshBooks directory lists of what FreshBooks answers: a client as an
organisation and/or a person with e-mail, phone and primary address; an item with its price,
stock and taxes and no income account (FreshBooks items carry none); the rows asked cut from
FreshBooks' pages of 100, reading no page beyond them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from booksync.documents import Address
from booksync.providers.freshbooks.client import CLIENTS, ITEMS, MAX_PAGE, Resource
from booksync.providers.freshbooks.directory import FreshBooksDirectory


class Pages:
    """FreshBooks' answers to the directory's reads: ``rows`` of a resource, in pages of 100."""

    def __init__(self, resource: Resource, rows: list[dict[str, Any]]) -> None:
        self.resource, self.rows = resource, rows
        self.asked: list[tuple[str, dict[str, str], int]] = []

    def query(
        self, resource: Resource, params: dict[str, str], *, page: int = 1
    ) -> tuple[list[dict[str, Any]], bool]:
        assert resource is self.resource
        self.asked.append((resource.plural, params, page))
        found = self.rows[(page - 1) * MAX_PAGE : page * MAX_PAGE]
        return found, page * MAX_PAGE < len(self.rows)


def directory(pages: Pages) -> FreshBooksDirectory:
    return FreshBooksDirectory(pages)  # type: ignore[arg-type]


def test_a_client_is_its_organisation_or_its_person_with_email_phone_and_address() -> None:
    pages = Pages(
        CLIENTS,
        [
            {"id": 11, "organization": "Acme Rentals", "fname": "Ann", "lname": "Lee", "email": "ann@acme.test",
             "bus_phone": "", "mob_phone": "555-0101", "p_street": "1 Main St", "p_street2": "Unit 4",
             "p_city": "Austin", "p_province": "TX", "p_code": "78701", "p_country": "United States",
             "vis_state": 0},
            {"id": 12, "organization": "", "fname": "Bob", "lname": "Ray", "email": "", "p_street": "",
             "vis_state": 2},
            {"userid": 13, "organization": "", "fname": "", "lname": "", "email": "only@mail.test"},
        ],
    )  # fmt: skip
    acme, bob, only = directory(pages).list_customers(1, 50).rows
    assert (acme.id, acme.display_name, acme.company_name) == ("11", "Acme Rentals", "Acme Rentals")
    assert (acme.given_name, acme.family_name, acme.email, acme.phone) == (
        "Ann",
        "Lee",
        "ann@acme.test",
        "555-0101",
    )
    assert acme.billing_address == Address(
        line1="1 Main St",
        line2="Unit 4",
        city="Austin",
        region="TX",
        postal_code="78701",
        country="United States",
    )
    assert acme.active
    # A person without an organisation is shown by name; archived (vis_state 2) is inactive.
    assert (bob.display_name, bob.company_name, bob.billing_address, bob.active) == (
        "Bob Ray",
        None,
        None,
        False,
    )
    assert (only.id, only.display_name) == ("13", "only@mail.test")  # the e-mail when nothing else
    assert pages.asked == [("clients", {}, 1)]


def test_an_item_has_its_price_stock_and_taxes_and_no_income_account() -> None:
    pages = Pages(
        ITEMS,
        [
            {"id": 5, "name": "Pump", "sku": "PMP-1", "description": "Sump pump", "qty": "1",
             "unit_cost": {"amount": "150.50", "code": "USD"}, "inventory": "7", "tax1": 3, "tax2": 0,
             "vis_state": 0},
            {"itemid": 6, "name": "Labour", "sku": "", "unit_cost": {"amount": "80", "code": "USD"},
             "inventory": None, "tax1": 0, "tax2": 0},
        ],
    )  # fmt: skip
    pump, labour = directory(pages).list_items(1, 10).rows
    assert (pump.id, pump.name, pump.sku, pump.description) == ("5", "Pump", "PMP-1", "Sump pump")
    assert (pump.unit_price, pump.type, pump.taxable) == (Decimal("150.50"), "inventory", True)
    assert (labour.id, labour.sku, labour.type, labour.taxable) == ("6", None, "service", False)
    assert (pump.income_account_id, pump.income_account_name, labour.income_account_id) == (None, None, None)


def test_the_rows_asked_are_cut_from_freshbooks_pages_of_a_hundred() -> None:
    pages = Pages(CLIENTS, [{"id": n, "organization": f"Client {n}"} for n in range(1, 251)])
    wizard = directory(pages)
    first = wizard.list_customers(1, 50)
    assert [c.id for c in first.rows] == [str(n) for n in range(1, 51)] and first.next_start == 51
    assert pages.asked == [("clients", {}, 1)]
    # Rows 91-140 lie across FreshBooks' pages 1 and 2: both are read, and no more.
    pages.asked.clear()
    across = wizard.list_customers(91, 50)
    assert [c.id for c in across.rows] == [str(n) for n in range(91, 141)] and across.next_start == 141
    assert [page for _, _, page in pages.asked] == [1, 2]
    # The import's walk asks 1,000 at a time: every page, then no next start.
    pages.asked.clear()
    walk = wizard.list_customers(1, 1000)
    assert len(walk.rows) == 250 and walk.next_start is None
    assert [page for _, _, page in pages.asked] == [1, 2, 3]
    last = wizard.list_customers(201, 50)
    assert [c.id for c in last.rows][-1] == "250" and last.next_start is None
    assert wizard.list_customers(251, 50).rows == ()
