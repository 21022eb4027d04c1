"""What the core says of a provider, declared by the provider's own package: the name a person
reads, the rules its books apply to names, and where its own settings are: part of its
declaration (``providers/declaration.py``). The sync engine, the catalog sync and the wizard ask
``profile(provider)`` instead of knowing QuickBooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _folded(text: str | None) -> str:
    return " ".join((text or "").lower().split())


@dataclass(frozen=True)
class ProviderProfile:
    label: str  # the provider's name in messages: "QuickBooks"
    # Why the provider may store a name otherwise than sent: "QuickBooks limits the length..."
    name_rules: str
    # What makes two item names one there (as it would store and compare them).
    item_name_key: Callable[[str | None], str] = _folded
    sku_key: Callable[[str | None], str] = _folded
    # Where a person turns multicurrency on in the provider's own menus (None: not said).
    multicurrency_setting: str | None = None
    # What may make the provider's invoice total differ from booksync's (its own tax settings).
    tax_settings: str = ""
    # What the provider calls the account a consent is for, the key of its id among the
    # connection's ids ({"realm": ...}); a connection stored before it kept ids is read so.
    account_id_key: str = "account"
    # What an account must be for the provider to let an app connect it, said when a consent is
    # refused (Wave: paid plans, USD or CAD); "" when it lets any.
    connect_requirements: str = ""

    def __post_init__(self) -> None:
        if not self.tax_settings:
            object.__setattr__(self, "tax_settings", f"the company's tax settings in {self.label}")


def profile(provider: str) -> ProviderProfile:
    """What the provider's declaration says of it (``providers/registry.py``)."""
    from booksync.providers.registry import declaration

    return declaration(provider).profile


def provider_label(provider: str) -> str:
    return profile(provider).label
