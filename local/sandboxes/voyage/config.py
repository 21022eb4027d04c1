"""Settings of one Voyage sandbox instance: the API keys it accepts, the models it serves with
their limits and prices, and its rate limits (providers.md 7.4; what is assumed says so)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

# Voyage's dimensions for the models that offer a choice (``output_dimension``).
FLEXIBLE_DIMENSIONS = (256, 512, 1024, 2048)
DEFAULT_KEY = "pa-voyage-sandbox-key"


@dataclass(frozen=True)
class ModelSpec:
    """One model as Voyage serves it: the most tokens one request may carry (all inputs
    together), an input's context length, its dimensions (the first is the default answer when
    ``output_dimension`` is null), tokens per minute at tier 1 and the price per million tokens."""

    tokens_per_request: int
    context_length: int
    dimensions: tuple[int, ...]
    default_dimension: int
    tokens_per_minute: int
    usd_per_million_tokens: Decimal


# Tokens per request and prices: providers.md 7.4 (mongodb.com/docs/voyageai/models). Tokens per
# minute: 16M for the lite models (providers.md 7.4); 8M and 3M for the others are assumed.
# Context length 32,000 and the 1024 default dimension: assumed from Voyage's model pages.
MODELS: dict[str, ModelSpec] = {
    "voyage-4-lite": ModelSpec(1_000_000, 32_000, FLEXIBLE_DIMENSIONS, 1024, 16_000_000, Decimal("0.02")),
    "voyage-4": ModelSpec(320_000, 32_000, FLEXIBLE_DIMENSIONS, 1024, 8_000_000, Decimal("0.06")),
    "voyage-4-large": ModelSpec(120_000, 32_000, FLEXIBLE_DIMENSIONS, 1024, 3_000_000, Decimal("0.12")),
    "voyage-3.5-lite": ModelSpec(1_000_000, 32_000, FLEXIBLE_DIMENSIONS, 1024, 16_000_000, Decimal("0.02")),
    "voyage-3.5": ModelSpec(320_000, 32_000, FLEXIBLE_DIMENSIONS, 1024, 8_000_000, Decimal("0.06")),
}


@dataclass
class VoyageConfig:
    """Read on every request, so tests may change fields of a running sandbox."""

    # The API keys Voyage accepts, each with a name (the request log's and the ledger's account).
    api_keys: dict[str, str] = field(default_factory=lambda: {DEFAULT_KEY: "default"})
    models: dict[str, ModelSpec] = field(default_factory=lambda: dict(MODELS))
    # At most this many strings in one request's ``input`` (providers.md 7.4).
    max_inputs: int = 1000
    # Requests per minute per key at tier 1 (providers.md 7.4); 0 turns the limit off.
    requests_per_minute: int = 2000
    # Whether a 429 carries Retry-After (Voyage's docs do not say: assumed yes; off, clients back
    # off on their own): the seconds until the rolling minute lets a call in again.
    send_retry_after: bool = True
    # >1 makes the per-minute windows pass that many times faster.
    clock_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.clock_scale <= 0:
            raise ValueError("clock_scale must be > 0")
