"""QuickBooks as the core speaks of it (``booksync.providers.profile``)."""

from __future__ import annotations

from booksync.providers.profile import ProviderProfile
from booksync.providers.quickbooks.faults import LABEL
from booksync.providers.quickbooks.names import COLON_REPLACEMENT, clean_item_name, clean_line
from booksync.providers.text import name_key


def item_name_key(name: str | None) -> str:
    """Two item names QuickBooks would store as one (cleaned, cut to its limit, case aside)."""
    return name_key(clean_item_name(name or ""))


def sku_key(sku: str | None) -> str:
    """SKUs are codes: compared cleaned, without regard to case (as the adapter's lookup)."""
    from booksync.providers.quickbooks.mapping import SKU_MAX  # the mapping only where a SKU is compared

    return clean_line(sku or "", SKU_MAX).casefold()


PROFILE = ProviderProfile(
    label=LABEL,
    name_rules=f"{LABEL} limits the length and characters of names (cut to its limit, ':' replaced "
    f"by '{COLON_REPLACEMENT}', control characters removed)",
    item_name_key=item_name_key,
    sku_key=sku_key,
    multicurrency_setting="Settings > Account and settings > Advanced > Currency",
    account_id_key="realm",
    tax_settings=f"the company's sales-tax settings in {LABEL} (automated sales tax can recompute tax)",
)
