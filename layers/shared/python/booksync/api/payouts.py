"""Square payouts and the deposits they became in the books: read by members, retried by admins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from booksync.api.app import ERRORS, ApiServices, CallerDep, Svc
from booksync.api.routes import LeanRoute
from booksync.errors import NotFoundError

if TYPE_CHECKING:  # the store loads on the first request that needs it
    from booksync.payouts.views import PayoutViews

# Square's payout ids (po_...) have underscores, which document ids (IdPath) do not allow.
PayoutIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,191}$", description="Square's payout id (po_...)")
]
Status = Literal["received", "waiting", "deposited", "failed", "skipped", "not_balanced", "not_supported"]

router = APIRouter(tags=["payouts"], route_class=LeanRoute)


def _views(svc: ApiServices) -> PayoutViews:
    if svc.payouts is None:
        raise NotFoundError(
            "Payout deposits are not configured on this deployment.",
            fix="Deploy the API with PAYOUTS_TABLE (template.yaml).",
        )
    return svc.payouts


@router.get("/payouts", responses=ERRORS)
def list_payouts(
    who: CallerDep,
    svc: Svc,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Square payouts, newest first, with their state (``?status=waiting`` for those that wait)."""
    return _views(svc).list(who.company_id, status=status, limit=limit)


@router.get("/payouts/{payout_id}", responses=ERRORS)
def get_payout(payout_id: PayoutIdPath, who: CallerDep, svc: Svc) -> dict[str, Any]:
    """One payout: its state, what it waits for or why it failed, the deposit's lines and total."""
    return _views(svc).get(who.company_id, payout_id)


@router.post("/payouts/{payout_id}/retry", status_code=202, responses=ERRORS)
def retry_payout(payout_id: PayoutIdPath, who: CallerDep, svc: Svc) -> dict[str, Any]:
    """Send the payout to the deposit job again (admins; a deposited payout is refused)."""
    who.require_admin()
    return _views(svc).retry(who.company_id, payout_id)
