"""The post-connection wizard's reads of a FreshBooks business (``ProviderDirectory``): its
clients and items, as provider-neutral ``RemoteCustomer`` / ``RemoteItem``, over the adapter's
client (``client.py``).

- Clients and items are read in FreshBooks' own order, by its ``page`` (1-based) and ``per_page``
  (at most 100: the client's). The core asks from a 1-based ``start`` for
  ``page_size`` rows: the FreshBooks pages covering them are read and cut to the rows asked.
  Deleted records (``vis_state`` 1) are not listed (FreshBooks' default); archived ones (2) are,
  marked inactive.
- A client is a person or a company: its ``organization``, ``fname``/``lname``, ``email``, the
  first of its business, mobile and home phones, and its primary address (``p_street`` ...
  ``p_country``). What booksync shows it as: the organisation, else the person's name, else the
  e-mail.
- An item is sold at its ``unit_cost`` (``{"amount", "code"}``); one with an ``inventory`` count is
  stock. FreshBooks items carry no income account (the declaration does not claim
  ``INCOME_ACCOUNT_PER_ITEM``): none is read or imported. An item with a tax (``tax1``/``tax2``)
  is taxable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from booksync.providers.freshbooks import PROVIDER
from booksync.providers.freshbooks.client import CLIENTS, ITEMS, MAX_PAGE, FreshBooksClient, Resource
from booksync.providers.paging import window
from booksync.providers.port import RemoteCustomer, RemoteItem, RemotePage
from booksync.providers.text import bounded_address, decimal_or_none, text_or_none

Json = dict[str, Any]
T = TypeVar("T")

ACTIVE, ARCHIVED = 0, 2
PHONES = ("bus_phone", "mob_phone", "home_phone")


class FreshBooksDirectory:
    """Paged reads of one business's clients and items for the wizard (never a write)."""

    name = PROVIDER

    def __init__(self, client: FreshBooksClient) -> None:
        self._client = client

    def list_customers(self, start: int, page_size: int) -> RemotePage[RemoteCustomer]:
        """The clients from the ``start``-th (1-based), ``page_size`` of them at most."""
        return self._paged(CLIENTS, start, page_size, to_remote_customer)

    def list_items(self, start: int, page_size: int) -> RemotePage[RemoteItem]:
        """The items from the ``start``-th (1-based), ``page_size`` of them at most."""
        return self._paged(ITEMS, start, page_size, to_remote_item)

    def _paged(
        self, resource: Resource, start: int, page_size: int, convert: Callable[[Mapping[str, Any]], T]
    ) -> RemotePage[T]:
        """The rows from ``start``, read from FreshBooks' pages of ``MAX_PAGE`` (each page
        covering them, and no further), and where the next rows start (None: no more)."""
        wanted, next_start = window(
            start, page_size, MAX_PAGE, lambda page: self._client.query(resource, {}, page=page)
        )
        return RemotePage(rows=tuple(convert(row) for row in wanted), start=start, next_start=next_start)


def to_remote_customer(client: Mapping[str, Any]) -> RemoteCustomer:
    organisation = text_or_none(client.get("organization"))
    given, family = text_or_none(client.get("fname")), text_or_none(client.get("lname"))
    email = text_or_none(client.get("email"))
    person = " ".join(part for part in (given, family) if part) or None
    return RemoteCustomer(
        id=str(client.get("id") or client["userid"]),
        display_name=organisation or person or email or "",
        given_name=given,
        family_name=family,
        company_name=organisation,
        email=email,
        phone=next((p for p in (text_or_none(client.get(k)) for k in PHONES) if p), None),
        billing_address=bounded_address(
            line1=client.get("p_street"),
            line2=client.get("p_street2"),
            city=client.get("p_city"),
            region=client.get("p_province"),
            postal_code=client.get("p_code"),
            country=client.get("p_country"),
        ),
        active=client.get("vis_state", ACTIVE) == ACTIVE,
    )


def to_remote_item(item: Mapping[str, Any]) -> RemoteItem:
    cost = item.get("unit_cost")
    return RemoteItem(
        id=str(item.get("id") or item["itemid"]),
        name=str(item.get("name") or ""),
        sku=text_or_none(item.get("sku")),
        type="inventory" if item.get("inventory") not in (None, "") else "service",
        unit_price=decimal_or_none(cost.get("amount")) if isinstance(cost, Mapping) else None,
        description=text_or_none(item.get("description")),
        taxable=any(item.get(tax) not in (None, 0, "0", "") for tax in ("tax1", "tax2")),
        active=item.get("vis_state", ACTIVE) == ACTIVE,
    )
