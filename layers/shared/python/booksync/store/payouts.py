"""Payout rows: each Square payout booksync heard of, its state and the deposit it became."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.exceptions import PutError
from pynamodb.expressions.update import Action

from booksync.store.models import PayoutModel

WAITING = "waiting"


class PayoutStatus:
    RECEIVED = "received"
    WAITING = "waiting"
    DEPOSITED = "deposited"
    FAILED = "failed"
    SKIPPED = "skipped"
    NOT_BALANCED = "not_balanced"
    # The company's books cannot book a payout (their provider's declaration says so).
    NOT_SUPPORTED = "not_supported"


def _put(attribute: Attribute[Any], value: Any) -> Action:
    """Set the value, or remove the attribute when there is none."""
    return attribute.remove() if value is None else attribute.set(value)


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class PayoutRepository:
    def get(self, company_id: str, payout_id: str) -> PayoutModel | None:
        try:
            return PayoutModel.get(company_id, payout_id, consistent_read=True)
        except PayoutModel.DoesNotExist:
            return None

    def received(
        self,
        company_id: str,
        payout: Mapping[str, Any],
        *,
        merchant_id: str | None,
        event_type: str,
        event_id: str,
        now: float,
    ) -> PayoutModel:
        """The row for this payout (made on first sight), with Square's latest object on it."""
        payout_id = str(payout["id"])
        money = payout.get("amount_money") or {}
        try:
            PayoutModel(
                company_id, payout_id, status=PayoutStatus.RECEIVED, first_seen_at=now, updated_at=now
            ).save(condition=PayoutModel.payout_id.does_not_exist())
        except PutError as exc:
            if not _conditional_failed(exc):
                raise
        row = PayoutModel(company_id, payout_id)
        actions: list[Action] = [
            PayoutModel.payout.set(dict(payout)),
            PayoutModel.square_status.set(str(payout.get("status") or "")),
            _put(PayoutModel.arrival_date, payout.get("arrival_date")),
            _put(PayoutModel.end_to_end_id, payout.get("end_to_end_id")),
            PayoutModel.currency.set(str(money.get("currency") or money.get("currency_code") or "USD")),
            PayoutModel.last_event_type.set(event_type),
            PayoutModel.last_event_id.set(event_id),
            PayoutModel.updated_at.set(now),
        ]
        if merchant_id:
            actions.append(PayoutModel.merchant_id.set(merchant_id))
        row.update(actions=actions)
        found = self.get(company_id, payout_id)
        assert found is not None  # just written
        return found

    def settle(
        self,
        row: PayoutModel,
        *,
        status: str,
        now: float,
        run_id: str | None,
        amount: str | None = None,
        reason: str | None = None,
        waiting_for: list[str] | None = None,
        lines: list[dict[str, Any]] | None = None,
        lines_total: str | None = None,
        deposit_id: str | None = None,
    ) -> None:
        """Record where the payout stands now (one update; a deposited payout keeps its deposit)."""
        actions: list[Action] = [
            PayoutModel.status.set(status),
            PayoutModel.updated_at.set(now),
            _put(PayoutModel.reason, reason),
            _put(PayoutModel.waiting_for, waiting_for or None),
            _put(PayoutModel.waiting_key, WAITING if status == PayoutStatus.WAITING else None),
        ]
        if run_id is not None:
            actions.append(PayoutModel.last_run_id.set(run_id))
        if amount is not None:
            actions.append(PayoutModel.amount.set(amount))
        if lines is not None:
            actions.append(PayoutModel.lines.set(lines))
            actions.append(_put(PayoutModel.lines_total, lines_total))
        if deposit_id is not None:
            actions.append(PayoutModel.deposit_id.set(deposit_id))
        row.update(actions=actions)

    def waiting(self, *, limit: int = 500) -> Iterator[PayoutModel]:
        """Payouts that wait (sparse index, oldest first), across companies."""
        yield from PayoutModel.waiting_index.query(WAITING, limit=limit)

    def for_company(self, company_id: str, *, limit: int = 100) -> list[PayoutModel]:
        rows = list(PayoutModel.query(company_id, consistent_read=True))
        return sorted(rows, key=lambda r: -float(r.first_seen_at))[:limit]
