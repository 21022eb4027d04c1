"""Square payment rules that need no store: ids, references, the location's day, and what the
consumer hands to the payout deposit job (in-memory fakes for the repositories)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from booksync.errors import ConfigurationError
from booksync.payments.square import document_id, local_date, short_reference
from booksync.webhooks.square import parse_event
from booksync.webhooks.square_events import SqsPayoutHandOff, SquareEventProcessor


def test_document_ids_and_references() -> None:
    square_id = "R2B3Z8WMVt3EAmzYWLZvz7Y69EbZY"
    assert document_id(square_id) == f"square-{square_id}"
    reference = short_reference(square_id, 21)  # the limit: the company's books' (QuickBooks: 21)
    assert len(reference) <= 21 and reference == "sq-" + square_id[-18:]
    assert short_reference("abc", 21) == "sq-abc"
    assert short_reference(square_id, None) == f"sq-{square_id}", "books that declare no limit"


@pytest.mark.parametrize(
    ("stamp", "zone", "day"),
    [
        ("2026-11-23T03:30:00Z", "America/Los_Angeles", date(2026, 11, 22)),  # evening the day before
        ("2026-11-23T03:30:00.123456789Z"[:26] + "Z", "Europe/Paris", date(2026, 11, 23)),
        ("2026-11-23T03:30:00Z", None, date(2026, 11, 23)),  # unknown location: UTC
        ("2026-11-23T03:30:00Z", "Not/AZone", date(2026, 11, 23)),
    ],
)
def test_a_payment_is_dated_in_its_location_day(stamp: str, zone: str | None, day: date) -> None:
    assert local_date(stamp, zone) == day


class Events:
    def __init__(self) -> None:
        self.claimed: set[str] = set()
        self.finished: dict[str, tuple[str, str | None]] = {}
        self.released: list[str] = []

    def claim(self, row: Any, *, now: float) -> bool:
        if row.event_key in self.claimed:
            return False
        self.claimed.add(row.event_key)
        return True

    def finish(self, row: Any, *, outcome: str, detail: str | None) -> None:
        self.finished[row.event_key] = (outcome, detail)

    def release(self, row: Any) -> None:
        self.claimed.discard(row.event_key)
        self.released.append(row.event_key)


class Connection:
    def __init__(self, company_id: str) -> None:
        self.company_id = company_id
        self.status = "connected"
        self.locations = [{"id": "L1", "timezone": "America/New_York"}]


class Connections:
    def __init__(self, by_merchant: dict[str, list[Connection]]) -> None:
        self.by_merchant = by_merchant

    def find_by_account(self, provider: str, account_id: str) -> list[Connection]:
        assert provider == "square"
        return self.by_merchant.get(account_id, [])

    def owner_connections(self, provider: str, account_id: str) -> list[Connection]:
        """As ConnectionRepository: the owner's connection; here the merchant's first company owns it."""
        return self.find_by_account(provider, account_id)[:1]


class Payouts:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, message: Any) -> None:
        self.sent.append(dict(message))


class Payments:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []

    def payment(self, company_id: str, payment: Any, *, merchant_id: str | None, timezone: str | None) -> str:
        self.calls.append((company_id, payment.id, timezone))
        return "recorded"

    def refund(self, company_id: str, refund: Any, *, merchant_id: str | None, timezone: str | None) -> str:
        self.calls.append((company_id, refund.id, timezone))
        return "refund_recorded"


ROOT = Path(__file__).resolve().parents[2]
PAYOUT = {
    "id": "po_1",
    "status": "SENT",
    "amount_money": {"amount": 6259, "currency": "USD"},
    "arrival_date": "2026-11-25",
}


def processor(**kw: Any) -> tuple[SquareEventProcessor, Events, Payouts, Payments]:
    events, payouts, payments = Events(), Payouts(), Payments()
    connections = Connections({"M1": [Connection("acme"), Connection("acme-2")]})
    built = SquareEventProcessor(
        events=events,  # type: ignore[arg-type]
        connections=connections,  # type: ignore[arg-type]
        payments=payments,  # type: ignore[arg-type]
        payouts=kw.get("payouts", payouts),
        clock=lambda: 100.0,
    )
    return built, events, payouts, payments


def envelope(kind: str, name: str, obj: dict[str, Any], event_id: str = "e-1", merchant: str = "M1") -> str:
    body = {
        "merchant_id": merchant,
        "type": kind,
        "event_id": event_id,
        "data": {"type": name, "id": obj["id"], "object": {name: obj}},
    }
    return json.dumps(
        {
            "v": 1,
            "provider": "square",
            "received_at": 1.0,
            "signed": True,
            "body": json.dumps(body),
            "malformed": None,
        }
    )


def test_payouts_are_handed_on_once_for_the_company_that_owns_the_merchant_in_the_contract_shape() -> None:
    built, _, payouts, _ = processor()  # acme owns M1; acme-2's row for it is not acted for
    assert built.handle_message(envelope("payout.sent", "payout", PAYOUT)) == "payout_forwarded"
    assert payouts.sent == [
        {"company_id": "acme", "merchant_id": "M1", "payout_id": "po_1", "event_type": "payout.sent", "event_id": "e-1", "payout": PAYOUT}
    ]  # fmt: skip
    assert built.handle_message(envelope("payout.sent", "payout", PAYOUT)) == "duplicate"
    assert len(payouts.sent) == 1


def test_a_missing_payout_queue_releases_the_event_for_a_retry() -> None:
    built, events, _, _ = processor(payouts=SqsPayoutHandOff(None))
    with pytest.raises(ConfigurationError, match="PAYOUT_DEPOSIT_QUEUE_URL"):
        built.handle_message(envelope("payout.failed", "payout", PAYOUT, "e-2"))
    assert events.released == ["square#e-2"] and "square#e-2" not in events.claimed


def test_payments_get_their_location_time_zone_and_strangers_are_acknowledged() -> None:
    built, events, _, payments = processor()
    payment = {
        "id": "pay-1",
        "status": "COMPLETED",
        "amount_money": {"amount": 100, "currency": "USD"},
        "location_id": "L1",
    }
    assert built.handle_message(envelope("payment.updated", "payment", payment)) == "recorded"
    assert payments.calls == [("acme", "pay-1", "America/New_York")]  # the owner's books only
    assert (
        built.handle_message(envelope("payment.created", "payment", payment, "e-3", merchant="M9"))
        == "unknown_merchant"
    )
    assert events.finished["square#e-3"] == (
        "unknown_merchant",
        "No company is connected to Square merchant M9.",
    )
    bad = {**payment, "amount_money": {"amount": 1.5, "currency": "USD"}}
    assert built.handle_message(envelope("payment.updated", "payment", bad, "e-4")) == "malformed_payment"
    assert built.handle_message(envelope("invoice.created", "invoice", {"id": "x"}, "e-5")) == "ignored"


def test_a_kept_malformed_delivery_is_recorded_once() -> None:
    built, events, _, _ = processor()
    message = json.dumps(
        {
            "v": 1,
            "provider": "square",
            "received_at": 1.0,
            "signed": True,
            "body": "{}",
            "malformed": "it has no event_id",
        }
    )
    assert built.handle_message(message) == "malformed"
    assert built.handle_message(message) == "malformed"
    assert len(events.finished) == 1


def test_parse_event_reads_the_sample_delivery() -> None:
    sample = json.loads((ROOT / "events/webhooks/square_payment_updated.json").read_text())
    event = parse_event(sample["body"])
    assert (event.type, event.merchant_id) == ("payment.updated", "6SSW7HV8K2ST5")
    assert event.object("payment") is not None


@pytest.mark.parametrize(
    ("kind", "name", "obj"),
    [
        ("payment.updated", "payment", {"id": "p" * 3_000, "status": "COMPLETED", "amount_money": {"amount": 100, "currency": "USD"}}),
        ("payment.updated", "payment", {"id": "pay-1", "status": "COMPLETED", "amount_money": {"amount": 100, "currency": "USD"}, "reference_id": "i" * 3_000}),
        ("refund.updated", "refund", {"id": "r" * 3_000, "status": "COMPLETED", "payment_id": "pay-1", "amount_money": {"amount": 100, "currency": "USD"}}),
        ("payout.sent", "payout", {**PAYOUT, "id": "po" * 1_500}),
    ],
)  # fmt: skip
def test_ids_too_long_to_be_keys_are_kept_as_malformed_and_never_read(
    kind: str, name: str, obj: dict[str, Any]
) -> None:
    built, events, payouts, payments = processor()
    outcome = built.handle_message(envelope(kind, name, obj))
    assert outcome in ("malformed_payment", "malformed_refund", "no_payout")
    assert payments.calls == [] and payouts.sent == []
    assert events.finished["square#e-1"][0] == outcome
