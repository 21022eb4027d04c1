"""The post-connection wizard's reads of a Wave business (``ProviderDirectory``): its customers and
products, as provider-neutral ``RemoteCustomer`` / ``RemoteItem``, over the adapter's GraphQL client.

- ``business { customers(page, pageSize, sort) }`` and ``products(...)``: Wave's offset pages
  (1-based, ``pageInfo.totalPages``), in name order. The core asks from a 1-based ``start`` for
  ``page_size`` rows: Wave's pages of that size covering them are read (one when ``start`` falls
  on a page boundary, as the wizard's pages and its walk always do) and cut to the rows asked
  (``providers/paging.window``).
- Every Wave customer is a customer (Wave keeps vendors apart, and its API only reads them).
- A product not sold (``isSold`` false: bought only) is left out of the page, which still moves on
  by what Wave answered. A product names its income account by id (``incomeAccount { id name }``):
  booksync keys accounts by that id, so the wizard links it as it is. An archived product is
  read as inactive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from booksync.providers.paging import window
from booksync.providers.port import RemoteCustomer, RemoteItem, RemotePage
from booksync.providers.wave import PROVIDER
from booksync.providers.wave.client import MAX_PAGE, WaveClient, nodes, total_pages
from booksync.providers.wave.mapping import to_remote_customer, to_remote_item
from booksync.providers.wave.operations import CUSTOMERS, PRODUCTS

Json = dict[str, Any]
T = TypeVar("T")
BY_NAME = ["NAME_ASC"]


class WaveDirectory:
    """Paged reads of one business's customers and products for the wizard (never a write)."""

    name = PROVIDER

    def __init__(self, client: WaveClient) -> None:
        self._client = client

    def list_customers(self, start: int, page_size: int) -> RemotePage[RemoteCustomer]:
        """The customers from the ``start``-th (1-based), ``page_size`` of them at most."""
        return self._paged(CUSTOMERS, "customers", start, page_size, to_remote_customer)

    def list_items(self, start: int, page_size: int) -> RemotePage[RemoteItem]:
        """The products sold on invoices from the ``start``-th (1-based), ``page_size`` at most."""
        return self._paged(PRODUCTS, "products", start, page_size, to_remote_item, keep=is_sold)

    def _paged(
        self,
        document: str,
        field: str,
        start: int,
        page_size: int,
        convert: Callable[[Mapping[str, Any]], T],
        keep: Callable[[Mapping[str, Any]], bool] = lambda _row: True,
    ) -> RemotePage[T]:
        size = max(1, min(page_size, MAX_PAGE))

        def read(page: int) -> tuple[list[Json], bool]:
            answer = self._client.business(document, {"page": page, "pageSize": size, "sort": BY_NAME})
            connection = answer.get(field)
            return nodes(connection), page < total_pages(connection)

        wanted, next_start = window(start, page_size, size, read)
        return RemotePage(
            rows=tuple(convert(row) for row in wanted if keep(row)), start=start, next_start=next_start
        )


def is_sold(product: Mapping[str, Any]) -> bool:
    """Whether a product may be on an invoice: any Wave does not say is bought only."""
    return product.get("isSold") is not False
