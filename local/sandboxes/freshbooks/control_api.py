"""The FreshBooks sandbox's control API under /_sandbox/ (tests, the demo, the local stack):
reset, settings, the clock, app registrations, the user's businesses, each business's ledger,
changes made "in FreshBooks" by the user (edits and deletes, announced by webhooks as any other),
token statistics and expiry, the user disconnecting the app, fault rules and the request log.

Not FreshBooks traffic: no authentication (loopback only) and not in the request log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from local.sandboxes.freshbooks.books import DEFAULT_USER, DELETED, KINDS, Business, Kind
from local.sandboxes.freshbooks.config import ERROR_STYLES
from local.sandboxes.freshbooks.errors import FreshBooksError
from local.sandboxes.kit.control import (
    AddRoute,
    BadRequest,
    ControlRoutes,
    SettingsControl,
    add_control_routes,
    json_body,
    number,
    shared_routes,
)
from local.sandboxes.kit.wire import Request

if TYPE_CHECKING:
    from local.sandboxes.freshbooks.server import FreshBooksSandbox

_SETTABLE: dict[str, type] = {
    "access_token_lifetime_s": int,
    "auth_code_lifetime_s": int,
    "business_minute_limit": int,
    "business_concurrent_limit": int,
    "latency_ms": int,
    "per_page": int,
    "max_per_page": int,
    "error_style": str,
    "delivery": str,
}
_CHOICES: dict[str, tuple[object, ...]] = {"error_style": ERROR_STYLES, "delivery": ("async", "manual")}
_ACCOUNT = "(?P<account_id>[^/]+)"
_KIND = "(?P<plural>clients|items|taxes|invoices|payments)"


class Refused(BadRequest):
    """A change the user tried "in FreshBooks" that FreshBooks refuses (its error, its status)."""

    def __init__(self, error: FreshBooksError) -> None:
        super().__init__(error.message, 400 if error.status == 422 else error.status)
        self.error = error

    def extra(self) -> dict[str, Any]:
        return {"errno": self.error.errno, "field": self.error.field}


def register_control_routes(sandbox: FreshBooksSandbox, add: AddRoute) -> None:
    control = _Control(sandbox)
    routes: ControlRoutes = [
        ("POST", "/_sandbox/reset", control.reset),
        *SettingsControl(sandbox.config, sandbox.clock, _SETTABLE, _CHOICES, _query_in_uri).routes(),
        *shared_routes(sandbox.faults, sandbox.log),
        ("GET", "/_sandbox/businesses", control.list_businesses),
        ("POST", "/_sandbox/businesses", control.add_business),
        ("GET", f"/_sandbox/businesses/{_ACCOUNT}/ledger", control.ledger),
        ("POST", f"/_sandbox/businesses/{_ACCOUNT}/{_KIND}", control.user_create),
        ("PUT", f"/_sandbox/businesses/{_ACCOUNT}/{_KIND}/(?P<record_id>[0-9]+)", control.user_update),
        ("DELETE", f"/_sandbox/businesses/{_ACCOUNT}/{_KIND}/(?P<record_id>[0-9]+)", control.user_delete),
        ("POST", "/_sandbox/disconnect", control.disconnect),
        ("GET", "/_sandbox/callbacks", control.callbacks),
        ("POST", "/_sandbox/callbacks/deliver", control.deliver),
        ("POST", "/_sandbox/callbacks/wait", control.wait_for_deliveries),
        ("GET", "/_sandbox/tokens", control.token_stats),
        ("POST", "/_sandbox/tokens/expire", control.expire_tokens),
    ]
    add_control_routes(add, routes, refusals=(LookupError,))


def _query_in_uri(uri: str) -> str | None:
    """FreshBooks' redirect URIs carry no query string (the state travels in ``state``)."""
    if urlsplit(uri).query:
        return f"FreshBooks redirect URIs cannot contain a query string: {uri}"
    return None


def _kind(plural: str) -> Kind:
    return next(kind for kind in KINDS if kind.plural == plural)


