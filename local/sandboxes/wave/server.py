"""WaveSandbox: Wave's OAuth server and public GraphQL API on loopback, in a background thread or
standalone.

The kit's pipeline (classify, log, fault or serve) around Wave's routes: ``/oauth2/authorize/``,
``/oauth2/token/`` (api.waveapps.com) and ``/graphql/public`` (gql.waveapps.com), one base URL
serving both hosts; the control API under /_sandbox/ bypasses it. A GraphQL call is classified
from its document (the mutation's root field: ``invoice``/``create``...; a query: ``query``) and
its business (named in the variables, or the owner of an id: Wave's ids carry their business).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from graphql.utilities import get_operation_ast

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.control import ControlServe
from local.sandboxes.kit.faults import CallInfo, FaultRule, fault_effect
from local.sandboxes.kit.pipeline import CONTROL_PREFIX, ProviderSandbox
from local.sandboxes.kit.reqlog import LogShape
from local.sandboxes.kit.serving import HostedApp
from local.sandboxes.kit.wire import Drop, Outcome, Request, Response, json_response
from local.sandboxes.wave import api, errors
from local.sandboxes.wave.books import Businesses, business_id_of
from local.sandboxes.wave.config import ClientApp, WaveConfig
from local.sandboxes.wave.control_api import register_control_routes
from local.sandboxes.wave.identity import Grant, WaveIdentity, new_user

__all__ = ["ClientApp", "WaveConfig", "WaveSandbox", "for_stack"]

GRAPHQL_PATH = "/graphql/public"
# The user's businesses at start: two that may be connected, one on the free plan, one in euros.
DEFAULT_BUSINESSES: tuple[dict[str, str], ...] = (
    {"name": "Maple Design Studio", "currency": "USD", "plan": "pro"},
    {"name": "Northern Consulting", "currency": "CAD", "plan": "pro"},
    {"name": "Side Project (Starter)", "currency": "USD", "plan": "starter"},
    {"name": "Paris Atelier", "currency": "EUR", "plan": "pro", "country": "FR"},
)


@dataclass(frozen=True)
class Route:
    graphql: bool = False
    identity: Callable[[Request], Response] | None = None
    control: ControlServe | None = None
    operation: str = "query"


class Concurrency:
    """At most ``concurrent_limit`` calls in flight per grant; another is a 429 with Retry-After."""

    def __init__(self, config: WaveConfig) -> None:
        self.config = config
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.refused = 0

    @contextmanager
    def admit(self, key: str) -> Iterator[bool]:
        with self.lock:
            admitted = self.in_flight.get(key, 0) < self.config.concurrent_limit
            if admitted:
                self.in_flight[key] = self.in_flight.get(key, 0) + 1
            else:
                self.refused += 1
        try:
            yield admitted
        finally:
            if admitted:
                with self.lock:
                    self.in_flight[key] -= 1

    def reset(self) -> None:
        with self.lock:
            self.in_flight.clear()
            self.refused = 0

    def count(self) -> int:
        """Calls in flight now, over every grant."""
        with self.lock:
            return sum(self.in_flight.values())


class WaveSandbox(ProviderSandbox[Route]):
    thread_name = "wave-sandbox"
    provider = "wave"
    log_shape = LogShape(account_key="business_id", trace_header="x-request-id", fault_key="error_code")

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: WaveConfig | None = None,
        businesses: tuple[dict[str, str], ...] = DEFAULT_BUSINESSES,
    ) -> None:
        super().__init__(host, port)
        self.config = config or WaveConfig()
        self.clock = SandboxClock(self.config.clock_scale)
        self._epoch = datetime.now(UTC)
        self.books = Businesses(self.now)
        self.books.reset(businesses)
        self.identity = WaveIdentity(self.config, self.clock, self.books, new_user(self.now()))
        self.concurrency = Concurrency(self.config)
        # Cleared by the control API (POST /_sandbox/hold): GraphQL calls then wait, holding their
        # place among the calls in flight, until it is set again (tests overlap calls without timing).
        self.released = threading.Event()
        self.released.set()
        self.executing = threading.Lock()
        self._add_routes()

    def run(self, body: dict[str, Any], grant_of: Callable[[], Grant | None]) -> dict[str, Any]:
        """One GraphQL request run alone: its fields resolve lazily, after the lister that found
        them, so no other request may write the books meanwhile."""
        with self.executing:
            return api.run(body, grant_of, self.books, self.now)

    def now(self) -> datetime:
        """The sandbox's wall clock: its start plus the scaled clock (advancing it moves dates too)."""
        return self._epoch + timedelta(seconds=self.clock.now())

    def _add_routes(self) -> None:
        add = self.router.add
        add("GET", "/oauth2/authorize/?", Route(identity=self.identity.authorize, operation="authorize"))
        add("POST", "/oauth2/consent/", Route(identity=self.identity.consent, operation="authorize"))
        add("POST", "/oauth2/token/", Route(identity=self.identity.token, operation="token"))
        add("POST", GRAPHQL_PATH, Route(graphql=True))
        register_control_routes(
            self, lambda method, pattern, serve: add(method, pattern, Route(control=serve))
        )

    # ------------------------------------------------------------ the pipeline's parts

    def not_found(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return json_response(404, {"error": f"no control route {request.method} {request.path}"})
        return json_response(404, {"errors": [{"message": "Not Found", "extensions": {"code": "NOT_FOUND"}}]})

    def classify(self, route: Route, request: Request, params: dict[str, str]) -> CallInfo:
        if not route.graphql:
            return CallInfo("oauth", route.operation)
        body = _json(request.body)
        fields = _root_fields(body)
        realm = _business_named(body.get("variables"))
        if not fields:
            return CallInfo("api", "query", realm)
        kinds = [_kind(name, mutation) for name, mutation in fields]
        entity, operation = kinds[0]
        return CallInfo("api", operation, realm, entity, kinds if len(kinds) > 1 else [])

    def serve(self, route: Route, request: Request, call: CallInfo, params: dict[str, str]) -> Outcome:
        if route.identity is not None:
            return route.identity(request)
        # Calls in flight are counted per grant (an app's refreshed tokens share it), else per header.
        grant = self.identity.grant_of(request.header("authorization"))
        key = grant.id if grant is not None else request.header("authorization") or "anonymous"
        with self.concurrency.admit(key) as admitted:
            if not admitted:
                return errors.rate_limited(self.config.retry_after_s)
            if self.config.latency_s > 0:
                self.stopping.wait(self.clock.to_real_seconds(self.config.latency_s))
            while not self.released.wait(0.05) and not self.stopping.is_set():
                continue
            body = _json(request.body)
            answer = self.run(body, lambda: self.identity.grant_of(request.header("authorization")))
        codes = [str(e.get("extensions", {}).get("code")) for e in answer.get("errors", [])]
        return json_response(200, answer, fault_code=codes[0] if codes else None)

    def injected(self, rule: FaultRule, call: CallInfo) -> Outcome:
        action = fault_effect(rule)
        if isinstance(action, Drop):
            return action
        if action == "http_429":
            return errors.rate_limited(rule.retry_after)
        if action == "http_401":
            return errors.unauthorized()
        if action == "http_503":
            return errors.unavailable()
        return errors.internal()

    def failure(self) -> Response:
        return errors.internal()


# ------------------------------------------------------------------ classifying a call


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8")) if raw else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


# A business's field -> the entity a query of it reads (fault rules and the log name these).
_READS = {
    "account": "account",
    "accounts": "account",
    "customer": "customer",
    "customers": "customer",
    "product": "product",
    "products": "product",
    "salesTax": "sales_tax",
    "salesTaxes": "sales_tax",
    "invoice": "invoice",
    "invoices": "invoice",
    "invoicePayment": "invoice_payment",
    "vendor": "vendor",
    "vendors": "vendor",
    "estimate": "estimate",
    "estimates": "estimate",
}


def _root_fields(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """(field, is a mutation) of the operation a request runs, a ``business`` query named by the
    fields it reads inside (``business.invoices``); [] when it does not parse."""
    query, name = body.get("query"), body.get("operationName")
    if not isinstance(query, str):
        return []
    try:
        operation = get_operation_ast(parse(query), name if isinstance(name, str) else None)
    except GraphQLError:
        return []
    if not isinstance(operation, OperationDefinitionNode):
        return []
    mutation = operation.operation is OperationType.MUTATION
    fields: list[tuple[str, bool]] = []
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode):
            continue
        inner = selection.selection_set.selections if selection.selection_set else ()
        in_business = selection.name.value == "business" and not mutation
        reads = [
            f"business.{f.name.value}"
            for f in inner
            if in_business and isinstance(f, FieldNode) and f.name.value in _READS
        ]
        fields.extend((name, mutation) for name in reads or [selection.name.value])
    return fields


def _kind(field: str, mutation: bool) -> tuple[str | None, str]:
    """(entity, operation) for fault rules and the log."""
    if not mutation:
        _, _, read = field.partition("business.")
        if read:  # a list is a query, one record by id a read
            return _READS[read], "query" if read.endswith("s") else "read"
        return ("business" if field.startswith("business") else field), "query"
    spec = api.MUTATIONS.get(field)
    entity = spec[1] if spec else None
    for suffix, operation in (("Create", "create"), ("CreateManual", "create"), ("Delete", "delete")):
        if field.endswith(suffix):
            return entity, operation
    return entity, "update"


def _business_named(variables: object) -> str | None:
    """The business a call concerns: a ``businessId`` in its variables (or their ``input``), else
    the business of an id it names (Wave's ids carry their business)."""
    if not isinstance(variables, dict):
        return None
    scopes = [variables, *(v for v in variables.values() if isinstance(v, dict))]
    for scope in scopes:
        if isinstance(scope.get("businessId"), str):
            return str(scope["businessId"])
    for scope in scopes:
        for value in scope.values():
            owner = business_id_of(value) if isinstance(value, str) else None
            if owner:
                return owner
    return None


def for_stack(app: HostedApp) -> WaveSandbox:
    """The sandbox the local stack runs, its app registered (Wave has no webhooks: apps poll)."""
    clients = {app.client_id: ClientApp(secret=app.client_secret, redirect_uris=[app.redirect_uri])}
    return WaveSandbox(host=app.host, port=app.port, config=WaveConfig(clients=clients))
