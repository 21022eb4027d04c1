"""Routes of the management and ingestion API.

Identity comes from the JWT claims API Gateway's authorizer verified (payload format 2.0:
``requestContext.authorizer.jwt.claims``); every record is scoped by the caller's company.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from booksync.api.document import openapi_builder
from booksync.api.problems import Forbidden, Unauthorized, install
from booksync.api.routes import LeanRoute
from booksync.documents import (
    DOC_ID_PATTERN,
    Customer,
    DocumentKind,
    Estimate,
    Invoice,
    Item,
    Payment,
    Refund,
)
from booksync.errors import NotFoundError
from booksync.keys import OutsideKey, fits_key
from booksync.settings import ApiPart

if TYPE_CHECKING:  # the store (pynamodb, botocore) loads on the first request that needs it
    from booksync.account_mapping import AccountMapping
    from booksync.integrations import Integrations
    from booksync.memory.ask import MemoryAnswers
    from booksync.onboarding.wizard import Wizard
    from booksync.payments.square import SquarePayments
    from booksync.payouts.views import PayoutViews
    from booksync.store.notifications import NotificationRepository
    from booksync.store.runs import RunRepository
    from booksync.sync.catalog_jobs import CatalogRequests
    from booksync.sync.records import Accepted, DocumentService

SCHEMAS = "#/components/schemas/"
IdPath = Annotated[str, Path(pattern=DOC_ID_PATTERN, description="Your app's id for it")]
BooksQuery = Annotated[
    OutsideKey | None,
    Query(
        description="The accounting system whose books the request is about (none: the company's "
        "accounting connection; needed when several are connected)."
    ),
]
# Descriptions only: api/document.py documents every error as a Problem. A model here would cost
# FastAPI a validator per status per route at cold start, for responses it never validates.
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text}
    for code, text in {
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        422: "Invalid request",
    }.items()
}


@dataclass(frozen=True)
class ApiServices:
    documents: DocumentService
    integrations: Integrations
    runs: RunRepository
    notifications: NotificationRepository | None = None
    app_return_url: str | None = None
    catalog: CatalogRequests | None = None
    accounts: AccountMapping | None = None
    square: SquarePayments | None = None
    payouts: PayoutViews | None = None
    wizard: Wizard | None = None  # the post-connection wizard (booksync/api/onboarding.py)
    # The billing memory (booksync/api/memory.py), built on the first request that needs it.
    memory: Callable[[], MemoryAnswers] | None = None


@dataclass(frozen=True)
class Caller:
    company_id: str
    user_id: str
    role: str

    def require_admin(self) -> None:
        if self.role != "admin":
            raise Forbidden("Only a company admin can do this.", fix="Ask an admin of your company.")


def caller(request: Request) -> Caller:
    event = request.scope.get("aws.event") or {}
    claims = (((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}).get(
        "claims"
    ) or {}
    company_id, user_id = claims.get("company_id"), claims.get("sub")
    if not company_id or not user_id:
        raise Unauthorized(
            "No verified identity came with the request.",
            fix="Send 'Authorization: Bearer <token>' with a token carrying company_id and sub.",
        )
    if not fits_key(str(company_id)) or not fits_key(str(user_id)):  # the company id keys every row
        raise Unauthorized(
            "The token's company_id or sub is longer than booksync can store.",
            fix="Issue tokens whose company_id and sub are at most 200 characters.",
        )
    return Caller(company_id=str(company_id), user_id=str(user_id), role=str(claims.get("role", "member")))


CallerDep = Annotated[Caller, Depends(caller)]


def get_services(request: Request) -> ApiServices:
    build: Callable[[], ApiServices] = request.app.state.services
    return build()


Svc = Annotated[ApiServices, Depends(get_services)]


class DocumentWarning(BaseModel):
    """Accepted while no accounting system is connected: text an accounting system booksync knows
    would refuse once connected (its declared limit), and how to fix it."""

    field: str
    provider: str
    message: str
    fix: str


class DocumentAccepted(BaseModel):
    id: str
    created: bool
    changed: bool
    pending_sync: bool
    sync_run_id: str | None
    warnings: list[DocumentWarning] = []


class SyncStarted(BaseModel):
    run_id: str
    message: str


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kinds: list[Literal["customers", "items", "invoices"]] = Field(
        default=["customers", "items", "invoices"], min_length=1
    )


class ConnectStarted(BaseModel):
    authorization_url: str


class OrganisationChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organisation_id: str = Field(
        min_length=1,
        max_length=200,
        description="The id of one of the organisations GET /integrations/{provider} lists while "
        "its status is choose_organisation",
    )


class SettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    auto_sync_invoices: bool | None = None
    auto_sync_payments: bool | None = None
    auto_sync_customers: bool | None = None
    auto_sync_items: bool | None = None
    default_income_account_id: str | None = None
    # Square payouts become deposits (README "Square payouts become QuickBooks deposits").
    auto_sync_deposits: bool | None = None
    deposit_bank_account_id: str | None = Field(default=None, min_length=1, max_length=64)
    merchant_fees_account_id: str | None = Field(default=None, min_length=1, max_length=64)
    tips_account_id: str | None = Field(default=None, min_length=1, max_length=64)
    refunds_account_id: str | None = Field(default=None, min_length=1, max_length=64)
    adjustments_account_id: str | None = Field(default=None, min_length=1, max_length=64)
    payout_fees_account_id: str | None = Field(default=None, min_length=1, max_length=64)
    # The account refunds are paid from (a bank, credit card or Undeposited Funds); unset:
    # Undeposited Funds, where a card refund nets against the payout deposit.
    refunds_from_account_id: str | None = Field(default=None, min_length=1, max_length=50)
    # The account payments go into: as PUT /integrations/{provider}/account-mapping/payment-account
    # (checked against the chart, and the payments that waited for it resume); an outside key, as
    # that route takes it (Wave's account ids run past 76 characters).
    payment_account_id: OutsideKey | None = None


def _accepted(result: Accepted, response: Response) -> DocumentAccepted:
    response.status_code = 201 if result.created else 200
    return DocumentAccepted(
        id=result.doc_id,
        created=result.created,
        changed=result.changed,
        pending_sync=result.pending,
        sync_run_id=result.queued_run_id,
        warnings=[DocumentWarning(**asdict(w)) for w in result.warnings],
    )


def _with_id(model: type[Any], body: dict[str, Any], doc_id: str) -> Any:
    from pydantic import ValidationError

    from booksync.api.problems import DocumentInvalid

    if body.get("id", doc_id) != doc_id:
        raise DocumentInvalid(
            [
                {
                    "type": "id_mismatch",
                    "loc": ("body", "id"),
                    "msg": f"must equal the id in the path ({doc_id}), not {body.get('id')}",
                }
            ],
            model,
        )
    try:
        return model.model_validate({**body, "id": doc_id})
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise DocumentInvalid(errors, model, body) from None


# The routes each API function serves: template.yaml routes the post-connection setup screens'
# paths (wizard, account mapping) to SetupApiFunction and the rest to ApiFunction, so neither
# builds at cold start the routes it never answers. "whole" is the API as one document.
_CORE_ROUTERS = ("booksync.api.oauth", "booksync.api.square", "booksync.api.payouts", "booksync.api.memory")
_SETUP_ROUTERS = ("booksync.api.accounts", "booksync.api.onboarding")
ROUTERS: dict[ApiPart, tuple[str, ...]] = {
    "core": _CORE_ROUTERS,
    "setup": _SETUP_ROUTERS,
    "whole": (*_CORE_ROUTERS, *_SETUP_ROUTERS),
}


def create_app(services: Callable[[], ApiServices], part: ApiPart = "whole") -> FastAPI:
    """The API (``part``: the routes one function serves); GET /openapi.json always documents the
    whole API, built on the first request for it."""
    app = FastAPI(
        title="booksync",
        version="0.1.0",
        description="Keeps a field-service business's books in sync with its accounting system.",
        openapi_url=None if part == "setup" else "/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.router.route_class = LeanRoute
    install(app)
    app.state.services = services
    app.state.request_models = {}  # JSON bodies validated in the route, documented by name
    if part != "setup":
        _core_routes(app)
    for module in ROUTERS[part]:
        app.include_router(importlib.import_module(module).router)
    whole = app if part == "whole" else None
    app.openapi = openapi_builder(whole or (lambda: create_app(services)))  # type: ignore[method-assign]
    return app


def _core_routes(app: FastAPI) -> None:
    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # -- integrations -------------------------------------------------------------------------
    @app.get("/integrations", tags=["integrations"], responses=ERRORS)
    def list_integrations(who: CallerDep, svc: Svc) -> list[dict[str, Any]]:
        return svc.integrations.overview(who.company_id)

    @app.get("/integrations/{provider}", tags=["integrations"], responses=ERRORS)
    def get_integration(provider: OutsideKey, who: CallerDep, svc: Svc) -> dict[str, Any]:
        return svc.integrations.describe(who.company_id, provider)

    # Reconnect is the same step: straight to the provider's consent; settings, mappings and
    # links stay on the connection row and the documents.
    @app.post("/integrations/{provider}/connect", tags=["integrations"], responses=ERRORS)
    @app.post("/integrations/{provider}/reconnect", tags=["integrations"], responses=ERRORS)
    def connect(provider: OutsideKey, who: CallerDep, svc: Svc) -> ConnectStarted:
        who.require_admin()
        url = svc.integrations.start_connect(
            company_id=who.company_id, user_id=who.user_id, provider=provider
        )
        return ConnectStarted(authorization_url=url)

    @app.post("/integrations/{provider}/disconnect", tags=["integrations"], responses=ERRORS)
    def disconnect(provider: OutsideKey, who: CallerDep, svc: Svc) -> dict[str, Any]:
        who.require_admin()
        return svc.integrations.disconnect(company_id=who.company_id, provider=provider)

    @app.post("/integrations/{provider}/organisation", tags=["integrations"], responses=ERRORS)
    def choose_organisation(
        provider: OutsideKey, body: OrganisationChoice, who: CallerDep, svc: Svc
    ) -> dict[str, Any]:
        """After a consent that granted several organisations (status choose_organisation): the
        one to connect. Claimed as a consent's account is; then the wizard and first sync start."""
        who.require_admin()
        return svc.integrations.choose_organisation(
            company_id=who.company_id, provider=provider, organisation_id=body.organisation_id
        )

    @app.patch("/integrations/{provider}/settings", tags=["integrations"], responses=ERRORS)
    def update_settings(
        provider: OutsideKey, patch: SettingsPatch, who: CallerDep, svc: Svc
    ) -> dict[str, Any]:
        who.require_admin()
        return svc.integrations.update_settings(who.company_id, provider, patch.model_dump(exclude_none=True))

    # -- documents ----------------------------------------------------------------------------------
    def put_route(
        kind: DocumentKind,
        model: type[Any],
        put: Callable[[DocumentService, str, Any], Accepted],
        *,
        synced: bool = True,
    ) -> None:
        """PUT and GET /{kind}s/{doc_id}; GET says the document's sync state in the books when
        ``synced`` (an estimate is never pushed: its ``sync`` is null)."""
        app.state.request_models[model.__name__] = model
        plural = f"{kind.value}s"

        @app.put(
            f"/{plural}/{{doc_id}}",
            tags=["documents"],
            status_code=200,
            responses={**ERRORS, 201: {"model": DocumentAccepted, "description": "Created"}},
            name=f"put_{kind.value}",
            # A reference, not the schema: the document (api/document.py) adds the schemas of
            # app.state.request_models when it is first asked for, not every cold start.
            openapi_extra={
                "requestBody": {
                    "content": {"application/json": {"schema": {"$ref": f"{SCHEMAS}{model.__name__}"}}}
                }
            },
        )
        def put_document(
            doc_id: IdPath, request_body: dict[str, Any], who: CallerDep, svc: Svc, response: Response
        ) -> DocumentAccepted:
            return _accepted(
                put(svc.documents, who.company_id, _with_id(model, request_body, doc_id)), response
            )

        @app.get(f"/{plural}/{{doc_id}}", tags=["documents"], responses=ERRORS, name=f"get_{kind.value}")
        def get_document(
            doc_id: IdPath, who: CallerDep, svc: Svc, provider: BooksQuery = None
        ) -> dict[str, Any]:
            state = svc.integrations.document_sync(who.company_id, kind, doc_id, provider) if synced else None
            row = svc.documents.get(who.company_id, kind, doc_id)
            return {"document": row, "sync": state}

    put_route(DocumentKind.CUSTOMER, Customer, lambda s, c, d: s.put_customer(c, d))
    put_route(DocumentKind.ITEM, Item, lambda s, c, d: s.put_item(c, d))
    put_route(DocumentKind.INVOICE, Invoice, lambda s, c, d: s.put_invoice(c, d))
    put_route(DocumentKind.PAYMENT, Payment, lambda s, c, d: s.put_payment(c, d))
    put_route(DocumentKind.REFUND, Refund, lambda s, c, d: s.put_refund(c, d))
    put_route(DocumentKind.ESTIMATE, Estimate, lambda s, c, d: s.put_estimate(c, d), synced=False)

    @app.delete("/invoices/{doc_id}", tags=["documents"], responses=ERRORS)
    def delete_invoice(doc_id: IdPath, who: CallerDep, svc: Svc, response: Response) -> DocumentAccepted:
        return _accepted(svc.documents.delete_invoice(who.company_id, doc_id), response)

    # -- syncing ------------------------------------------------------------------------------------
    @app.post("/invoices/{doc_id}/sync", tags=["sync"], status_code=202, responses=ERRORS)
    def sync_invoice(doc_id: IdPath, who: CallerDep, svc: Svc, provider: BooksQuery = None) -> SyncStarted:
        run_id = svc.documents.request_sync(who.company_id, doc_id, provider=provider)
        return SyncStarted(
            run_id=run_id, message="Sync started. It may take a few minutes; check Sync History."
        )

    @app.post("/integrations/{provider}/sync", tags=["sync"], status_code=202, responses=ERRORS)
    def sync_catalog(provider: OutsideKey, request: SyncRequest, who: CallerDep, svc: Svc) -> SyncStarted:
        """Sync Now for customers, items and invoices: one resumable job; progress in Sync History."""
        if svc.catalog is None:
            raise NotFoundError(
                "Catalog sync is not configured on this deployment.",
                fix="Deploy the stack's SyncCatalogQueue and set SYNC_CATALOG_QUEUE_URL for the API.",
            )
        run_id = svc.catalog.request(who.company_id, provider, request.kinds)
        return SyncStarted(run_id=run_id, message="Sync started. Check Sync History for its progress.")

    @app.get("/invoices/{doc_id}/sync-status", tags=["sync"], responses=ERRORS)
    def invoice_sync_status(
        doc_id: IdPath, who: CallerDep, svc: Svc, provider: BooksQuery = None
    ) -> dict[str, Any]:
        return svc.integrations.document_state(who.company_id, DocumentKind.INVOICE, doc_id, provider)

    @app.get("/integrations/{provider}/invoice-badges", tags=["sync"], responses=ERRORS)
    def invoice_badges(
        provider: OutsideKey, who: CallerDep, svc: Svc, days: Annotated[int, Query(ge=1, le=90)] = 7
    ) -> list[dict[str, Any]]:
        return svc.integrations.invoice_badges(who.company_id, provider, days=days)

    @app.get("/sync-runs", tags=["sync"], responses=ERRORS)
    def sync_runs(
        who: CallerDep, svc: Svc, limit: Annotated[int, Query(ge=1, le=200)] = 50
    ) -> list[dict[str, Any]]:
        return [_run(r) for r in svc.runs.recent(who.company_id, limit=limit)]

    @app.get("/sync-runs/{run_id}", tags=["sync"], responses=ERRORS)
    def sync_run(run_id: OutsideKey, who: CallerDep, svc: Svc) -> dict[str, Any]:
        row = svc.runs.get(who.company_id, run_id)
        if row is None:
            raise NotFoundError(f"No sync run {run_id!r}.", fix="List runs with GET /sync-runs.")
        return _run(row)

    # -- notifications (the bell icon) ---------------------------------------------------------
    @app.get("/notifications", tags=["notifications"], responses=ERRORS)
    def notifications(who: CallerDep, svc: Svc, include_dismissed: bool = False) -> list[dict[str, Any]]:
        if who.role != "admin" or svc.notifications is None:
            return []  # sync failure notifications go to admins only
        rows = svc.notifications.for_company(who.company_id, include_dismissed=include_dismissed)
        return [_notification(r) for r in rows]

    @app.post("/notifications/{kind}/{action}", tags=["notifications"], responses=ERRORS)
    def mark_notification(
        kind: OutsideKey, action: Literal["read", "dismiss"], who: CallerDep, svc: Svc
    ) -> dict[str, str]:
        who.require_admin()
        changes = {"read": {"read": True}, "dismiss": {"dismissed": True}}[action]
        if svc.notifications is None or not svc.notifications.mark(who.company_id, kind, **changes):
            raise NotFoundError(f"No notification {kind!r}.", fix="List them with GET /notifications.")
        return {"kind": kind, "status": action}


def _notification(row: Any) -> dict[str, Any]:
    from booksync.integrations import _iso

    return {
        "kind": row.kind,
        "title": row.title,
        "message": row.message,
        "fix": row.fix,
        "occurrences": int(row.occurrences),
        "first_seen_at": _iso(row.first_seen_at),
        "last_seen_at": _iso(row.last_seen_at),
        "read": row.read,
        "dismissed": row.dismissed,
        "resolved_at": _iso(row.resolved_at),
    }


def lambda_adapter(app: FastAPI) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Mangum, told that problem documents are text (else it base64-encodes them)."""
    from mangum import Mangum

    return Mangum(app, lifespan="off", text_mime_types=["application/json", "application/problem+json"])


def _run(row: Any) -> dict[str, Any]:
    from booksync.integrations import _iso

    return {
        "run_id": row.run_id,
        "provider": row.provider,
        "kind": row.kind,
        "trigger": row.trigger,
        "subject": row.subject,
        "status": row.status,
        "counts": row.counts or {},
        "errors": [e.as_dict() for e in (row.errors or [])],
        "notes": [n.as_dict() for n in (row.notes or [])],
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
        "duration_ms": int((row.finished_at - row.started_at) * 1000) if row.finished_at else None,
    }
