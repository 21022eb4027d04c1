"""SquareSandbox: the Square Connect look-alike on loopback, in a background thread or standalone.

The kit's pipeline (classify, log, fault or serve) around Square's routes: OAuth endpoints (they
authenticate by themselves) and Connect calls (bearer token and scope); the control API under
/_sandbox/ bypasses it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.control import ControlServe
from local.sandboxes.kit.faults import CallInfo, FaultRule, fault_effect
from local.sandboxes.kit.pipeline import CONTROL_PREFIX, ProviderSandbox
from local.sandboxes.kit.reqlog import LogShape
from local.sandboxes.kit.serving import HostedApp
from local.sandboxes.kit.wire import Drop, Outcome, Request, Response, json_response
from local.sandboxes.square import errors
from local.sandboxes.square.api import DataAPI
from local.sandboxes.square.config import ClientApp, FeeModel, SquareConfig
from local.sandboxes.square.control_api import register_control_routes
from local.sandboxes.square.errors import SquareError
from local.sandboxes.square.ledger import Ledger
from local.sandboxes.square.oauth import SquareOAuth
from local.sandboxes.square.webhooks import Webhooks

__all__ = ["ClientApp", "FeeModel", "SquareConfig", "SquareSandbox", "for_stack"]

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


class SquareSandbox(ProviderSandbox[Route]):
    thread_name = "square-sandbox"
    provider = "square"
    log_shape = LogShape(
        account_key="merchant_id",
        trace_header="square-trace-id",
        fault_key="error_code",
        header_fields=(("square_version", "square-version"),),
    )

    def __init__(self, host: str = "127.0.0.1", port: int = 0, config: SquareConfig | None = None) -> None:
        super().__init__(host, port)
        self.config = config or SquareConfig()
        self.clock = SandboxClock(self.config.clock_scale)
        self.ledger = Ledger(self.config)
        self.oauth = SquareOAuth(self.config, self.clock, self.ledger)
        self.api = DataAPI(self.config, self.ledger)
        self.webhooks = Webhooks(self.oauth.has_grant)
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

    # ------------------------------------------------------------ the pipeline's parts

    def not_found(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return json_response(404, {"error": f"no control route {request.method} {request.path}"})
        return errors.SquareError(
            404,
            "INVALID_REQUEST_ERROR",
            "NOT_FOUND",
            f"{request.method} {request.path} is not a Square endpoint.",
        ).response()

    def classify(self, route: Route, request: Request, params: dict[str, str]) -> CallInfo:
        return CallInfo(
            "oauth" if route.oauth else "api", route.operation, self._merchant_hint(request), route.entity
        )

    def _merchant_hint(self, request: Request) -> str | None:
        """The seller a call concerns, so a fault rule's ``realm`` can name a merchant id."""
        try:
            return self.oauth.merchant_of(request.header("authorization"))
        except SquareError:
            return None

    def serve(self, route: Route, request: Request, call: CallInfo, params: dict[str, str]) -> Outcome:
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

    def injected(self, rule: FaultRule, call: CallInfo) -> Outcome:
        action = fault_effect(rule)
        if isinstance(action, Drop):
            return action
        if action == "http_429":
            return errors.rate_limited(rule.retry_after if self.config.send_retry_after else None).response()
        if action == "http_503":
            return errors.unavailable().response()
        return errors.internal().response()

    def failure(self) -> Response:
        return errors.internal().response()


def for_stack(app: HostedApp) -> SquareSandbox:
    """The sandbox the local stack runs: its app registered and, with a notification URL, the
    webhook subscription that posts to it signed with ``signature_key``."""
    clients = {app.client_id: ClientApp(secret=app.client_secret, redirect_uris=[app.redirect_uri])}
    sandbox = SquareSandbox(host=app.host, port=app.port, config=SquareConfig(clients=clients))
    if app.notification_url is not None:
        sandbox.webhooks.subscribe(
            {"notification_url": app.notification_url, "signature_key": app.signature_key}
        )
    return sandbox
