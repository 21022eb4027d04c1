"""The provider's OAuth redirect and its confirmation by the user who started the connection.

``POST /integrations/{provider}/connect`` (api/app.py) answers the consent URL. The provider sends
the browser back to ``GET /oauth/{provider}/callback`` (public: no JWT reaches it), which connects
nothing: it hands that browser a one-time ``consent`` (on the redirect to ``APP_RETURN_URL``, or in
its JSON), and the business's app confirms it with its signed-in user's token
(``POST /oauth/{provider}/complete``). Only the user and company that started the connection can,
so a consent link sent to someone else connects nobody's books to the sender's company.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from booksync.api.app import ERRORS, CallerDep, Svc
from booksync.api.routes import LeanRoute
from booksync.keys import OutsideKey

router = APIRouter(tags=["integrations"], route_class=LeanRoute)


class ConsentConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consent: str = Field(
        min_length=3, max_length=400, description="The `consent` the OAuth callback gave the browser"
    )


@router.get("/oauth/{provider}/callback", response_model=None, responses=ERRORS)
def oauth_callback(
    provider: OutsideKey,
    svc: Svc,
    request: Request,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> RedirectResponse | JSONResponse:
    """The provider's redirect. Nothing is connected yet: the browser is handed a one-time
    ``consent`` for your app to confirm with its signed-in user's token (POST .../complete).
    A provider that names the account on it (QuickBooks' ``realmId``) declares the parameter."""
    from booksync.providers.registry import declaration

    parameter = declaration(provider).account_parameter
    account_id = request.query_params.get(parameter) if parameter else None
    consent = svc.integrations.accept_callback(
        provider=provider,
        state=state,
        code=code,
        account_id=account_id,
        error=error,
        error_description=error_description,
    )
    if svc.app_return_url:
        query = urlencode({"connecting": provider, "consent": consent})
        return RedirectResponse(f"{svc.app_return_url}?{query}", status_code=302)
    return JSONResponse(
        {
            "provider": provider,
            "status": "awaiting_confirmation",
            "consent": consent,
            "next": f"Your app confirms it: POST /oauth/{provider}/complete with this consent and "
            "the token of the user who started the connection.",
        }
    )


@router.post("/oauth/{provider}/complete", responses=ERRORS)
def oauth_complete(
    provider: OutsideKey, body: ConsentConfirmation, who: CallerDep, svc: Svc
) -> dict[str, Any]:
    """Connect with the consent the callback handed the browser; only the user (and company)
    that started the connection can, so a consent link sent to someone else connects nothing."""
    who.require_admin()
    done = svc.integrations.confirm_connect(
        company_id=who.company_id, user_id=who.user_id, provider=provider, consent=body.consent
    )
    choosing = bool(done.organisations)
    return {
        "connected": provider,
        "company_id": done.company_id,
        "account_id": done.account_id,
        "status": done.status,
        "organisations": list(done.organisations),
        "next": f"Choose the organisation: POST /integrations/{provider}/organisation with one of "
        "these ids as organisation_id."
        if choosing
        else "Open the post-connection wizard.",
    }
