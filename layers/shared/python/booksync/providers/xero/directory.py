"""The post-connection wizard's reads of a Xero organisation (``ProviderDirectory``): its contacts
and items, as provider-neutral ``RemoteCustomer`` / ``RemoteItem``, over the adapter's client.

- Contacts are read with Xero's ``page`` (1-based) and ``pageSize`` (1-1000), in name order,
  archived ones left out (Xero's default). The core asks from a 1-based ``start`` for
  ``page_size`` rows: the Xero page(s) covering them are read (one when ``start`` falls on a page
  boundary, as the wizard's pages and its walk always do; two otherwise) and cut to the rows
  asked. A contact that is only a supplier (``IsSupplier`` and not ``IsCustomer``) is no customer
  and is left out of the page, which still moves on by what Xero answered.
- ``GET /Items`` takes no ``page`` (xero_accounting.yaml): the items are read whole once per
  directory and cut to the rows asked. Items not sold (``IsSold`` false: purchases only) are left
  out. Xero names an item's sales account by its ``Code``: the chart (read once, with the items)
  gives the account's id and name booksync keys accounts by.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from booksync.documents import Address
from booksync.providers.paging import window
from booksync.providers.port import RemoteCustomer, RemoteItem, RemotePage
from booksync.providers.text import bounded_address, decimal_or_none, text_or_none
from booksync.providers.xero.client import MAX_PAGE, XeroClient
from booksync.providers.xero.mapping import NO_TAX
from booksync.providers.xero.oauth import PROVIDER

Json = dict[str, Any]
T = TypeVar("T")

# The address Xero puts on invoices (POBOX, its "postal address"), else the street address.
ADDRESS_TYPES = ("POBOX", "STREET")
PHONE_TYPES = ("DEFAULT", "MOBILE")


class XeroDirectory:
    """Paged reads of one organisation's contacts and items for the wizard (never a write)."""

    name = PROVIDER

    def __init__(self, client: XeroClient) -> None:
        self._client = client
        self._items: list[Json] | None = None
        self._codes: dict[str, Json] | None = None

    # ------------------------------------------------------------------ contacts

    def list_customers(self, start: int, page_size: int) -> RemotePage[RemoteCustomer]:
        """The contacts from the ``start``-th (1-based), ``page_size`` of them at most."""
        rows, next_start = self._paged(start, page_size, self._contacts_page)
        return RemotePage(
            rows=tuple(to_remote_customer(row) for row in rows if is_customer(row)),
            start=start,
            next_start=next_start,
        )

    def _contacts_page(self, page: int, size: int) -> list[Json]:
        return self._client.query("Contacts", order="Name ASC", page=str(page), pageSize=str(size))

    @staticmethod
    def _paged(
        start: int, page_size: int, read: Callable[[int, int], list[Json]]
    ) -> tuple[list[Json], int | None]:
        """The rows from ``start`` (1-based), ``page_size`` at most, read from Xero's pages of that
        size (``read(page, size)``, ``page`` 1-based), and where the next rows start (None: no
        more; a full Xero page may be the last, and the next read then finds none)."""
        size = max(1, min(page_size, MAX_PAGE))

        def page_of(page: int) -> tuple[list[Json], bool]:
            rows = read(page, size)
            return rows, len(rows) == size

        return window(start, size, size, page_of)

    # ------------------------------------------------------------------ items

    def list_items(self, start: int, page_size: int) -> RemotePage[RemoteItem]:
        """The items from the ``start``-th (1-based), ``page_size`` of them at most."""
        everything = self._all_items()
        size = max(1, min(page_size, MAX_PAGE))
        offset = max(1, start) - 1
        rows = everything[offset : offset + size]
        accounts = self._accounts_by_code() if rows else {}
        return RemotePage(
            rows=tuple(to_remote_item(row, accounts) for row in rows if row.get("IsSold", True) is not False),
            start=start,
            next_start=offset + size + 1 if offset + size < len(everything) else None,
        )

    def _all_items(self) -> list[Json]:
        if self._items is None:
            self._items = self._client.query("Items", order="Code ASC")
        return self._items

    def _accounts_by_code(self) -> Mapping[str, Json]:
        if self._codes is None:
            chart = self._client.query("Accounts")
            self._codes = {str(row["Code"]): row for row in chart if row.get("Code") and row.get("AccountID")}
        return self._codes


