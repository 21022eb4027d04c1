"""Text cleaning before anything is sent to a provider, and the small field helpers every
provider's mapping uses.

- Control characters are removed, not replaced: field apps paste SKUs like "TKO-\\t813PB-1500B"
  whose tab is an artefact, and providers refuse them.
- Lengths are counted in UTF-16 code units (as Intuit's Java and Xero's .NET backends count
  them), and text is cut on a character boundary so a surrogate pair (emoji) is never split.
- A name made unique to one document (``distinct_name``) is the same each time, so a lookup
  after an uncertain create finds it.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from booksync import currency as iso
from booksync.documents import Address, Invoice
from booksync.errors import Rejected

if TYPE_CHECKING:
    from booksync.documents import Customer
    from booksync.providers.port import RemoteCustomer

# Characters that render as nothing and only make two equal-looking names differ.
_INVISIBLE = frozenset("\u200b\u2060\ufeff")


def _dropped(char: str) -> bool:
    # Cc: C0/C1 controls incl. tab and newline; Cs: lone surrogates, which cannot be encoded.
    return char in _INVISIBLE or unicodedata.category(char) in ("Cc", "Cs")


def utf16_length(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def truncate_utf16(text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return text[:index]
    return text


def _collapse(text: str) -> str:
    # str.split() with no argument splits on every Unicode space (NBSP, line separators…).
    return " ".join(text.split())


def clean_line(value: str, max_length: int) -> str:
    """One line of text: controls removed, whitespace collapsed and trimmed, length bounded."""
    text = unicodedata.normalize("NFC", value)
    text = _collapse("".join(char for char in text if not _dropped(char)))
    # Cutting can leave a trailing space, and in rare cases a prefix that NFC composes further.
    while True:
        cut = _collapse(unicodedata.normalize("NFC", truncate_utf16(text, max_length)))
        if cut == text:
            return cut
        text = cut


def name_key(name: str) -> str:
    """What makes two names one where a provider keeps them unique regardless of case (QuickBooks,
    Xero): letter case only. Nothing is folded further: "Strauß" is not "Strauss", "a:b" is not "a-b"."""
    return name.strip().lower()


def same_name(stored: str, wanted: str) -> bool:
    """``stored`` (what the provider holds) is exactly the name ``wanted``, letter case aside."""
    return name_key(stored) == name_key(wanted)


def name_tag(doc_id: str) -> str:
    """Six characters that stand for one booksync document (base32 of a hash of its id)."""
    digest = hashlib.sha256(doc_id.encode()).digest()
    return base64.b32encode(digest).decode()[:6].lower()


def distinct_name(cleaned: str, doc_id: str, max_length: int) -> str:
    """``cleaned`` made unique to one document within ``max_length``: "Jane Smith (k3f9qz)".

    The same document always gets the same name, so a lookup after an uncertain create finds it.
    """
    suffix = f" ({name_tag(doc_id)})"
    return clean_line(cleaned, max_length - len(suffix)) + suffix


def clean_text(value: str, max_length: int) -> str:
    """Multi-line text (descriptions, memos): keeps newlines, drops other controls, bounds length."""
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n")
    text = "".join(char for char in text if char in "\n\t" or not _dropped(char))
    return truncate_utf16(text.strip(), max_length).rstrip()


# ---------------------------------------------------------------------- fields of a provider's JSON


def put(body: dict[str, Any], key: str, value: Any) -> None:
    """Set only what has a value: in an update an absent key leaves the provider's value alone."""
    if value not in (None, "", {}, []):
        body[key] = value


def line(value: str | None, limit: int) -> str | None:
    return clean_line(value, limit) if value else None


def unlinked_item(item_id: str, *, provider: str, label: str) -> Rejected:
    """An invoice line whose item has no object in the provider's books (yet, or any more)."""
    return Rejected(
        f"The invoice line for item {item_id!r} has no linked {label} item",
        provider=provider,
        fix="Sync the item first (or check that it still exists), then sync the invoice again.",
    )


