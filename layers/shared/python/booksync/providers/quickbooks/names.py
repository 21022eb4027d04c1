"""Text cleaning before anything is sent to QuickBooks.

Names are what QuickBooks keys on (Customer.DisplayName and Item.Name must be unique), so the
cleaned name is both what we send and what the adapter reports back in ``RemoteObject.name``:
the engine links on the value that exists in QuickBooks, and a lookup by the same cleaned name
finds it again.

- Control characters are removed, not replaced: field apps paste SKUs like "TKO-\\t813PB-1500B"
  whose tab is an artefact, and QuickBooks refuses them (ValidationFault 2040).
- A colon is the hierarchy separator (Parent:Customer:Job) and is refused in names (2040).
- Lengths are counted as Intuit's Java backend counts them, in UTF-16 code units, and cut on
  a character boundary so a surrogate pair (emoji) is never split.
"""

from __future__ import annotations

from booksync.providers.text import (
    clean_line,
    clean_text,
    distinct_name,
    name_tag,
    same_name,
    truncate_utf16,
    utf16_length,
)

# The generic cleaning lives in providers/text.py; QuickBooks' callers read it here too.
__all__ = [
    "COLON_REPLACEMENT",
    "DISPLAY_NAME_MAX",
    "ITEM_NAME_MAX",
    "PAYMENT_METHOD_NAME_MAX",
    "clean_display_name",
    "clean_item_name",
    "clean_line",
    "clean_name",
    "clean_text",
    "distinct_name",
    "name_tag",
    "same_name",
    "truncate_utf16",
    "utf16_length",
]

ITEM_NAME_MAX = 100
DISPLAY_NAME_MAX = 500
PAYMENT_METHOD_NAME_MAX = 15  # Finance.xsd: "Length Restriction: QBO: 15"

COLON_REPLACEMENT = "-"


def clean_name(value: str, max_length: int) -> str:
    """A name QuickBooks accepts: a clean line without colons."""
    return clean_line(value.replace(":", COLON_REPLACEMENT), max_length)


def clean_display_name(value: str) -> str:
    return clean_name(value, DISPLAY_NAME_MAX)


def clean_item_name(value: str) -> str:
    return clean_name(value, ITEM_NAME_MAX)
