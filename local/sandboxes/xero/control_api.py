"""The control API under /_sandbox/: what tests and the demo use to act as Xero, its user and
their organisations, and to read each organisation's ledger.

No authentication (loopback only) and not in the request log: it is not Xero traffic.
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
    number,
    shared_routes,
)
from local.sandboxes.kit.wire import Request
from local.sandboxes.xero.books import Organisation

if TYPE_CHECKING:
    from local.sandboxes.xero.server import XeroSandbox

_SETTABLE: dict[str, type] = {
    "access_token_lifetime_s": int,
    "auth_code_lifetime_s": int,
    "refresh_grace_s": int,
    "refresh_idle_s": int,
    "granular_only": bool,
    "concurrent_limit": int,
    "minute_limit": int,
    "day_limit": int,
    "app_minute_limit": int,
    "idempotency_ttl_s": int,
    "page_size": int,
    "check_spec": bool,
}
_TENANT = "(?P<tenant>[^/]+)"
_LEDGER = ("contacts", "items", "invoices", "payments", "credit_notes", "accounts")


def register_control_routes(sandbox: XeroSandbox, add: AddRoute) -> None:
    control = _Control(sandbox)
    routes: ControlRoutes = [
        ("POST", "/_sandbox/reset", control.reset),
        *SettingsControl(sandbox.config, sandbox.clock, _SETTABLE).routes(),
        *shared_routes(sandbox.faults, sandbox.log),
        ("GET", "/_sandbox/organisations", control.list_organisations),
        ("POST", "/_sandbox/organisations", control.add_organisation),
        ("GET", f"/_sandbox/organisations/{_TENANT}/ledger", control.ledger),
        ("POST", f"/_sandbox/organisations/{_TENANT}/disconnect", control.disconnect_tenant),
        ("GET", "/_sandbox/tokens", control.token_stats),
        ("POST", "/_sandbox/tokens/expire", control.expire_tokens),
        ("GET", "/_sandbox/webhooks", control.webhook),
        ("POST", "/_sandbox/webhooks", control.configure_webhook),
        ("POST", "/_sandbox/webhooks/intent", control.intent_to_receive),
        ("POST", "/_sandbox/webhooks/deliver", control.deliver),
        ("GET", "/_sandbox/spec", control.spec_report),
        ("DELETE", "/_sandbox/spec", control.clear_spec),
    ]
    add_control_routes(add, routes, refusals=(LookupError,))


class _Control:
    def __init__(self, sandbox: XeroSandbox) -> None:
        self.sb = sandbox

    def _org(self, tenant: str) -> Organisation:
        org = self.sb.organisations.get(tenant)
        if org is None:
            raise BadRequest(f"no organisation {tenant} (GET /_sandbox/organisations lists them)", 404)
        return org

    def reset(self, request: Request) -> object:
        """Forget organisations' books, grants, tokens, limits, keys, faults and logs; the
        organisations start afresh (``{"organisations": [names]}`` to choose them). Apps, the
        config and the webhook stay unless ``{"webhook": true}``."""
        body = json_body(request)
        names = body.get("organisations") or [org.name for org in self.sb.organisations.all()]
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise BadRequest("organisations must be a list of names")
        self.sb.organisations.reset(names)
        self.sb.identity.reset()
        self.sb.limits.reset()
        self.sb.idempotency.reset()
        self.sb.webhooks.reset(webhook=body.get("webhook") is True)
        self.sb.faults.clear()
        self.sb.log.clear()
        return {"reset": True, "organisations": self.list_organisations(request)["organisations"]}

    def list_organisations(self, request: Request) -> dict[str, Any]:
        return {
            "organisations": [
                {"tenant_id": org.tenant_id, "name": org.name} for org in self.sb.organisations.all()
            ]
        }

    def add_organisation(self, request: Request) -> object:
        name = json_body(request).get("name")
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("name (the organisation's name) is required")
        org = self.sb.organisations.add(name)
        return {"organisation": {"tenant_id": org.tenant_id, "name": org.name}}

    def ledger(self, request: Request, tenant: str) -> object:
        """Everything in the organisation's books, as Xero answers each object."""
        org = self._org(tenant)
        with org.lock:
            return {name: [r.body for r in getattr(org, name).values()] for name in _LEDGER}

    def disconnect_tenant(self, request: Request, tenant: str) -> object:
        """As if the organisation's user disconnected the app in Xero: its connections go."""
        self._org(tenant)
        return {"connections_removed": self.sb.identity.revoke_tenant(tenant)}

    def token_stats(self, request: Request) -> object:
        identity = self.sb.identity
        with identity.lock:
            return {"token_calls": identity.token_calls, "grants": len(identity.grants)}

    def expire_tokens(self, request: Request) -> object:
        tenant = json_body(request).get("tenant_id")
        return {"expired": self.sb.identity.expire(tenant if isinstance(tenant, str) else None)}

    def webhook(self, request: Request) -> object:
        webhook = self.sb.webhooks.webhook
        return {
            "webhook": None
            if webhook is None
            else {"url": webhook.url, "intent_passed": webhook.intent_passed},
            "deliveries": self.sb.webhooks.log(),
        }

    def configure_webhook(self, request: Request) -> object:
        body = json_body(request)
        url, key = body.get("url"), body.get("key")
        if not isinstance(url, str) or not isinstance(key, str) or not key:
            raise BadRequest("url and key (the webhook signing key) are required")
        self.sb.webhooks.configure(url, key)
        return self.webhook(request)

    def intent_to_receive(self, request: Request) -> object:
        return self.sb.webhooks.intent_to_receive(int(number(json_body(request), "rounds", 2)) or 1)

    def deliver(self, request: Request) -> object:
        body = json_body(request)
        done = self.sb.webhooks.deliver(
            int(number(body, "times", 1)) or 1, wrong_signature=body.get("wrong_signature") is True
        )
        return {"deliveries": [d.public() for d in done]}

    def spec_report(self, request: Request) -> object:
        """What the Accounting calls checked against Xero's OpenAPI found (``check_spec``)."""
        return {"checking": self.sb.config.check_spec, **self.sb.spec_check.report()}

    def clear_spec(self, request: Request) -> object:
        self.sb.spec_check.clear()
        return self.spec_report(request)
