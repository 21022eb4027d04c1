"""QuickBooksSandbox: the Intuit look-alike on loopback, in a background thread or standalone.

The kit's pipeline (classify, log, fault or serve) around Intuit's routes: OAuth, then the
Accounting API (authenticate, throttle, serve); the control API under /_sandbox/ bypasses it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.control import ControlServe
from local.sandboxes.kit.faults import CallInfo, FaultRule, fault_effect
from local.sandboxes.kit.pipeline import ProviderSandbox
from local.sandboxes.kit.reqlog import LogShape
from local.sandboxes.kit.serving import HostedApp
from local.sandboxes.kit.wire import Drop, Outcome, Request, Response, html_response, json_response
from local.sandboxes.quickbooks import errors
from local.sandboxes.quickbooks.accounting import AccountingAPI, classify
from local.sandboxes.quickbooks.books import Books
from local.sandboxes.quickbooks.clock import CompanyClock
from local.sandboxes.quickbooks.config import ClientApp, Limits, SandboxConfig
from local.sandboxes.quickbooks.control_api import register_control_routes
from local.sandboxes.quickbooks.limits import RateLimiter
from local.sandboxes.quickbooks.oauth import OAuthServer

__all__ = ["ClientApp", "Limits", "QuickBooksSandbox", "SandboxConfig", "for_stack"]

Classifier = Callable[[Request, dict[str, str]], CallInfo]
Serve = Callable[[Request, CallInfo, dict[str, str]], Outcome]


@dataclass(frozen=True)
class Route:
    serve: Serve | None = None
    classify: Classifier | None = None
    control: ControlServe | None = None


class QuickBooksSandbox(ProviderSandbox[Route]):
    thread_name = "qbo-sandbox"
    provider = "quickbooks"
    log_shape = LogShape(
        account_key="realm", trace_header="intuit_tid", query_fields=("requestid", "minorversion")
    )

    def __init__(self, host: str = "127.0.0.1", port: int = 0, config: SandboxConfig | None = None) -> None:
        super().__init__(host, port)
        self.config = config or SandboxConfig()
        self.clock = SandboxClock(self.config.clock_scale)
        self.company_clock = CompanyClock(self.config.company_timezone)
        self.books = Books(self.company_clock)
        self.oauth = OAuthServer(self.config, self.clock, self.books)
        self.limiter = RateLimiter(self.clock)
        self.accounting = AccountingAPI(
            self.config, self.books, self.oauth, self.limiter, self.company_clock, self.stopping
        )
        self._add_routes()

    # ------------------------------------------------------------ routing

    def _add_routes(self) -> None:
        oauth = self.oauth
        add = self.router.add
        add("GET", "/connect/oauth2", Route(lambda r, c, p: oauth.authorize_page(r), _oauth("authorize")))
        add("POST", "/connect/oauth2/consent", Route(lambda r, c, p: oauth.consent(r), _oauth("authorize")))
        add("POST", "/oauth2/v1/tokens/bearer", Route(lambda r, c, p: oauth.token(r), self._classify_token))
        revoke = Route(lambda r, c, p: oauth.revoke(r), _oauth("revoke"))
        add("POST", "/oauth2/v1/tokens/revoke", revoke)
        add("POST", "/v2/oauth2/tokens/revoke", revoke)  # the path Intuit's discovery document names
        api = Route(
            lambda r, c, p: self.accounting.handle(r, c, p["realm"], p["rest"]),
            lambda r, p: classify(r, p["realm"], p["rest"]),
        )
        for method in ("GET", "POST"):
            add(method, r"/v3/company/(?P<realm>[^/]+)/(?P<rest>.+)", api)
        register_control_routes(
            self, lambda method, pattern, serve: add(method, pattern, Route(control=serve))
        )

    def _classify_token(self, request: Request, _: dict[str, str]) -> CallInfo:
        return CallInfo("oauth", "token", self.oauth.realm_of_token_request(request))

    # ------------------------------------------------------------ the pipeline's parts

    def classify(self, route: Route, request: Request, params: dict[str, str]) -> CallInfo:
        assert route.classify is not None
        return route.classify(request, params)

    def serve(self, route: Route, request: Request, call: CallInfo, params: dict[str, str]) -> Outcome:
        assert route.serve is not None
        return route.serve(request, call, params)

    def failure(self) -> Response:
        return self.accounting.fault_response(errors.system_failure())

    def not_found(self, request: Request) -> Response:
        return html_response(404, "<!doctype html><title>404</title><h1>Not Found</h1>")

    def log_time(self) -> str:
        return self.company_clock.response_time()

    def injected(self, rule: FaultRule, call: CallInfo) -> Outcome:
        effect = fault_effect(rule)
        if isinstance(effect, Drop):
            return effect
        if effect == "http_503":
            # Intuit's edge answers 503 with an HTML page, not a Fault: clients must cope with both.
            return html_response(503, _UNAVAILABLE_PAGE)
        if effect == "http_429":
            return self._injected_throttle(rule, call)
        if effect == "http_401" and call.kind != "oauth":
            # Intuit refusing a token it issued moments ago (an app or company problem on its side).
            return self.accounting.fault_response(errors.authentication_failed("Token invalid"))
        if call.kind == "oauth":
            return json_response(500, {"error": "server_error"}, fault_code="server_error")
        return self.accounting.fault_response(errors.system_failure())

    def _injected_throttle(self, rule: FaultRule, call: CallInfo) -> Response:
        if call.kind != "oauth":
            return self.accounting.throttle_response(rule.retry_after)
        headers = {"Retry-After": str(rule.retry_after)} if self.config.send_retry_after else None
        return json_response(
            429, {"error": "too_many_requests"}, headers=headers, fault_code="too_many_requests"
        )


_UNAVAILABLE_PAGE = "<!doctype html><title>503 Service Unavailable</title><h1>Service Unavailable</h1>"


def _oauth(operation: str) -> Classifier:
    return lambda request, params: CallInfo("oauth", operation)


def for_stack(app: HostedApp) -> QuickBooksSandbox:
    """The sandbox the local stack runs: its app registered (Intuit has no webhook subscription to
    make: the sandbox signs deliveries on request, ``POST /_sandbox/webhooks``)."""
    clients = {app.client_id: ClientApp(secret=app.client_secret, redirect_uris=[app.redirect_uri])}
    return QuickBooksSandbox(host=app.host, port=app.port, config=SandboxConfig(clients=clients))
