"""The wizard's window on a provider's pages: the rows from a 1-based ``start``, read from the
provider's own pages of a fixed size (``ProviderDirectory`` of Xero, FreshBooks, Wave)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def window(
    start: int, page_size: int, provider_page: int, read: Callable[[int], tuple[list[T], bool]]
) -> tuple[list[T], int | None]:
    """The rows from ``start`` (1-based), ``page_size`` at most, read from the provider's pages of
    ``provider_page`` rows (``read(page)``, 1-based: that page's rows and whether more follow),
    every page covering them and none beyond; and where the next rows start (None: no more)."""
    first = max(1, start)
    size = max(1, page_size)
    page = (first - 1) // provider_page + 1
    skip = (first - 1) - (page - 1) * provider_page
    rows: list[T] = []
    more = True
    while more and len(rows) < skip + size:
        found, more = read(page)
        rows += found
        page += 1
    wanted = rows[skip : skip + size]
    left = more or len(rows) > skip + size
    return wanted, (first + len(wanted) if left and wanted else None)
