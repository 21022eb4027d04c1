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

import base64
import hashlib
import unicodedata

ITEM_NAME_MAX = 100
DISPLAY_NAME_MAX = 500
PAYMENT_METHOD_NAME_MAX = 15  # Finance.xsd: "Length Restriction: QBO: 15"

# Characters that render as nothing and only make two equal-looking names differ.
_INVISIBLE = frozenset("\u200b\u2060\ufeff")
COLON_REPLACEMENT = "-"


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


def clean_name(value: str, max_length: int) -> str:
    """A name QuickBooks accepts: a clean line without colons."""
    return clean_line(value.replace(":", COLON_REPLACEMENT), max_length)


def clean_display_name(value: str) -> str:
    return clean_name(value, DISPLAY_NAME_MAX)


def clean_item_name(value: str) -> str:
    return clean_name(value, ITEM_NAME_MAX)


def name_key(name: str) -> str:
    """What makes two names one in QuickBooks: letter case only (it keeps names unique regardless
    of case). Nothing is folded further: "Strauß" is not "Strauss", "a:b" is not "a-b"."""
    return name.strip().lower()


def same_name(stored: str, wanted: str) -> bool:
    """``stored`` (what QuickBooks holds) is exactly the name ``wanted``, letter case aside."""
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
