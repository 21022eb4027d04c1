"""ISO 4217 currencies and their minor units: which codes booksync accepts, how many decimals each allows.

Source: ISO 4217 list one ("current currency & funds"), as SIX Financial Information publishes it,
read from datasets/currency-codes ``data/codes-all.csv`` at commit ab9b0ae8 (2026-02-01): every code
without a withdrawal date whose minor unit is 0, 2 or 3. Left out on purpose: fund and accounting
codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW, XAD), precious metals and test codes (minor
unit "N.A."), since nobody invoices in them. When ISO amends the list, update the three strings.

booksync's amounts have at most 2 decimals whatever the currency (the API's money fields, as
QuickBooks Online's amounts, are to the cent): a currency with fewer (JPY) refuses what it cannot
hold; a 3-decimal currency (KWD, BHD) is limited to 2, a known limit rather than a rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final, TypeGuard

_ZERO: Final = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE: Final = "BHD IQD JOD KWD LYD OMR TND"
_TWO: Final = (
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BRL "
    "BSD BTN BWP BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP "
    "DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL "
    "HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR "
    "LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN "
    "NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB "
    "SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB "
    "TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED VES WST XCD XCG "
    "YER ZAR ZMW ZWG"
)

# code -> decimals after the point (JPY 0, USD 2, KWD 3)
MINOR_UNITS: Final[Mapping[str, int]] = {
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
}
EXPECTED_FORM: Final = "the three-letter ISO 4217 code of a currency in use, e.g. USD, EUR, GBP, JPY"


def is_currency(code: object) -> TypeGuard[str]:
    """``code`` is the ISO 4217 code of a currency in use (USD, JPY): the one check of a currency
    code, for booksync's door and the local sandboxes alike (three capitals such as XYZ are not)."""
    return isinstance(code, str) and code in MINOR_UNITS


def minor_units(code: str) -> int:
    """Decimals the currency allows; 2 for a code not in the table (callers validate codes first)."""
    return MINOR_UNITS.get(code, 2)


def unit(code: str) -> Decimal:
    """The smallest amount of the currency: ``Decimal("0.01")`` for USD, ``Decimal("1")`` for JPY."""
    return Decimal(1).scaleb(-minor_units(code))


def fits(amount: Decimal, code: str) -> bool:
    """``amount`` has no more decimals than ``code`` allows (380.00 JPY fits; 380.5 JPY does not)."""
    return amount == amount.quantize(unit(code))


def too_precise(what: str, amount: Decimal, code: str) -> str:
    """The words for an amount with more decimals than its currency has."""
    places = minor_units(code)
    allowed = "no decimals" if places == 0 else f"at most {places} decimal{'s' if places > 1 else ''}"
    return f"{what} {amount} has more decimals than {code} allows ({allowed})"
