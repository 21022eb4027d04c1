"""The control API under /_sandbox/: what tests and the demo use to act as Wave, as its user in Wave's
web app (``POST /_sandbox/businesses/{id}/graphql`` runs a GraphQL document with the owner's full
access, bypassing faults, limits and the request log), and to read each business's ledger.

No authentication (loopback only) and not in the request log: it is not Wave traffic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from local.sandboxes.kit.control import (
    AddRoute,
    BadRequest,
    ControlRoutes,
    SettingsControl,
    add_control_routes,
    json_body,
    shared_routes,
)
from local.sandboxes.kit.wire import Request
from local.sandboxes.wave.books import PLANS, Business
from local.sandboxes.wave.config import REFRESH_MODES
from local.sandboxes.wave.identity import ALL_SCOPES, Grant
from local.sandboxes.wave.views import ledger

if TYPE_CHECKING:
    from local.sandboxes.wave.server import WaveSandbox

_SETTABLE: dict[str, type] = {
    "access_token_lifetime_s": int,
    "auth_code_lifetime_s": int,
    "refresh_mode": str,
    "refresh_requires_offline_access": bool,
    "concurrent_limit": int,
    "retry_after_s": int,
    "latency_s": float,
}
_BUSINESS = "(?P<business_id>[^/]+)"


def register_control_routes(sandbox: WaveSandbox, add: AddRoute) -> None:
    control = _Control(sandbox)
    routes: ControlRoutes = [
        ("POST", "/_sandbox/reset", control.reset),
        *SettingsControl(sandbox.config, sandbox.clock, _SETTABLE, {"refresh_mode": REFRESH_MODES}).routes(),
        *shared_routes(sandbox.faults, sandbox.log),
        ("GET", "/_sandbox/businesses", control.list_businesses),
        ("POST", "/_sandbox/businesses", control.add_business),
        ("GET", f"/_sandbox/businesses/{_BUSINESS}/ledger", control.ledger),
        ("POST", f"/_sandbox/businesses/{_BUSINESS}/plan", control.set_plan),
        ("POST", f"/_sandbox/businesses/{_BUSINESS}/disconnect", control.disconnect),
        ("POST", f"/_sandbox/businesses/{_BUSINESS}/graphql", control.as_user),
        (
            "POST",
            f"/_sandbox/businesses/{_BUSINESS}/invoices/(?P<invoice_id>[^/]+)/view",
            control.view_invoice,
        ),
        ("POST", "/_sandbox/hold", control.hold),
        ("GET", "/_sandbox/tokens", control.token_stats),
        ("POST", "/_sandbox/tokens/expire", control.expire_tokens),
        ("POST", "/_sandbox/tokens/full-access", control.full_access),
    ]
    add_control_routes(add, routes, refusals=(LookupError,))


def _public(business: Business) -> dict[str, Any]:
    problem = business.eligibility()
    return {
        "id": business.id,
        "name": business.name,
        "currency": business.currency,
        "country": business.country,
        "plan": business.plan,
        "connectable": problem is None,
        "refusal": problem[0] if problem else None,
    }


class _Control:
    def __init__(self, sandbox: WaveSandbox) -> None:
        self.sb = sandbox

    def _business(self, business_id: str) -> Business:
        business = self.sb.books.get(business_id)
        if business is None:
            raise BadRequest(f"no business {business_id} (GET /_sandbox/businesses lists them)", 404)
        return business

    def reset(self, request: Request) -> object:
        """Forget the books, grants, tokens, faults and logs; the businesses start afresh
        (``{"businesses": [{"name", "currency", "plan", "country"}]}`` to choose them)."""
        body = json_body(request)
        specs = body.get("businesses") or [
            {"name": b.name, "currency": b.currency, "plan": b.plan, "country": b.country}
            for b in self.sb.books.all()
        ]
        if not isinstance(specs, list) or not all(isinstance(s, dict) and s.get("name") for s in specs):
            raise BadRequest("businesses must be a list of {name, currency?, plan?, country?}")
        try:
            self.sb.books.reset(specs)
        except (TypeError, ValueError) as exc:
            raise BadRequest(str(exc)) from None
        self.sb.identity.reset()
        self.sb.released.set()
        self.sb.concurrency.reset()
        self.sb.faults.clear()
        self.sb.log.clear()
        return {"reset": True, **self.list_businesses(request)}

    def list_businesses(self, request: Request) -> dict[str, Any]:
        return {"businesses": [_public(b) for b in self.sb.books.all()]}

    def add_business(self, request: Request) -> object:
        body = json_body(request)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("name (the business's name) is required")
        try:
            business = self.sb.books.add(
                name,
                currency=str(body.get("currency", "USD")),
                plan=str(body.get("plan", "pro")),
                country=body.get("country"),
            )
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return {"business": _public(business)}

    def ledger(self, request: Request, business_id: str) -> object:
        """Everything in the business's books (money as decimal strings)."""
        business = self._business(business_id)
        with business.lock:
            return ledger(business, self.sb.now().date())

    def set_plan(self, request: Request, business_id: str) -> object:
        """The business's subscription changes (``{"plan": "starter"|"pro"|"advisors"}``)."""
        business = self._business(business_id)
        plan = json_body(request).get("plan")
        if plan not in PLANS:
            raise BadRequest(f"plan must be one of {', '.join(PLANS)}")
        business.plan = str(plan)
        return {"business": _public(business)}

    def disconnect(self, request: Request, business_id: str) -> object:
        """As if the user removed the app's access to the business in Wave."""
        self._business(business_id)
        return {"grants_revoked": self.sb.identity.disconnect(business_id)}

    def as_user(self, request: Request, business_id: str) -> object:
        """The user acting in Wave: a GraphQL document run with full access to the business."""
        business = self._business(business_id)
        user = self.sb.identity.user
        user_grant = Grant("in-wave", "wave-web-app", ALL_SCOPES, user, {business.id}, eligible_only=False)
        return self.sb.run(json_body(request), lambda: user_grant)

    def view_invoice(self, request: Request, business_id: str, invoice_id: str) -> object:
        """The customer opens a sent invoice's link: it reads VIEWED (lastViewedAt) until paid."""
        business = self._business(business_id)
        with business.lock:
            invoice = business.invoices.get(invoice_id)
            if invoice is None:
                raise BadRequest(f"no invoice {invoice_id} in business {business_id}", 404)
            if invoice.sent_at is None:
                raise BadRequest("the invoice has not been sent: its customer has no link to open", 409)
            invoice.viewed_at = self.sb.now()
            return {"status": business.status(invoice, invoice.viewed_at.date())}

    def hold(self, request: Request) -> object:
        """``{"hold": true}``: GraphQL calls wait, each holding its place among the calls in flight,
        until ``{"hold": false}``; answers how many are in flight."""
        hold = json_body(request).get("hold")
        if not isinstance(hold, bool):
            raise BadRequest("hold must be true or false")
        if hold:
            self.sb.released.clear()
        else:
            self.sb.released.set()
        return {"hold": hold, "in_flight": self.sb.concurrency.count()}

    def token_stats(self, request: Request) -> object:
        identity = self.sb.identity
        with identity.lock:
            return {
                "token_calls": identity.token_calls,
                "grants": len(identity.grants),
                "rate_limited": self.sb.concurrency.refused,
            }

    def expire_tokens(self, request: Request) -> object:
        business_id = json_body(request).get("business_id")
        return {"expired": self.sb.identity.expire(business_id if isinstance(business_id, str) else None)}

    def full_access(self, request: Request) -> object:
        return {"access_token": self.sb.identity.full_access_token()}
