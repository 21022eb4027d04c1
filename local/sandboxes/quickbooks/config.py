"""Settings of one sandbox instance. Defaults are Intuit's published values (providers.md 1.1, 1.6)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from local.sandboxes.kit.oauth import ClientApp

__all__ = ["ClientApp", "Limits", "SandboxConfig", "new_realm_id"]


def new_realm_id() -> str:
    """A realm id shaped like Intuit's sandbox company ids (19 digits starting 9130)."""
    return "9130" + "".join(str(secrets.randbelow(10)) for _ in range(15))


@dataclass
class Limits:
    """Throttles per realm (Intuit: 500/min, 10 concurrent, 40 batch/min, 30 items per batch)."""

    requests_per_minute: int = 500
    max_concurrent: int = 10
    batch_per_minute: int = 40
    batch_max_items: int = 30


@dataclass
class SandboxConfig:
    """Read on every request, so tests may change fields of a running sandbox."""

    clients: dict[str, ClientApp] = field(default_factory=dict)
    latency_ms: int = 0
    # >1 makes token lifetimes, code expiry and rate-limit windows pass that many times faster.
    clock_scale: float = 1.0
    honor_request_id: bool = True
    send_retry_after: bool = True
    limits: Limits = field(default_factory=Limits)
    access_token_lifetime_s: int = 3600
    # Intuit answers x_refresh_token_expires_in=8726400 (about 100 days, rolling).
    refresh_token_lifetime_s: int = 8_726_400
    auth_code_lifetime_s: int = 600
    realm_id_factory: Callable[[], str] = new_realm_id
    company_timezone: str = "America/Los_Angeles"

    def __post_init__(self) -> None:
        if self.clock_scale <= 0:
            raise ValueError("clock_scale must be > 0")