def is_customer(contact: Mapping[str, Any]) -> bool:
    """Whether a contact may be a customer: any but one Xero knows only as a supplier."""
    return contact.get("IsCustomer") is True or contact.get("IsSupplier") is not True


def to_remote_customer(contact: Mapping[str, Any]) -> RemoteCustomer:
    return RemoteCustomer(
        id=str(contact["ContactID"]),
        display_name=str(contact.get("Name") or ""),
        given_name=text_or_none(contact.get("FirstName")),
        family_name=text_or_none(contact.get("LastName")),
        # A Xero contact's Name is the person's or the company's: no field of its own for the company.
        company_name=None,
        email=text_or_none(contact.get("EmailAddress")),
        phone=_phone(contact.get("Phones")),
        billing_address=_address(contact.get("Addresses")),
        active=contact.get("ContactStatus", "ACTIVE") == "ACTIVE",
    )


def to_remote_item(item: Mapping[str, Any], accounts_by_code: Mapping[str, Mapping[str, Any]]) -> RemoteItem:
    """An item sold on invoices; its sales account (a Code in Xero) as the chart's id and name."""
    sales = item.get("SalesDetails")
    sales = sales if isinstance(sales, Mapping) else {}
    code = text_or_none(sales.get("AccountCode"))
    account = accounts_by_code.get(code) if code else None
    return RemoteItem(
        id=str(item["ItemID"]),
        name=str(item.get("Name") or item.get("Code") or ""),
        sku=text_or_none(item.get("Code")),
        type="inventory" if item.get("IsTrackedAsInventory") is True else "service",
        unit_price=decimal_or_none(sales.get("UnitPrice")),
        description=text_or_none(item.get("Description")),
        income_account_id=str(account["AccountID"]) if account is not None else None,
        income_account_name=text_or_none(account.get("Name")) if account is not None else None,
        taxable=sales.get("TaxType") != NO_TAX,
    )


def _first(
    rows: object, kind_key: str, kinds: Sequence[str], has: Callable[[Mapping[str, Any]], bool]
) -> Any:
    """The first of ``rows`` (Xero's Addresses or Phones) of ``kinds``, in that order, that ``has``."""
    found = [row for row in rows if isinstance(row, Mapping)] if isinstance(rows, list) else []
    for kind in kinds:
        for row in found:
            if row.get(kind_key) == kind and has(row):
                return row
    return None


def _phone(phones: object) -> str | None:
    row = _first(phones, "PhoneType", PHONE_TYPES, lambda p: bool(text_or_none(p.get("PhoneNumber"))))
    if row is None:
        return None
    parts = (text_or_none(row.get(k)) for k in ("PhoneCountryCode", "PhoneAreaCode", "PhoneNumber"))
    return " ".join(part for part in parts if part)


def _address(addresses: object) -> Address | None:
    fields = ("AddressLine1", "AddressLine2", "City", "Region", "PostalCode", "Country")
    row = _first(
        addresses, "AddressType", ADDRESS_TYPES, lambda a: any(text_or_none(a.get(f)) for f in fields)
    )
    if row is None:
        return None
    lines = [text_or_none(row.get(f"AddressLine{n}")) for n in range(1, 5)]
    return bounded_address(
        line1=lines[0],
        # Xero keeps up to four lines: booksync's second holds the rest.
        line2=", ".join(part for part in lines[1:] if part),
        city=row.get("City"),
        region=row.get("Region"),
        postal_code=row.get("PostalCode"),
        country=row.get("Country"),
    )
