"""Settings of one Wave sandbox instance. Defaults follow providers.md 4 and 7.3 (7.3 wins)."""

from __future__ import annotations

from dataclasses import dataclass, field

from local.sandboxes.kit.oauth import ClientApp

__all__ = ["REFRESH_MODES", "ClientApp", "WaveConfig"]

# What a refresh answers about the refresh token: a new one (the spent one dies), the same one
# again, or none at all (the client keeps the one it has, which stays valid).
REFRESH_MODES = ("rotate", "same", "omit")


@dataclass
class WaveConfig:
    """Read on every request, so tests may change fields of a running sandbox."""

    clients: dict[str, ClientApp] = field(default_factory=dict)
    # >1 makes token lifetimes and dates pass that many times faster.
    clock_scale: float = 1.0
    # Wave's access tokens are short-lived, about 2 hours (providers.md 4; exact value unconfirmed).
    access_token_lifetime_s: int = 2 * 3600
    auth_code_lifetime_s: int = 10 * 60
    # Refresh tokens may rotate, and an answer may omit one (providers.md 7.3).
    refresh_mode: str = "rotate"
    # 3rd-party connector docs say a refresh token needs offline_access; the 3rd-party client whose
    # scopes were checked live gets one without asking for it. Off by default.
    refresh_requires_offline_access: bool = False
    # Rate limits are unpublished; a 429 with Retry-After is seen around 2 concurrent requests
    # (providers.md 7.3). More than this many calls in flight per user is a 429.
    concurrent_limit: int = 2
    retry_after_s: int = 1
    # Seconds each GraphQL call is held before it is served (to make calls overlap in tests).
    latency_s: float = 0.0

    def __post_init__(self) -> None:
        if self.clock_scale <= 0:
            raise ValueError("clock_scale must be > 0")
        if self.refresh_mode not in REFRESH_MODES:
            raise ValueError(f"refresh_mode must be one of {REFRESH_MODES}")
