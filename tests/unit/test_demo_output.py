"""The demo's output reads as a person writes: amounts with two decimals, details on one line."""

from __future__ import annotations

from decimal import Decimal

from scripts.demo import money, short


def test_amounts_print_as_a_person_writes_them() -> None:
    assert [money(v) for v in (Decimal("0.0"), 355.5, "55.5", 0, Decimal("-12.39"))] == [
        "0.00",
        "355.50",
        "55.50",
        "0.00",
        "-12.39",
    ]


def test_a_detail_stays_on_one_line_and_is_cut_at_a_word() -> None:
    text = "quickbooks no longer accepts this connection's refresh token:\nQuickBooks no longer accepts it"
    cut = short(text, 40)
    assert "\n" not in cut and cut.endswith(" …") and len(cut) <= 42
    assert cut == "quickbooks no longer accepts this …"
    assert short("fits as it is") == "fits as it is"


def test_a_detail_without_a_space_is_cut_at_the_limit() -> None:
    url = "https://sandbox-quickbooks.api.intuit.com/v3/company/9130/invoice/177?minorversion=75"
    assert short(url, 40) == url[:40] + " …"