class _Control:
    def __init__(self, sandbox: FreshBooksSandbox) -> None:
        self.sb = sandbox

    def _business(self, account_id: str) -> Business:
        business = self.sb.businesses.get(account_id)
        if business is None:
            raise BadRequest(f"no business {account_id} (GET /_sandbox/businesses lists them)", 404)
        return business

    def reset(self, request: Request) -> object:
        """Forget the businesses' books, grants, tokens, limits, faults and logs; the businesses
        start afresh (``{"businesses": [names]}`` to choose them). Apps and settings stay."""
        body = json_body(request)
        names = body.get("businesses") or [b.name for b in self.sb.businesses.all()]
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise BadRequest("businesses must be a list of names")
        self.sb.businesses.reset(names)
        self.sb.identity.reset()
        self.sb.limits.reset()
        self.sb.callbacks.reset()
        self.sb.faults.clear()
        self.sb.log.clear()
        return {"reset": True, **self.list_businesses(request)}

    def list_businesses(self, request: Request) -> dict[str, Any]:
        return {
            "businesses": [
                {
                    **m.business.public(),
                    "role": m.role,
                    "user": m.user.email,
                    "identity_id": m.user.identity_id,
                }
                for m in self.sb.businesses.memberships
            ]
        }

    def add_business(self, request: Request) -> object:
        """Another business (``role`` ``client``: one whose books its user cannot keep), of the
        default user or of ``user`` (an e-mail: a FreshBooks user of its own, made on first use,
        who logs in with it on the authorize page)."""
        body = json_body(request)
        name, currency = body.get("name"), body.get("currency", "USD")
        role, user = body.get("role", "owner"), body.get("user", DEFAULT_USER)
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("name (the business's name) is required")
        if not isinstance(currency, str) or len(currency) != 3:
            raise BadRequest("currency must be an ISO 4217 code, e.g. USD")
        if not isinstance(role, str) or not role:
            raise BadRequest(
                "role must be a membership role: owner, business_admin, business_employee or client"
            )
        if not isinstance(user, str) or "@" not in user:
            raise BadRequest("user must be the e-mail of the business's user")
        business = self.sb.businesses.add(name, currency, role, user)
        found = next(
            b for b in self.list_businesses(request)["businesses"] if b["account_id"] == business.account_id
        )
        return {"business": found}

    def ledger(self, request: Request, account_id: str) -> object:
        """Everything in the business's books, as FreshBooks answers each object (invoices with
        their lines), deleted ones included, with the overpayment credits and the events."""
        business = self._business(account_id)
        with business.lock:
            books: dict[str, Any] = {
                kind.plural: [dict(record) for record in business.table(kind).values()] for kind in KINDS
            }
            books["credits"] = list(business.credits.values())
            books["events"] = [event.public() for event in business.events]
            return books

    def _as_user(self, account_id: str, action: Any) -> object:
        business = self._business(account_id)
        try:
            with business.lock:
                return action(business)
        except FreshBooksError as error:
            raise Refused(error) from None

    def user_create(self, request: Request, account_id: str, plural: str) -> object:
        """The user creates a record in FreshBooks (a client, an item, an invoice, a payment)."""
        kind, data = _kind(plural), json_body(request)
        return self._as_user(account_id, lambda b: {kind.single: dict(b.create(kind, data))})

    def user_update(self, request: Request, account_id: str, plural: str, record_id: str) -> object:
        """The user edits a record in FreshBooks (the webhooks announce it, booksync never copies it back)."""
        kind, data = _kind(plural), json_body(request)
        return self._as_user(account_id, lambda b: {kind.single: dict(b.update(kind, int(record_id), data))})

    def user_delete(self, request: Request, account_id: str, plural: str, record_id: str) -> object:
        """The user deletes a record in FreshBooks (invoices and taxes for good, the rest by vis_state)."""
        kind = _kind(plural)

        def delete(business: Business) -> object:
            if kind.real_delete:
                business.delete(kind, int(record_id))
                return {kind.single: dict(business.get(kind, int(record_id)))}
            return {kind.single: dict(business.update(kind, int(record_id), {"vis_state": DELETED}))}

        return self._as_user(account_id, delete)

    def disconnect(self, request: Request) -> object:
        """As if the user disconnected the app in FreshBooks: their grants end (tokens refused).
        ``{"account_id": ...}`` names the user by a business of theirs; without it every user."""
        account_id = json_body(request).get("account_id")
        if account_id is None:
            return {"grants_revoked": self.sb.identity.revoke_all()}
        owner = self.sb.businesses.owner_of(str(account_id))
        if owner is None:
            raise BadRequest(f"no business {account_id} (GET /_sandbox/businesses lists them)", 404)
        return {"grants_revoked": self.sb.identity.revoke_all(owner.identity_id)}

    def token_stats(self, request: Request) -> object:
        identity = self.sb.identity
        with identity.lock:
            return {
                "token_calls": identity.token_calls,
                "grants": len(identity.grants),
                "reused_refresh_tokens": identity.reused_refresh,
                "rate_limited": self.sb.limits.refused,
            }

    def expire_tokens(self, request: Request) -> object:
        return {"expired": self.sb.identity.expire()}

    def callbacks(self, request: Request) -> object:
        """The registered callbacks (with the verifier each was sent) and every delivery so far."""
        return {"callbacks": self.sb.callbacks.public(), "deliveries": self.sb.callbacks.log()}

    def deliver(self, request: Request) -> object:
        """POST what waits (``delivery: manual``, or what an attempt failed to deliver), ``times``
        times each; ``wrong_signature``: signed with another key (a forged delivery)."""
        body = json_body(request)
        done = self.sb.callbacks.deliver(
            int(number(body, "times", 1)) or 1, wrong_signature=body.get("wrong_signature") is True
        )
        return {"deliveries": [d.public() for d in done]}

    def wait_for_deliveries(self, request: Request) -> object:
        """Until the async worker has posted everything queued (``seconds``, default 10)."""
        idle = self.sb.callbacks.wait_idle(number(json_body(request), "seconds", 10))
        return {"idle": idle, "deliveries": self.sb.callbacks.log()}
