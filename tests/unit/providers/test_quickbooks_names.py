"""Name cleaning: examples and properties."""

from __future__ import annotations

import unicodedata

import pytest
from booksync.providers.quickbooks.names import (
    DISPLAY_NAME_MAX,
    ITEM_NAME_MAX,
    clean_display_name,
    clean_item_name,
    clean_line,
    clean_name,
    clean_text,
    truncate_utf16,
    utf16_length,
)
from hypothesis import example, given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("TKO-\t813PB-1500B", "TKO-813PB-1500B"),
        ("  Acme   Plumbing  ", "Acme Plumbing"),
        ("Acme:Plumbing:Job 1", "Acme-Plumbing-Job 1"),
        ("Line\nbreak", "Linebreak"),
        ("Null\x00byte\x7f", "Nullbyte"),
        ("Zero\u200bwidth", "Zerowidth"),
        ("Non\u00a0breaking", "Non breaking"),
        ("Cafe\u0301", "Caf\u00e9"),  # NFC: the same name however it was typed
        ("O'Brien & Sons, Inc.", "O'Brien & Sons, Inc."),
    ],
)
def test_examples(raw: str, clean: str) -> None:
    assert clean_item_name(raw) == clean


def test_limits() -> None:
    assert len(clean_item_name("x" * 150)) == ITEM_NAME_MAX
    assert len(clean_display_name("y" * 600)) == DISPLAY_NAME_MAX
    # Cut never leaves a trailing space.
    assert clean_item_name("a" * 99 + " bc") == "a" * 99


def test_truncation_never_splits_a_surrogate_pair() -> None:
    name = "a" * 99 + "\U0001f600"  # emoji: two UTF-16 units
    assert clean_item_name(name) == "a" * 99
    assert truncate_utf16("\U0001f600\U0001f600", 3) == "\U0001f600"
    assert utf16_length("a\U0001f600") == 3


def test_clean_text_keeps_newlines() -> None:
    assert clean_text("Line 1\r\nLine\x00 2\t\n", 100) == "Line 1\nLine 2"


names = st.text(
    alphabet=st.characters(codec="utf-8") | st.sampled_from("\t\n\r :\x00\u200b\u00a0\u0301"),
    max_size=700,
)
limits = st.integers(min_value=1, max_value=600)


def _is_clean(name: str, limit: int) -> None:
    assert ":" not in name
    assert all(unicodedata.category(ch) not in ("Cc", "Cs") for ch in name)
    assert "\u200b" not in name
    assert name == name.strip()
    assert "  " not in name
    assert utf16_length(name) <= limit
    assert unicodedata.is_normalized("NFC", name)


@given(names, limits)
@example("TKO-\t813PB-1500B", 100)
@example("a" * 99 + "\U0001f600", 100)
@example("e\u0301" * 3, 2)
def test_clean_name_properties(raw: str, limit: int) -> None:
    cleaned = clean_name(raw, limit)
    _is_clean(cleaned, limit)
    assert clean_name(cleaned, limit) == cleaned  # idempotent: lookups find what was sent


def _nfc_visible(text: str) -> str:
    kept = (ch for ch in text if not ch.isspace() and ch != "\u200b")
    return unicodedata.normalize("NFC", "".join(ch for ch in kept if unicodedata.category(ch) != "Cc"))


@given(names)
def test_clean_name_only_removes(raw: str) -> None:
    """Without truncation nothing visible is lost: every other character survives, in order."""
    cleaned = clean_name(raw, 10_000)
    assert _nfc_visible(cleaned) == _nfc_visible(raw.replace(":", "-"))


@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=":"),
        min_size=1,
        max_size=100,
    )
)
def test_clean_names_are_unchanged(raw: str) -> None:
    assert clean_item_name(raw) == raw


@given(names, limits)
def test_clean_line_keeps_colons(raw: str, limit: int) -> None:
    cleaned = clean_line(raw, limit)
    assert utf16_length(cleaned) <= limit
    assert raw.count(":") >= cleaned.count(":")
