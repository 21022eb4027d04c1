"""An in-memory Square for the payout job: payout entries by payout id, read as the client reads them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from booksync.providers.square.models import PayoutEntry


def money(cents: int) -> dict[str, Any]:
    return {"amount": cents, "currency": "USD"}


def payout_object(payout_id: str, cents: int, *, status: str = "SENT", **extra: Any) -> dict[str, Any]:
    """A Square Payout as the webhook carries it (``data.object.payout``)."""
    return {
        "id": payout_id,
        "status": status,
        "location_id": "L1",
        "amount_money": money(cents),
        "arrival_date": "2026-11-20",
        "end_to_end_id": "L2100000005",
        "type": "BATCH",
        "destination": {"type": "BANK_ACCOUNT", "id": "ccof:bank-1"},
        "version": 1,
        **extra,
    }


def entry_object(n: int, payout_id: str, kind: str, gross: int, fee: int, **details: str) -> dict[str, Any]:
    return {
        "id": f"poe_{payout_id}_{n}",
        "payout_id": payout_id,
        "effective_at": "2026-11-19T10:00:00Z",
        "type": kind,
        "gross_amount_money": money(gross),
        "fee_amount_money": money(fee),
        "net_amount_money": money(gross - fee),
        f"type_{kind.lower()}_details": details,
    }


class InMemorySquare:
    def __init__(self) -> None:
        self.entries: dict[str, list[dict[str, Any]]] = {}
        self.reads: Counter[str] = Counter()

    def iter_payout_entries(self, payout_id: str) -> Iterator[PayoutEntry]:
        self.reads[payout_id] += 1
        for data in self.entries.get(payout_id, []):
            yield PayoutEntry.from_square(data)
