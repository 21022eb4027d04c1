"""Square payments that matched no invoice: list them, and match one to an invoice (admins).

A COMPLETED Square payment whose ``reference_id`` names no booksync invoice is kept by the
webhook consumer (``booksync/payments/square.py``) and reported; these routes finish the job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from booksync.api.app import ERRORS, ApiServices, CallerDep, Svc
from booksync.api.routes import LeanRoute
from booksync.documents import DocId
from booksync.errors import NotFoundError

if TYPE_CHECKING:  # the store loads on the first request that needs it
    from booksync.payments.square import SquarePayments

router = APIRouter(tags=["square"], route_class=LeanRoute)
SquareId = Annotated[str, Path(min_length=1, max_length=192, pattern=r"^[A-Za-z0-9_\-:.]+$")]


class MatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice_id: DocId = Field(description="The booksync invoice the payment pays")


def _square(svc: ApiServices) -> SquarePayments:
    if svc.square is None:
        raise NotFoundError(
            "Square payments are not configured on this deployment.",
            fix="Deploy the API with SQUARE_ACTIVITY_TABLE (template.yaml).",
        )
    return svc.square


@router.get("/square/payments/unmatched", responses=ERRORS)
def unmatched_payments(who: CallerDep, svc: Svc) -> list[dict[str, Any]]:
    """Square payments booksync kept but could not record on an invoice, with the reason."""
    return _square(svc).unmatched(who.company_id)


@router.post("/square/payments/{square_payment_id}/match", responses=ERRORS)
def match_payment(
    square_payment_id: SquareId, request: MatchRequest, who: CallerDep, svc: Svc
) -> dict[str, Any]:
    """Record the Square payment on this invoice (as ``square-<id>``); it then syncs as any payment."""
    who.require_admin()
    return _square(svc).match(who.company_id, square_payment_id, request.invoice_id)
