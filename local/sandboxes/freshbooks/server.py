"""FreshBooksSandbox: FreshBooks' OAuth server, identity and accounting API on loopback, in a
background thread or standalone.

The kit's pipeline (classify, log, fault or serve) around FreshBooks' routes; the control API
under /_sandbox/ bypasses it. Paths are the real ones below the hosts FreshBooks splits them
across (auth.freshbooks.com for the authorize page, api.freshbooks.com for the rest): one base
URL serves them all, so the SDK's ``FRESHBOOKS_API_URL`` and ``FRESHBOOKS_AUTH_URL`` are both it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from local.sandboxes.freshbooks import errors
from local.sandboxes.freshbooks.accounting import PREFIX, Accounting, Handler
from local.sandboxes.freshbooks.books import Businesses, Kind
from local.sandboxes.freshbooks.config import ClientApp, FreshBooksConfig
from local.sandboxes.freshbooks.control_api import register_control_routes
from local.sandboxes.freshbooks.identity import (
    AUTHORIZE_PATH,
    CONSENT_PATH,
    ME_PATH,
    REVOKE_PATH,
    TOKEN_PATH,
    FreshBooksIdentity,
)
from local.sandboxes.freshbooks.limits import Limits
from local.sandboxes.freshbooks.webhooks import Callbacks
from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.control import ControlServe
from local.sandboxes.kit.faults import CallInfo, FaultRule, fault_effect
from local.sandboxes.kit.pipeline import CONTROL_PREFIX, ProviderSandbox
from local.sandboxes.kit.reqlog import LogShape
from local.sandboxes.kit.serving import HostedApp
from local.sandboxes.kit.wire import Drop, Outcome, Request, Response, json_response

__all__ = ["ClientApp", "FreshBooksConfig", "FreshBooksSandbox", "for_stack"]

DEFAULT_BUSINESSES = ("Sandbox Studio",)


@dataclass(frozen=True)
class Route:
    # An accounting call (the handler gets the business's books) ...
    api: Handler | None = None
    kind: Kind | None = None
    # ... or an events (webhook callbacks) call ...
    events: Callable[..., Response] | None = None
    # ... or an OAuth / identity endpoint (authenticates by itself) ...
    identity: Callable[..., Response] | None = None
    # ... or a control call.
    control: ControlServe | None = None
    operation: str = "read"
    kind_name: str | None = None  # what the log and fault rules call a non-accounting call's entity


class FreshBooksSandbox(ProviderSandbox[Route]):
    thread_name = "freshbooks-sandbox"
    provider = "freshbooks"
    log_shape = LogShape(
        account_key="account_id",
        trace_header="x-request-id",
        query_fields=("page", "per_page"),
        header_fields=(("api_version", "x-api-version"),),
    )

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: FreshBooksConfig | None = None,
        businesses: tuple[str, ...] = DEFAULT_BUSINESSES,
    ) -> None:
        super().__init__(host, port)
        self.config = config or FreshBooksConfig()
        self.clock = SandboxClock(self.config.clock_scale)
        self.businesses = Businesses(businesses)
        self.identity = FreshBooksIdentity(self.config, self.clock, self.businesses)
        self.limits = Limits(self.config, self.clock)
        self.accounting = Accounting(self.businesses, self.identity, self.limits, self.config, self.stopping)
        self.callbacks = Callbacks(self.config, self.businesses, self.identity)
        self._add_routes()

    # ------------------------------------------------------------ routing

    def _add_routes(self) -> None:
        add = self.router.add
        identity = self.identity
        add("GET", AUTHORIZE_PATH, Route(identity=identity.authorize, operation="authorize"))
        add("POST", CONSENT_PATH, Route(identity=identity.consent, operation="authorize"))
        add("POST", TOKEN_PATH, Route(identity=identity.token, operation="token"))
        add("POST", REVOKE_PATH, Route(identity=identity.revoke, operation="revoke"))
        add("GET", ME_PATH, Route(identity=identity.me, operation="read", kind_name="identity"))
        for method, path, kind, operation, handler in self.accounting.routes():
            add(method, PREFIX + path, Route(api=handler, kind=kind, operation=operation))
        for method, path, operation, serve in self.callbacks.routes():
            add(method, path, Route(events=serve, operation=operation, kind_name="callback"))
        register_control_routes(
            self, lambda method, pattern, serve: add(method, pattern, Route(control=serve))
        )

    # ------------------------------------------------------------ the pipeline's parts

    def not_found(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return json_response(404, {"error": f"no control route {request.method} {request.path}"})
        return errors.FreshBooksError(404, 404, f"No route {request.method} {request.path}.").response(
            "legacy"
        )

    def classify(self, route: Route, request: Request, params: dict[str, str]) -> CallInfo:
        if route.kind is not None:
            return CallInfo("api", route.operation, params.get("account_id"), route.kind.single)
        kind = "api" if route.kind_name else "oauth"
        return CallInfo(kind, route.operation, params.get("account_id"), route.kind_name)

    def serve(self, route: Route, request: Request, call: CallInfo, params: dict[str, str]) -> Outcome:
        if route.identity is not None:
            return route.identity(request, **params)
        if route.events is not None:
            return self.callbacks.call(request, route.events, params)
        assert route.api is not None
        assert route.kind is not None
        return self.accounting.call(request, route.kind, route.api, params)

    def injected(self, rule: FaultRule, call: CallInfo) -> Outcome:
        action = fault_effect(rule)
        if isinstance(action, Drop):
            return action
        if action == "http_401":
            return errors.unauthenticated().response()
        if action == "http_429":
            return errors.rate_limited(rule.retry_after).response(self.accounting.style)
        if action == "http_503":
            return errors.unavailable().response(self.accounting.style)
        return errors.internal().response(self.accounting.style)

    def failure(self) -> Response:
        return errors.internal().response(self.accounting.style)

    def stop(self) -> None:
        self.callbacks.stop()
        super().stop()


def for_stack(app: HostedApp) -> FreshBooksSandbox:
    """The sandbox the local stack runs, its app registered."""
    clients = {app.client_id: ClientApp(secret=app.client_secret, redirect_uris=[app.redirect_uri])}
    return FreshBooksSandbox(host=app.host, port=app.port, config=FreshBooksConfig(clients=clients))
