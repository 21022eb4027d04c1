"""Account mapping routes (seeds: Integrations > [Provider] > Account Mapping).

Reads are open to the company's members; saving a mapping is admin-only. Every account id is
checked against the provider's chart (known, active, an income account; for payments, one that
takes them) before it is saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from booksync.api.app import ERRORS, ApiServices, CallerDep, IdPath, Svc
from booksync.api.routes import LeanRoute
from booksync.errors import NotFoundError
from booksync.keys import OutsideKey

if TYPE_CHECKING:  # the store loads on the first request that needs it
    from booksync.account_mapping import AccountMapping

# booksync.account_mapping.ACCOUNT_FILTERS has one filter per value, by booksync's kinds of
# account (providers.port.AccountKind), never a provider's own types.
AccountType = Literal[
    "income", "bank", "expense", "asset", "liability", "equity", "credit_card", "payments", "all"
]

router = APIRouter(tags=["account mapping"], route_class=LeanRoute)


class AccountChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: OutsideKey = Field(description="The provider's account id")


def _mapping(svc: ApiServices) -> AccountMapping:
    accounts = svc.accounts
    if accounts is None:
        raise NotFoundError(
            "Account mapping is not configured on this deployment.",
            fix="Deploy the API with TOKEN_KEY_ID and the provider settings (template.yaml).",
        )
    return accounts


@router.get("/integrations/{provider}/accounts", responses=ERRORS)
def list_accounts(
    provider: OutsideKey,
    who: CallerDep,
    svc: Svc,
    account_type: Annotated[AccountType, Query(alias="type")] = "all",
) -> list[dict[str, Any]]:
    """The provider's active accounts, e.g. ``?type=income`` for the mapping dropdowns."""
    return _mapping(svc).accounts(who.company_id, provider, account_type)


@router.get("/integrations/{provider}/account-mapping", responses=ERRORS)
def get_account_mapping(provider: OutsideKey, who: CallerDep, svc: Svc) -> dict[str, Any]:
    """Every item with its account (its own, the default, or unmapped) and the counts."""
    return _mapping(svc).mapping(who.company_id, provider)


@router.put("/integrations/{provider}/account-mapping/items/{item_id}", responses=ERRORS)
def map_item(
    provider: OutsideKey, item_id: IdPath, choice: AccountChoice, who: CallerDep, svc: Svc
) -> dict[str, Any]:
    """Map one item; an item already in the books turns Out of Date until the next sync."""
    who.require_admin()
    return _mapping(svc).map_item(who.company_id, provider, item_id, choice.account_id)


@router.post("/integrations/{provider}/account-mapping/apply-to-unmapped", responses=ERRORS)
def apply_to_unmapped(
    provider: OutsideKey, choice: AccountChoice, who: CallerDep, svc: Svc
) -> dict[str, Any]:
    """Bulk assign: every item without its own account gets this one."""
    who.require_admin()
    return _mapping(svc).apply_to_unmapped(who.company_id, provider, choice.account_id)


@router.put("/integrations/{provider}/account-mapping/payment-account", responses=ERRORS)
def set_payment_account(
    provider: OutsideKey, choice: AccountChoice, who: CallerDep, svc: Svc
) -> dict[str, Any]:
    """The account payments go into (``?type=payments`` lists those that can take them); payments
    that waited for it sync by themselves."""
    who.require_admin()
    return _mapping(svc).set_payment_account(who.company_id, provider, choice.account_id)
