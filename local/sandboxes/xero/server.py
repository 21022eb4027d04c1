"""XeroSandbox: Xero's identity service and Accounting API on loopback, in a background thread or
standalone.

The kit's pipeline (classify, log, fault or serve) around Xero's routes: the identity endpoints
(consent page, token, revocation, /connections) and the Accounting calls (bearer token, scope,
``xero-tenant-id``, limits, Idempotency-Key); the control API under /_sandbox/ bypasses it.
Paths are the real ones below the hosts Xero splits them across (login.xero.com,
identity.xero.com, api.xero.com): one base URL serves them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.control import ControlServe
from local.sandboxes.kit.faults import CallInfo, FaultRule, fault_effect
from local.sandboxes.kit.pipeline import CONTROL_PREFIX, ProviderSandbox
from local.sandboxes.kit.reqlog import LogShape
from local.sandboxes.kit.serving import HostedApp
from local.sandboxes.kit.wire import Drop, Outcome, Request, Response, json_response
from local.sandboxes.xero import errors
from local.sandboxes.xero.accounting import PREFIX, Accounting, Entity, Handler
from local.sandboxes.xero.books import Organisations
from local.sandboxes.xero.config import ClientApp, XeroConfig
from local.sandboxes.xero.control_api import register_control_routes
from local.sandboxes.xero.identity import XeroIdentity
from local.sandboxes.xero.limits import Idempotency, Limits
from local.sandboxes.xero.spec import SpecCheck
from local.sandboxes.xero.webhooks import Webhooks

__all__ = ["ClientApp", "XeroConfig", "XeroSandbox", "for_stack"]

DEFAULT_ORGANISATIONS = ("Demo Company (US)", "Second Company (US)")


@dataclass(frozen=True)
class Route:
    # An Accounting call (the handler gets the tenant's books) ...
    api: Handler | None = None
    entity: Entity | None = None
    # ... or an identity endpoint (authenticates by itself) ...
    identity: Callable[..., Response] | None = None
    # ... or a control call.
    control: ControlServe | None = None
    operation: str = "read"


class XeroSandbox(ProviderSandbox[Route]):
    thread_name = "xero-sandbox"
    provider = "xero"
    log_shape = LogShape(
        account_key="tenant_id",
        trace_header="xero-correlation-id",
        header_fields=(("idempotency_key", "idempotency-key"),),
        query_fields=("summarizeErrors", "page"),
    )

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: XeroConfig | None = None,
        organisations: tuple[str, ...] = DEFAULT_ORGANISATIONS,
    ) -> None:
        super().__init__(host, port)
        self.config = config or XeroConfig()
        self.clock = SandboxClock(self.config.clock_scale)
        self.organisations = Organisations(organisations)
        self.identity = XeroIdentity(self.config, self.clock, self.organisations)
        self.limits = Limits(self.config, self.clock)
        self.idempotency = Idempotency(self.config, self.clock)
        self.spec_check = SpecCheck()
        self.accounting = Accounting(
            self.organisations,
            self.identity,
            self.limits,
            self.idempotency,
            lambda: self.config.page_size,
            lambda: self.spec_check if self.config.check_spec else None,
        )
        self.webhooks = Webhooks(self.organisations, self._connected, lambda: self.url)
        self._add_routes()

    def _connected(self, tenant: str) -> bool:
        with self.identity.lock:
            return any(
                not grant.revoked and tenant in grant.tenant_ids() for grant in self.identity.grants.values()
            )

    # ------------------------------------------------------------ routing

    def _add_routes(self) -> None:
        add = self.router.add
        identity = self.identity
        add("GET", "/identity/connect/authorize", Route(identity=identity.authorize, operation="authorize"))
        add("POST", "/identity/connect/consent", Route(identity=identity.consent, operation="authorize"))
        add("POST", "/connect/token", Route(identity=identity.token, operation="token"))
        add("POST", "/connect/revocation", Route(identity=identity.revoke, operation="revoke"))
        add("GET", "/(?:connections|Connections)", Route(identity=identity.connections, operation="query"))
        add(
            "DELETE",
            "/(?:connections|Connections)/(?P<connection_id>[^/]+)",
            Route(identity=identity.disconnect, operation="delete"),
        )
        for method, path, entity, operation, handler in self.accounting.routes():
            add(method, PREFIX + path, Route(api=handler, entity=entity, operation=operation))
        register_control_routes(
            self, lambda method, pattern, serve: add(method, pattern, Route(control=serve))
        )

    # ------------------------------------------------------------ the pipeline's parts

    def not_found(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return json_response(404, {"error": f"no control route {request.method} {request.path}"})
        return errors.not_found(f"{request.method} {request.path}").response()

    def classify(self, route: Route, request: Request, params: dict[str, str]) -> CallInfo:
        if route.api is None:
            return CallInfo("oauth", route.operation, None, None)
        tenant = self.accounting.tenant_of(request)
        entity = route.entity.name if route.entity is not None else None
        return CallInfo("api", route.operation, tenant.lower() if tenant else None, entity)

    def serve(self, route: Route, request: Request, call: CallInfo, params: dict[str, str]) -> Outcome:
        if route.identity is not None:
            return route.identity(request, **params)
        assert route.api is not None
        return self.accounting.call(request, route.entity, route.api, params)

    def injected(self, rule: FaultRule, call: CallInfo) -> Outcome:
        action = fault_effect(rule)
        if isinstance(action, Drop):
            return action
        if action == "http_429":
            return errors.rate_limited("minute", rule.retry_after, {}).response()
        if action == "http_401":
            return errors.unauthorized("TokenExpired: token expired (injected)").response()
        if action == "http_503":
            return errors.unavailable().response()
        return errors.internal().response()

    def failure(self) -> Response:
        return errors.internal().response()


def for_stack(app: HostedApp) -> XeroSandbox:
    """The sandbox the local stack runs: its app registered, what it receives and answers checked
    against Xero's OpenAPI (``GET /_sandbox/spec``) and, with a notification URL, the app's
    webhook posting to it signed with ``signature_key``."""
    clients = {app.client_id: ClientApp(secret=app.client_secret, redirect_uris=[app.redirect_uri])}
    sandbox = XeroSandbox(host=app.host, port=app.port, config=XeroConfig(clients=clients, check_spec=True))
    if app.notification_url is not None and app.signature_key is not None:
        sandbox.webhooks.configure(app.notification_url, app.signature_key)
    return sandbox
