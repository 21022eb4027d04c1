"""What the sandbox counts per API key: requests and tokens over a rolling minute on its scaled
clock (the rate limits: one over is a 429, not counted), and the ledger of billed calls that tests
and the bench read (tokens and their price, per model)."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.voyage import errors
from local.sandboxes.voyage.config import VoyageConfig
from local.sandboxes.voyage.embeddings import EmbeddingRequest

MINUTE_S = 60
MILLION = Decimal(1_000_000)


class Limits:
    """Requests per minute per key (``requests_per_minute``) and tokens per minute per key and
    model (the model's ``tokens_per_minute``), each over a rolling minute."""

    def __init__(self, config: VoyageConfig, clock: SandboxClock) -> None:
        self.config = config
        self.clock = clock
        self.lock = threading.Lock()
        self.requests: dict[str, deque[float]] = {}
        self.tokens: dict[tuple[str, str], deque[tuple[float, int]]] = {}
        self.refused = 0

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.tokens.clear()
            self.refused = 0

    def admit(self, key_name: str, model: str, tokens: int) -> None:
        """Count the call, or raise a 429 (with Retry-After when the config sends it)."""
        now = self.clock.now()
        with self.lock:
            calls = self.requests.setdefault(key_name, deque())
            while calls and calls[0] <= now - MINUTE_S:
                calls.popleft()
            limit = self.config.requests_per_minute
            if limit and len(calls) >= limit:
                self._refuse("requests per minute", calls[0] + MINUTE_S - now)
            spent = self.tokens.setdefault((key_name, model), deque())
            while spent and spent[0][0] <= now - MINUTE_S:
                spent.popleft()
            budget = self.config.models[model].tokens_per_minute
            if sum(count for _, count in spent) + tokens > budget:
                self._refuse(f"tokens per minute for {model}", spent[0][0] + MINUTE_S - now if spent else 1)
            calls.append(now)
            spent.append((now, tokens))

    def _refuse(self, what: str, wait: float) -> None:
        self.refused += 1
        seconds = max(1, math.ceil(wait / self.clock.scale))
        raise errors.rate_limited(what, seconds if self.config.send_retry_after else None)


@dataclass(frozen=True)
class Billed:
    """One call Voyage answered with vectors, and bills."""

    seq: int
    key: str  # the API key's name
    model: str
    input_type: str | None
    inputs: int
    output_dimension: int
    output_dtype: str
    total_tokens: int
    usd: str  # the call's price, exact


class Ledger:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[Billed] = []

    def bill(self, key_name: str, request: EmbeddingRequest, tokens: int) -> Billed:
        usd = request.spec.usd_per_million_tokens * tokens / MILLION
        with self.lock:
            entry = Billed(
                len(self.calls) + 1,
                key_name,
                request.model,
                request.input_type,
                len(request.inputs),
                request.dimension,
                request.output_dtype,
                tokens,
                format(usd, "f"),
            )
            self.calls.append(entry)
        return entry

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()

    def public(self, key_name: str | None = None) -> dict[str, Any]:
        """The calls (one key's when named) and their totals, overall and by model."""
        with self.lock:
            calls = [call for call in self.calls if key_name is None or call.key == key_name]
        by_model: dict[str, dict[str, Any]] = {}
        for call in calls:
            row = by_model.setdefault(
                call.model, {"requests": 0, "inputs": 0, "tokens": 0, "usd": Decimal(0)}
            )
            row["requests"] += 1
            row["inputs"] += call.inputs
            row["tokens"] += call.total_tokens
            row["usd"] += Decimal(call.usd)
        totals = {
            "requests": len(calls),
            "inputs": sum(call.inputs for call in calls),
            "tokens": sum(call.total_tokens for call in calls),
            "usd": format(sum((Decimal(call.usd) for call in calls), Decimal(0)), "f"),
        }
        return {
            "calls": [asdict(call) for call in calls],
            "totals": totals,
            "by_model": {model: {**row, "usd": format(row["usd"], "f")} for model, row in by_model.items()},
        }
