"""What embedding a billing record with Voyage AI costs, from the Voyage sandbox's usage.

``memory.cost_per_record_usd``: booksync's Voyage adapter (booksync/memory/voyage.py, voyage-4-lite
at 1024 dimensions, the defaults) embeds every record of the billing memory's labelled history
(tests/data/memory/history.json, each record's ``text()`` as a document) against the Voyage
sandbox; the sandbox's ledger bills the tokens it counted (its stated rule, about 4 characters a
token: local/sandboxes/voyage/README.md) at voyage-4-lite's $0.02 per million; the figure is that
bill over the records (goal at most $0.00002, issue 18). The ledger's price is checked against
booksync's own (``cost_usd``). ``memory.voyage_tokens_per_record``: the tokens billed per record,
with booksync's upfront estimate beside it in the note (``memory.ports.estimate_tokens``, what a
backfill prints before sending) and the requests the adapter's batches took.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from bench.figure import BenchError, Figure, Goal

HISTORY = Path(__file__).resolve().parents[2] / "tests" / "data" / "memory" / "history.json"
MODEL = "voyage-4-lite"


def measure() -> list[Figure]:
    from booksync.memory.ports import Embedder, estimate_tokens
    from booksync.memory.records import BillingRecord
    from booksync.memory.voyage import VoyageEmbedder, cost_usd
    from booksync.providers.http import HttpClient

    from local.sandboxes.voyage.testing import DEFAULT_KEY, VoyageControl, VoyageSandbox

    if not HISTORY.exists():
        raise BenchError(f"{HISTORY} is missing: the billing memory's labelled history (tests/data/memory/)")
    records = [BillingRecord.from_dict(row) for row in json.loads(HISTORY.read_text())]
    texts = [record.text() for record in records]
    with VoyageSandbox() as sandbox, VoyageControl(sandbox.url) as control:
        http = HttpClient(provider="voyage", label="Voyage AI", default_retry_after=None)
        embedder: Embedder = VoyageEmbedder(
            api_key=lambda: DEFAULT_KEY, model=MODEL, base_url=f"{sandbox.url}/v1", http=http
        )
        embedded = embedder.embed(texts, "document")
        billed = control.ledger()["by_model"][MODEL]
    tokens, usd = int(billed["tokens"]), Decimal(billed["usd"])
    if tokens != embedded.total_tokens or cost_usd(MODEL, tokens) != usd:
        raise BenchError(
            f"the sandbox billed {tokens} tokens for ${usd}; the adapter read {embedded.total_tokens} "
            f"tokens, which booksync prices at ${cost_usd(MODEL, tokens)}"
        )
    estimate = sum(map(estimate_tokens, texts))
    count = len(records)
    return [
        Figure(
            "memory.cost_per_record_usd",
            float(usd / count),
            "USD",
            Goal("<=", 0.00002),
            note=f"{count} records of tests/data/memory/history.json, {tokens} tokens billed by the "
            f"Voyage sandbox at {MODEL}'s $0.02 per million: ${usd} in all",
        ),
        Figure(
            "memory.voyage_tokens_per_record",
            round(tokens / count, 1),
            "tokens",
            note=f"the sandbox's count (about 4 characters a token); booksync's upfront estimate "
            f"{estimate / count:.1f} a record (one per 4 characters); {billed['requests']} request(s) "
            f"for {count} records",
        ),
    ]
