"""Settings of one Xero sandbox instance. Defaults are Xero's published values (providers.md 2, 7.1)."""

from __future__ import annotations

from dataclasses import dataclass, field

from local.sandboxes.kit.oauth import ClientApp

__all__ = ["ClientApp", "XeroConfig"]

DAY_S = 24 * 3600


@dataclass
class XeroConfig:
    """Read on every request, so tests may change fields of a running sandbox."""

    clients: dict[str, ClientApp] = field(default_factory=dict)
    # >1 makes token lifetimes and limit windows pass that many times faster.
    clock_scale: float = 1.0
    access_token_lifetime_s: int = 30 * 60
    auth_code_lifetime_s: int = 5 * 60
    # A spent refresh token is still accepted this long (Xero: 30 minutes) ...
    refresh_grace_s: int = 30 * 60
    # ... and a refresh token unused this long lapses (Xero: 60 days).
    refresh_idle_s: int = 60 * DAY_S
    # Apps created since 2026-03-02 must ask for granular scopes: a broad one is invalid_scope.
    granular_only: bool = True
    # Xero's limits: per tenant 5 in flight, 60 a minute, a daily cap by the app's tier
    # (1,000 Starter, 5,000 Core and above); 10,000 a minute per app across tenants.
    concurrent_limit: int = 5
    minute_limit: int = 60
    day_limit: int = 5_000
    app_minute_limit: int = 10_000
    # Idempotency-Key: answers kept 6 minutes from the first call.
    idempotency_ttl_s: int = 6 * 60
    # The largest page list endpoints answer when no pageSize is asked (Xero: 100).
    page_size: int = 100
    # Check each Accounting request and answer against specs/xero/xero_accounting.yaml
    # (GET /_sandbox/spec lists what did not match); the local stack's sandbox does.
    check_spec: bool = False

    def __post_init__(self) -> None:
        if self.clock_scale <= 0:
            raise ValueError("clock_scale must be > 0")
