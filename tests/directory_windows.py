"""What every provider's wizard directory must do with the core's 1-based start and page size,
whether or not they fall on the provider's own pages (its wizard sandbox tests call it)."""

from __future__ import annotations

from booksync.providers.port import ProviderDirectory


def check_windows(directory: ProviderDirectory, names: list[str]) -> None:
    """``names``: the customers the provider holds, seven, in the order it lists them."""
    assert isinstance(directory, ProviderDirectory) and len(names) == 7
    seen: list[str] = []
    start: int | None = 1
    while start is not None:
        page = directory.list_customers(start, 3)
        assert page.start == start and len(page.rows) <= 3
        seen += [c.display_name for c in page.rows]
        start = page.next_start
    assert seen == names
    middle = directory.list_customers(3, 3)  # inside the provider's first page of 3: two pages read
    assert [c.display_name for c in middle.rows] == names[2:5] and middle.next_start == 6
    assert [c.display_name for c in directory.list_customers(6, 3).rows] == names[5:]
    assert directory.list_customers(8, 3).rows == () and directory.list_customers(8, 3).next_start is None