def not_empty(name: str, what: str, original: str, *, provider: str, label: str) -> str:
    """``name`` (``original`` cleaned), refused when nothing is left of it."""
    if not name:
        raise Rejected(
            f"The {what} name {original!r} is empty once characters {label} refuses are removed",
            provider=provider,
            fix=f"Give the {what} a name with letters or digits, then sync again.",
        )
    return name


def decimal_or_none(value: Any) -> Decimal | None:
    """A number of a provider's answer as Decimal; None where it is none."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def text_or_none(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


# booksync's limits of an address's fields (documents.Address).
ADDRESS_TEXT_MAX, ADDRESS_REGION_MAX, POSTAL_CODE_MAX = 4000, 255, 30


def bounded_address(
    *, line1: Any, line2: Any, city: Any, region: Any, postal_code: Any, country: Any
) -> Address | None:
    """A provider's address as booksync keeps one, each field one line within booksync's limit
    (a provider may allow longer); None when it has nothing."""
    fields = {
        "line1": line(text_or_none(line1), ADDRESS_TEXT_MAX),
        "line2": line(text_or_none(line2), ADDRESS_TEXT_MAX),
        "city": line(text_or_none(city), ADDRESS_TEXT_MAX),
        "region": line(text_or_none(region), ADDRESS_REGION_MAX),
        "postal_code": line(text_or_none(postal_code), POSTAL_CODE_MAX),
        "country": line(text_or_none(country), ADDRESS_REGION_MAX),
    }
    return Address(**fields) if any(fields.values()) else None


def shares(total: Decimal, weights: Sequence[Decimal], unit: Decimal) -> list[Decimal]:
    """``total`` split over ``weights`` in whole ``unit``s, summing to it exactly (the remainder
    to the largest fractions first)."""
    whole = sum(weights, Decimal(0))
    if not total or not whole:
        return [Decimal(0) for _ in weights]
    exact = [total * weight / whole for weight in weights]
    parts = [(value / unit).to_integral_value(rounding="ROUND_FLOOR") * unit for value in exact]
    left = int(((total - sum(parts, Decimal(0))) / unit).to_integral_value())
    order = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for index in order[:left]:
        parts[index] += unit
    return parts


def line_shares(invoice: Invoice) -> list[tuple[Decimal, Decimal]]:
    """Each line's share of the invoice's discount and of its tax (on the taxable lines after
    their discount), in the currency's units: they add up to booksync's discount and tax
    exactly, so books given them per line hold booksync's totals to the cent."""
    unit = iso.unit(invoice.currency)
    amounts = [invoice.line_amount(line) for line in invoice.lines]
    discounts = shares(invoice.discount_amount, amounts, unit)
    nets = [amount - discount for amount, discount in zip(amounts, discounts, strict=True)]
    taxes = shares(
        invoice.tax_amount,
        [net if line.taxable else Decimal(0) for line, net in zip(invoice.lines, nets, strict=True)],
        unit,
    )
    return list(zip(discounts, taxes, strict=True))


Row = Mapping[str, Any]


def customer_row(
    customer: Customer,
    rows: Sequence[Row],
    *,
    number: str,
    number_of: Callable[[Row], Any],
    name: str,
    name_of: Callable[[Row], Any],
    remote: Callable[[Row], RemoteCustomer],
) -> Row | None:
    """Which of the books' ``rows`` is ``customer``: the one carrying booksync's id of it
    (``number``: Xero's ContactNumber, Wave's displayId); else one under its ``name``, carrying
    no other number, that surely is this customer (the wizard's duplicate judgement)."""
    ours = next((row for row in rows if number_of(row) == number), None)
    if ours is not None:
        return ours
    for row in rows:
        if number_of(row) or not same_name(str(name_of(row) or ""), name):
            continue
        from booksync.onboarding.duplicates import surely_same  # rapidfuzz loads only here

        if surely_same(customer, remote(row)):
            return row
    return None
