"""Settings of one Square sandbox instance. Defaults are Square's published values (providers.md 5)."""

from __future__ import annotations

from dataclasses import dataclass, field

from local.sandboxes.kit.oauth import ClientApp

__all__ = ["ClientApp", "FeeModel", "SquareConfig"]


@dataclass
class FeeModel:
    """Square's US card-not-present rate (2.9% + 30c online; 2.6% + 15c in person is the default here).

    Basis points and cents so every fee is an exact integer of minor units.
    """

    card_rate_bps: int = 260
    card_fixed_cents: int = 15
    # Refunds give back the processing fee in proportion (the spec's REFUND entry: fee -2 on -50).
    refund_returns_fee: bool = True
    # Instant transfers cost 1.75% of the amount moved (PayoutFee type TRANSFER_FEE).
    instant_rate_bps: int = 175

    def card_fee(self, total_cents: int) -> int:
        """Rounded half up to the cent, as Square rounds fees."""
        return (total_cents * self.card_rate_bps + 5_000) // 10_000 + self.card_fixed_cents

    def instant_fee(self, amount_cents: int) -> int:
        return (abs(amount_cents) * self.instant_rate_bps + 5_000) // 10_000


@dataclass
class SquareConfig:
    """Read on every request, so tests may change fields of a running sandbox."""

    clients: dict[str, ClientApp] = field(default_factory=dict)
    # >1 makes token and code lifetimes pass that many times faster.
    clock_scale: float = 1.0
    # Square: access tokens live 30 days; codes 5 minutes; code-flow refresh tokens never expire,
    # PKCE-flow ones are single-use and expire after 90 days.
    access_token_lifetime_s: int = 30 * 24 * 3600
    auth_code_lifetime_s: int = 300
    pkce_refresh_token_lifetime_s: int = 90 * 24 * 3600
    # The largest page the list endpoints answer (Square: 100); set it low to exercise cursors.
    page_size: int = 100
    send_retry_after: bool = True
    # Deliver webhooks to the subscriptions as soon as an action produces an event.
    auto_deliver: bool = True
    # "approve" or "deny": what the merchant answers on the consent page.
    consent: str = "approve"
    fees: FeeModel = field(default_factory=FeeModel)
    currency: str = "USD"

    def __post_init__(self) -> None:
        if self.clock_scale <= 0:
            raise ValueError("clock_scale must be > 0")
