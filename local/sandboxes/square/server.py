"""SquareSandbox: the Square Connect look-alike on loopback, in a background thread or standalone.

Same pipeline as the QuickBooks sandbox, whose HTTP layer, scaled clock and fault rules it reuses:
classify the call, let a fault rule answer instead (or after the work), else authenticate and serve.
The control API under /_sandbox/ bypasses all of that.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from local.sandboxes.common import ControlServe, LoopbackSandbox, fault_effect
from local.sandboxes.quickbooks.faults import CallInfo, FaultInjector, FaultRule
from local.sandboxes.quickbooks.wire import (
    Drop,
    Outcome,
    Request,
    Response,
    Router,
    json_response,
)
from local.sandboxes.square import errors
from local.sandboxes.square.api import DataAPI
from local.sandboxes.square.clock import SquareClock
from local.sandboxes.square.config import ClientApp, FeeModel, SquareConfig
from local.sandboxes.square.control_api import register_control_routes
from local.sandboxes.square.errors import SquareError
from local.sandboxes.square.ledger import Ledger
from local.sandboxes.square.oauth import SquareOAuth
from local.sandboxes.square.webhooks import Webhooks

__all__ = ["ClientApp", "FeeModel", "SquareConfig", "SquareSandbox"]

log = logging.getLogger("booksync.sandbox.square")
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")

ApiServe = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Route:
    # A Connect call (bearer auth; the handler gets the seller's merchant id) ...
    api: ApiServe | None = None
    # ... or an OAuth endpoint (authenticates by itself) ...
    oauth: Callable[[Request], Response] | None = None
    # ... or a control call.
    control: ControlServe | None = None
    operation: str = "read"
    entity: str | None = None
    # The OAuth permission the call needs (Square answers 403 INSUFFICIENT_SCOPES without it).
    scope: str | None = None


class SquareSandbox(LoopbackSandbox):
    thread_name = "square-sandbox"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, config: SquareConfig | None = None) -> None:
        super().__init__(host, port)
        self.config = config or SquareConfig()
        self.clock = SquareClock(self.config.clock_scale)
        self.ledger = Ledger(self.config)
        self.oauth = SquareOAuth(self.config, self.clock, self.ledger)
        self.api = DataAPI(self.config, self.ledger)
        self.webhooks = Webhooks(self.oauth.has_grant)
        self.faults = FaultInjector()
        self.requests: list[dict[str, Any]] = []
        self._requests_lock = threading.Lock()
        self.router: Router[Route] = Router()
        self._add_routes()

    # ------------------------------------------------------------ routing

    def _add_routes(self) -> None:
        add = self.router.add
        api = self.api
        add("GET", "/oauth2/authorize", Route(oauth=self.oauth.authorize, operation="authorize"))
        add("POST", "/oauth2/token", Route(oauth=self.oauth.token, operation="token"))
        add("POST", "/oauth2/revoke", Route(oauth=self.oauth.revoke, operation="revoke"))
        locations, payments, payouts = "MERCHANT_PROFILE_READ", "PAYMENTS_READ", "PAYOUTS_READ"
        connect: list[tuple[str, ApiServe, str, str, str]] = [
            ("/v2/locations", api.list_locations, "query", "location", locations),
            ("/v2/locations/(?P<location_id>[^/]+)", api.get_location, "read", "location", locations),
            ("/v2/payments", api.list_payments, "query", "payment", payments),
            ("/v2/payments/(?P<payment_id>[^/]+)", api.get_payment, "read", "payment", payments),
            ("/v2/refunds/(?P<refund_id>[^/]+)", api.get_refund, "read", "refund", payments),
            ("/v2/payouts", api.list_payouts, "query", "payout", payouts),
            ("/v2/payouts/(?P<payout_id>[^/]+)", api.get_payout, "read", "payout", payouts),
            (
                "/v2/payouts/(?P<payout_id>[^/]+)/payout-entries",
                api.list_payout_entries,
                "query",
                "payout_entry",
                payouts,
            ),
        ]
        for path, serve, operation, entity, scope in connect:
            add("GET", path, Route(api=serve, operation=operation, entity=entity, scope=scope))
        register_control_routes(
            self, lambda method, pattern, serve: add(method, pattern, Route(control=serve))
        )

    # ------------------------------------------------------------ pipeline

    def handle(self, request: Request) -> Outcome:
        try:
            outcome = self._pipeline(request)
        except Exception:  # a sandbox bug must still answer like a server, not hang the client
            log.exception("sandbox error on %s %s", request.method, request.path)
            outcome = errors.internal().response()
        if isinstance(outcome, Response) and not request.path.startswith("/_sandbox/"):
            # Square tags answers with a trace id support can look up; so does the sandbox.
            outcome.headers.setdefault("square-trace-id", str(uuid.uuid4()))
        return outcome

    def _pipeline(self, request: Request) -> Outcome:
        found = self.router.match(request.method, request.path)
        if found is None:
            if request.path.startswith("/_sandbox/"):
                return json_response(404, {"error": f"no control route {request.method} {request.path}"})
            return errors.SquareError(
                404,
                "INVALID_REQUEST_ERROR",
                "NOT_FOUND",
                f"{request.method} {request.path} is not a Square endpoint.",
            ).response()
        route, params = found
        if route.control is not None:
            return route.control(request, params)
        call = CallInfo(
            "oauth" if route.oauth else "api", route.operation, self._merchant_hint(request), route.entity
        )
        rule = self._fault_for(request, call)
        if rule is not None and not rule.commits_first:
            outcome = self._injected(rule)
        else:
            outcome = self._serve(route, request, params)
            if rule is not None:
                outcome = self._injected(rule)
        self._record(request, outcome, rule)
        return outcome

    def _fault_for(self, request: Request, call: CallInfo) -> FaultRule | None:
        """A rule's ``path`` regex is tried on the path, then on path?query, so a rule can aim at
        the pages after the first (``payout-entries\\?.*cursor=``) while ``/payout-entries$`` still
        matches every page."""
        rule = self.faults.pick(request.method, request.path, call)
        if rule is None and request.query:
            target = f"{request.path}?{urlencode(request.query, doseq=True)}"
            rule = self.faults.pick(request.method, target, call)
        return rule

    def _merchant_hint(self, request: Request) -> str | None:
        """The seller a call concerns, so a fault rule's ``realm`` can name a merchant id."""
        try:
            return self.oauth.merchant_of(request.header("authorization"))
        except SquareError:
            return None

    def _serve(self, route: Route, request: Request, params: dict[str, str]) -> Outcome:
        if route.oauth is not None:
            return route.oauth(request)
        assert route.api is not None
        try:
            version = request.header("square-version")
            if version is not None and not _VERSION.match(version):
                raise SquareError(
                    400,
                    "INVALID_REQUEST_ERROR",
                    "INVALID_SQUARE_VERSION_FORMAT",
                    "Square-Version must be a date such as 2025-08-20.",
                )
            merchant_id = self.oauth.merchant_of(request.header("authorization"), route.scope)
            return json_response(200, route.api(request, merchant_id, **params))
        except SquareError as error:
            return error.response()

    def _injected(self, rule: FaultRule) -> Outcome:
        action = fault_effect(rule)
        if isinstance(action, Drop):
            return action
        if action == "http_429":
            return errors.rate_limited(rule.retry_after if self.config.send_retry_after else None).response()
        if action == "http_503":
            return errors.unavailable().response()
        return errors.internal().response()

    def _record(self, request: Request, outcome: Outcome, rule: FaultRule | None) -> None:
        entry = {
            "method": request.method,
            "path": request.path,
            "query": {key: values[0] for key, values in request.query.items()},
            "square_version": request.header("square-version"),
            "status": outcome.status if isinstance(outcome, Response) else None,
            "error_code": outcome.fault_code if isinstance(outcome, Response) else None,
            "injected": rule.action if rule is not None else None,
        }
        with self._requests_lock:
            self.requests.append(entry)

    def request_log(self) -> list[dict[str, Any]]:
        with self._requests_lock:
            return list(self.requests)

    def clear_request_log(self) -> None:
        with self._requests_lock:
            self.requests.clear()
