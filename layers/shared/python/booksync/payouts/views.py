"""What the API shows of payouts (GET /payouts, GET /payouts/{id}) and the admin's retry."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from booksync.errors import InvalidRequest, NotFoundError
from booksync.payouts.sweep import retry_message
from booksync.store.models import PayoutModel
from booksync.store.payouts import PayoutRepository, PayoutStatus


def _iso(stamp: float | None) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(float(stamp), UTC).isoformat()


def payout_dict(row: PayoutModel, *, with_lines: bool) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "payout_id": row.payout_id,
        "status": row.status,
        "square_status": row.square_status,
        "amount": row.amount,
        "currency": row.currency,
        "arrival_date": row.arrival_date,
        "end_to_end_id": row.end_to_end_id,
        "deposit_id": row.deposit_id,
        "waiting_for": list(row.waiting_for or []),
        "reason": row.reason,
        "lines_total": row.lines_total,
        "last_run_id": row.last_run_id,
        "first_seen_at": _iso(row.first_seen_at),
        "updated_at": _iso(row.updated_at),
    }
    if with_lines:
        shown["lines"] = list(row.lines or [])
    return shown


def deposit_summary(shown: dict[str, Any]) -> list[str]:
    """Printable lines of a payout as ``PayoutViews.get`` (GET /payouts/{id}) shows it: each
    deposit line, then its total against the payout amount (for the demo and support)."""
    out = [f"Square payout {shown['payout_id']}: {shown['status']}"]
    for line in shown.get("lines") or []:
        target = line.get("payment_id") or line.get("refund_id") or line.get("account_id")
        out.append(f"  {line['kind']:<11}{line['amount']:>12}  {line['description']}  -> {target}")
    if shown.get("lines_total") is not None:
        verdict = "=" if shown["lines_total"] == shown["amount"] else "!="
        out.append(f"  total {shown['lines_total']} {verdict} payout {shown['amount']} {shown['currency']}")
    for waited in shown.get("waiting_for") or []:
        out.append(f"  waiting for {waited}")
    if shown.get("reason") and shown["status"] != PayoutStatus.WAITING:
        out.append(f"  {shown['reason']}")
    return out


class PayoutViews:
    def __init__(
        self,
        payouts: PayoutRepository,
        *,
        send: Callable[[dict[str, Any]], None] | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._payouts = payouts
        self._send = send
        self._clock = clock

    def list(self, company_id: str, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._payouts.for_company(company_id, limit=1000)
        return [payout_dict(r, with_lines=False) for r in rows if status in (None, r.status)][:limit]

    def get(self, company_id: str, payout_id: str) -> dict[str, Any]:
        return payout_dict(self._row(company_id, payout_id), with_lines=True)

    def retry(self, company_id: str, payout_id: str) -> dict[str, Any]:
        """Queue the payout for the deposit job again (a deposited one stays as it is)."""
        row = self._row(company_id, payout_id)
        if row.status == PayoutStatus.DEPOSITED:
            raise InvalidRequest(
                f"Payout {payout_id} is already deposit {row.deposit_id} in QuickBooks.",
                fix="Nothing to retry; delete the deposit in QuickBooks first to make it again.",
            )
        if self._send is None:
            raise NotFoundError(
                "The payout deposit job is not configured on this deployment.",
                fix="Deploy the API with PAYOUT_DEPOSIT_QUEUE_URL (template.yaml).",
            )
        self._send(retry_message(row, now=self._clock()))
        return {"payout_id": payout_id, "queued": True, "status": row.status}

    def _row(self, company_id: str, payout_id: str) -> PayoutModel:
        row = self._payouts.get(company_id, payout_id)
        if row is None:
            raise NotFoundError(
                f"booksync has not received Square payout {payout_id}.",
                fix="Payouts arrive with Square's payout webhooks; GET /payouts lists them.",
            )
        return row
