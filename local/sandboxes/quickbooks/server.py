"""QuickBooksSandbox: the Intuit look-alike on loopback, in a background thread or standalone.

Request pipeline for Intuit's own paths: classify the call, log it, let a fault rule answer
instead (or swallow the answer after the work is done), else authenticate, throttle and serve.
The control API under /_sandbox/ bypasses all of that.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from local.sandboxes.common import ControlServe, LoopbackSandbox, fault_effect
from local.sandboxes.quickbooks import errors
from local.sandboxes.quickbooks.accounting import AccountingAPI, classify
from local.sandboxes.quickbooks.books import Books
from local.sandboxes.quickbooks.clock import CompanyClock, SandboxClock
from local.sandboxes.quickbooks.config import ClientApp, Limits, SandboxConfig
from local.sandboxes.quickbooks.control_api import register_control_routes
from local.sandboxes.quickbooks.faults import CallInfo, FaultInjector, FaultRule
from local.sandboxes.quickbooks.limits import RateLimiter
from local.sandboxes.quickbooks.oauth import OAuthServer
from local.sandboxes.quickbooks.reqlog import LogEntry, RequestLog
from local.sandboxes.quickbooks.wire import (
    Drop,
    Outcome,
    Request,
    Response,
    Router,
    html_response,
    json_response,
)

__all__ = ["ClientApp", "Limits", "QuickBooksSandbox", "SandboxConfig"]

log = logging.getLogger("booksync.sandbox.quickbooks")

Classifier = Callable[[Request, dict[str, str]], CallInfo]
Serve = Callable[[Request, CallInfo, dict[str, str]], Outcome]


@dataclass(frozen=True)
class Route:
    serve: Serve | None = None
    classify: Classifier | None = None
    control: ControlServe | None = None


class QuickBooksSandbox(LoopbackSandbox):
    thread_name = "qbo-sandbox"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, config: SandboxConfig | None = None) -> None:
        super().__init__(host, port)
        self.config = config or SandboxConfig()
        self.clock = SandboxClock(self.config.clock_scale)
        self.company_clock = CompanyClock(self.config.company_timezone)
        self.books = Books(self.company_clock)
        self.oauth = OAuthServer(self.config, self.clock, self.books)
        self.faults = FaultInjector()
        self.log = RequestLog()
        self.limiter = RateLimiter(self.clock)
        self.accounting = AccountingAPI(
            self.config, self.books, self.oauth, self.limiter, self.company_clock, self.stopping
        )
        self.router: Router[Route] = Router()
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

    # ------------------------------------------------------------ pipeline

    def handle(self, request: Request) -> Outcome:
        try:
            return self._pipeline(request)
        except Exception:  # a sandbox bug must still answer like a server, not hang the client
            log.exception("sandbox error on %s %s", request.method, request.path)
            return self.accounting.fault_response(errors.system_failure())

    def _pipeline(self, request: Request) -> Outcome:
        found = self.router.match(request.method, request.path)
        if found is None:
            return html_response(404, "<!doctype html><title>404</title><h1>Not Found</h1>")
        route, params = found
        if route.control is not None:
            return route.control(request, params)
        assert route.serve is not None
        assert route.classify is not None
        call = route.classify(request, params)
        entry = self.log.start(request, call, self.company_clock.response_time())
        rule = self.faults.pick(request.method, request.path, call)
        if rule is not None and not rule.commits_first:
            outcome = self._injected(rule, call)
        else:
            outcome = self._serve(route, request, call, params)
            if rule is not None:
                entry.committed_status = outcome.status if isinstance(outcome, Response) else None
                outcome = self._injected(rule, call)
        self._record(entry, outcome, rule)
        return outcome

    def _serve(self, route: Route, request: Request, call: CallInfo, params: dict[str, str]) -> Outcome:
        assert route.serve is not None
        try:
            return route.serve(request, call, params)
        except Exception:  # a sandbox bug must still answer like a server, and be logged as one
            log.exception("sandbox error on %s %s", request.method, request.path)
            return self.accounting.fault_response(errors.system_failure())

    def _injected(self, rule: FaultRule, call: CallInfo) -> Outcome:
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

    def _record(self, entry: LogEntry, outcome: Outcome, rule: FaultRule | None) -> None:
        entry.injected = rule.action if rule is not None else None
        if isinstance(outcome, Drop):
            entry.delivered = False
            self.log.finish(entry, None, None)
            return
        # Intuit tags every answer with a transaction id support can trace; so does the sandbox.
        entry.intuit_tid = outcome.headers.setdefault("intuit_tid", str(uuid.uuid4()))
        entry.replayed = outcome.replayed
        entry.delivered = rule is None or not rule.commits_first
        self.log.finish(entry, outcome.status, outcome.fault_code)


_UNAVAILABLE_PAGE = "<!doctype html><title>503 Service Unavailable</title><h1>Service Unavailable</h1>"


def _oauth(operation: str) -> Classifier:
    return lambda request, params: CallInfo("oauth", operation)
