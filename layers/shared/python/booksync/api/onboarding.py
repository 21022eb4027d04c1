"""Post-connection wizard routes (seeds: "Post-Connection Wizard"; booksync/onboarding/wizard.py).

Reading the wizard is open to the company's members; importing and skipping are admin-only.
A company sees only its own wizard: another company's provider answers 404 like an unconnected one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from booksync.api.app import ERRORS, ApiServices, CallerDep, Svc
from booksync.api.routes import LeanRoute
from booksync.documents import CustomerType
from booksync.errors import NotFoundError
from booksync.keys import OutsideKey

if TYPE_CHECKING:  # the store loads on the first request that needs it
    from booksync.onboarding.wizard import Wizard

router = APIRouter(tags=["post-connection wizard"], route_class=LeanRoute)
# Any id a provider gives, up to a key's length (Wave's are base64 of the business and the record:
# 76 characters and more).
RemoteId = Annotated[OutsideKey, Field(description="The provider's id, as listed")]
Page = Annotated[int, Query(ge=1, le=10_000, description="1-based page number")]
PageSize = Annotated[int, Query(ge=1, le=200, description="Rows per page")]


class CustomerPick(BaseModel):
    model_config = ConfigDict(extra="forbid")
    remote_id: RemoteId
    type: CustomerType = Field(description="The type the user chose: Homeowner, Business or Builder")


class ItemPick(BaseModel):
    model_config = ConfigDict(extra="forbid")
    remote_id: RemoteId
    income_account_id: OutsideKey | None = Field(
        default=None, description="Overrides the item's account in the provider"
    )


def _unique(picks: list[Any]) -> list[Any]:
    ids = [p.remote_id for p in picks]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"remote_id {duplicated[0]!r} is listed more than once")
    return picks


class CustomerImport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customers: list[CustomerPick] = Field(min_length=1, max_length=500)

    @field_validator("customers")
    @classmethod
    def _once(cls, value: list[CustomerPick]) -> list[CustomerPick]:
        return _unique(value)


class ItemImport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[ItemPick] = Field(min_length=1, max_length=500)

    @field_validator("items")
    @classmethod
    def _once(cls, value: list[ItemPick]) -> list[ItemPick]:
        return _unique(value)


def _wizard(svc: ApiServices) -> Wizard:
    if svc.wizard is None:
        raise NotFoundError(
            "The post-connection wizard is not configured on this deployment.",
            fix="Deploy the API with TOKEN_KEY_ID and the provider settings (template.yaml).",
        )
    return svc.wizard


@router.get("/integrations/{provider}/wizard", responses=ERRORS)
def wizard_state(provider: OutsideKey, who: CallerDep, svc: Svc) -> dict[str, Any]:
    """Each step's status (open, done, skipped) with its counts, and the next step's route."""
    return _wizard(svc).state(who.company_id, provider)


@router.get("/integrations/{provider}/wizard/customers", responses=ERRORS)
def wizard_customers(
    provider: OutsideKey, who: CallerDep, svc: Svc, page: Page = 1, page_size: PageSize = 50
) -> dict[str, Any]:
    """Step 1: the provider's customers with a suggested type and its reason; duplicates of
    booksync's customers say "Already exists" and what matched; new ones are preselected."""
    return _wizard(svc).customers(who.company_id, provider, page=page, page_size=page_size)


@router.post("/integrations/{provider}/wizard/customers/import", responses=ERRORS)
def wizard_import_customers(
    provider: OutsideKey, body: CustomerImport, who: CallerDep, svc: Svc
) -> dict[str, Any]:
    """Import the chosen customers with their types; link every duplicate. Sent twice, imports once."""
    from booksync.onboarding.wizard import CustomerChoice

    who.require_admin()
    choices = [CustomerChoice(remote_id=p.remote_id, type=p.type) for p in body.customers]
    return _wizard(svc).import_customers(who.company_id, provider, choices)


@router.get("/integrations/{provider}/wizard/items", responses=ERRORS)
def wizard_items(
    provider: OutsideKey, who: CallerDep, svc: Svc, page: Page = 1, page_size: PageSize = 50
) -> dict[str, Any]:
    """Step 2: the provider's items; those booksync has (same name or SKU) are linked automatically."""
    return _wizard(svc).items(who.company_id, provider, page=page, page_size=page_size)


@router.post("/integrations/{provider}/wizard/items/import", responses=ERRORS)
def wizard_import_items(provider: OutsideKey, body: ItemImport, who: CallerDep, svc: Svc) -> dict[str, Any]:
    """Import the chosen items with their income accounts; link the existing ones."""
    from booksync.onboarding.wizard import ItemChoice

    who.require_admin()
    choices = [ItemChoice(remote_id=p.remote_id, income_account_id=p.income_account_id) for p in body.items]
    return _wizard(svc).import_items(who.company_id, provider, choices)


@router.post("/integrations/{provider}/wizard/{step}/skip", responses=ERRORS)
def wizard_skip(
    provider: OutsideKey, step: Literal["customers", "items"], who: CallerDep, svc: Svc
) -> dict[str, Any]:
    """Skip a step; it stays available from the integration (run it again any time)."""
    who.require_admin()
    return _wizard(svc).skip(who.company_id, provider, step)


@router.get("/integrations/{provider}/wizard/summary", responses=ERRORS)
def wizard_summary(provider: OutsideKey, who: CallerDep, svc: Svc) -> dict[str, Any]:
    """Step 3: customers added, items imported, and whether auto-sync is on."""
    return _wizard(svc).summary(who.company_id, provider)
