"""Settings of one FreshBooks sandbox instance. Defaults are FreshBooks' published values where
there are some (providers.md 3, 7.2); README.md says where each comes from."""

from __future__ import annotations

from dataclasses import dataclass, field

from local.sandboxes.kit.oauth import ClientApp

__all__ = ["ERROR_STYLES", "ClientApp", "FreshBooksConfig"]

HOUR_S = 3600
# How the accounting API words its errors: FreshBooks' legacy ``{"response": {"errors": [...]}}``
# or its newer ``{"code", "message", "details": [ErrorInfo]}`` (providers.md 7.2).
ERROR_STYLES = ("legacy", "rpc")


@dataclass
class FreshBooksConfig:
    """Read on every request, so tests may change fields of a running sandbox."""

    clients: dict[str, ClientApp] = field(default_factory=dict)
    # >1 makes token lifetimes and limit windows pass that many times faster.
    clock_scale: float = 1.0
    access_token_lifetime_s: int = 12 * HOUR_S
    auth_code_lifetime_s: int = 5 * 60
    # FreshBooks publishes no rate limit: a call over this many a minute for one business is a
    # 429 with Retry-After (0: no limit).
    business_minute_limit: int = 300
    # ... and a call while this many of the business's are in flight is a 429 too (0: no limit).
    business_concurrent_limit: int = 0
    # Every accounting call takes this long (sandbox milliseconds) while holding its place, so
    # calls overlap (the conformance suite's concurrency test).
    latency_ms: int = 0
    # The page a list answers when no per_page is asked, and the largest one asked (SDK MAX_PER_PAGE).
    per_page: int = 15
    max_per_page: int = 100
    error_style: str = "legacy"
    # Webhook callbacks: "async" posts each event as FreshBooks does (from a worker thread, soon
    # after the change); "manual" keeps them until POST /_sandbox/callbacks/deliver.
    delivery: str = "async"

    def __post_init__(self) -> None:
        if self.clock_scale <= 0:
            raise ValueError("clock_scale must be > 0")
        if self.error_style not in ERROR_STYLES:
            raise ValueError(f"error_style must be one of {ERROR_STYLES}")
        if self.delivery not in ("async", "manual"):
            raise ValueError("delivery must be async or manual")
