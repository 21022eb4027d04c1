"""SquareActivity rows: the Square payments and refunds the webhook consumer saw, per company.

Readers (the payout deposit job among them) look a payment up with
``SquareActivityRepository().get(company_id, "payment", square_payment_id)``: its ``document_id``
is the booksync Payment id (``square-<square payment id>``) once ``status == "recorded"``, and
``amount``/``tip``/``total``/``processing_fee`` are Square's figures as decimal strings.
"""

from __future__ import annotations

from typing import Literal

from booksync.store.models import SquareActivityModel

Kind = Literal["payment", "refund"]


def activity_key(kind: Kind, square_id: str) -> str:
    return f"{kind}#{square_id}"


class SquareActivityRepository:
    def get(self, company_id: str, kind: Kind, square_id: str) -> SquareActivityModel | None:
        try:
            return SquareActivityModel.get(company_id, activity_key(kind, square_id), consistent_read=True)
        except SquareActivityModel.DoesNotExist:
            return None

    def new(self, company_id: str, kind: Kind, square_id: str, *, now: float) -> SquareActivityModel:
        return SquareActivityModel(
            company_id,
            activity_key(kind, square_id),
            kind=kind,
            square_id=square_id,
            status="new",
            updated_at=now,
        )

    def save(self, row: SquareActivityModel, *, now: float) -> None:
        row.updated_at = now
        row.save()

    def with_status(self, company_id: str, kind: Kind, status: str) -> list[SquareActivityModel]:
        rows = SquareActivityModel.query(
            company_id,
            SquareActivityModel.activity_key.startswith(f"{kind}#"),
            filter_condition=SquareActivityModel.status == status,
            consistent_read=True,
        )
        return list(rows)

    def refunds_waiting_for(self, company_id: str, square_payment_id: str) -> list[SquareActivityModel]:
        return [
            row
            for row in self.with_status(company_id, "refund", "waiting_for_payment")
            if row.square_payment_id == square_payment_id
        ]
