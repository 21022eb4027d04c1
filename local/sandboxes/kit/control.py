"""The plumbing of every sandbox's control API under /_sandbox/: JSON bodies, refusals as 4xx
answers, and the routes all sandboxes share (fault rules, the request log).

No authentication (sandboxes listen on loopback only) and not in the request log: it is not the
provider's traffic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local.sandboxes.kit.faults import FaultInjector
from local.sandboxes.kit.reqlog import RequestLog
from local.sandboxes.kit.wire import Request, Response, json_response

ControlServe = Callable[[Request, dict[str, str]], Response]
AddRoute = Callable[[str, str, ControlServe], None]
ControlRoutes = list[tuple[str, str, Callable[..., object]]]


class BadRequest(Exception):
    """A control call refused: answered with ``status`` and ``{"error": message, **extra()}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status

    def extra(self) -> dict[str, Any]:
        return {}


def control_route(handler: Callable[..., object], refusals: tuple[type[Exception], ...] = ()) -> ControlServe:
    """A control handler as a route: its result as 200 JSON, a BadRequest (or one of
    ``refusals``, which carry a ``status``) as that status with the error."""

    def serve(request: Request, params: dict[str, str]) -> Response:
        try:
            result = handler(request, **params)
        except BadRequest as bad:
            return json_response(bad.status, {"error": str(bad), **bad.extra()})
        except refusals as refused:
            return json_response(getattr(refused, "status", 400), {"error": str(refused)})
        return json_response(200, result)

    return serve


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; an empty body is ``{}``."""
    if not request.body:
        return {}
    try:
        body = request.json()
    except ValueError:  # UnicodeDecodeError included
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


class FaultControl:
    """GET/POST/DELETE /_sandbox/faults over a sandbox's fault rules."""

    def __init__(self, faults: FaultInjector) -> None:
        self.faults = faults

    def routes(self) -> ControlRoutes:
        return [
            ("GET", "/_sandbox/faults", self.list_faults),
            ("POST", "/_sandbox/faults", self.add_fault),
            ("DELETE", "/_sandbox/faults", self.clear_faults),
        ]

    def list_faults(self, request: Request) -> object:
        return {"rules": self.faults.rules()}

    def add_fault(self, request: Request) -> object:
        try:
            return self.faults.add(json_body(request)).public()
        except (ValueError, TypeError) as exc:
            raise BadRequest(str(exc)) from None

    def clear_faults(self, request: Request) -> object:
        self.faults.clear()
        return {"rules": []}


class RequestLogControl:
    """GET/DELETE /_sandbox/requests over a sandbox's request log (GET filters by ``?<account key>=``)."""

    def __init__(self, log: RequestLog) -> None:
        self.log = log

    def routes(self) -> ControlRoutes:
        return [
            ("GET", "/_sandbox/requests", self.requests),
            ("DELETE", "/_sandbox/requests", self.clear_requests),
        ]

    def requests(self, request: Request) -> object:
        return {"requests": self.log.entries(request.param(self.log.shape.account_key))}

    def clear_requests(self, request: Request) -> object:
        self.log.clear()
        return {"requests": []}


def shared_routes(faults: FaultInjector, log: RequestLog) -> ControlRoutes:
    """The control routes every sandbox has: its fault rules and its request log."""
    return [*FaultControl(faults).routes(), *RequestLogControl(log).routes()]


def add_control_routes(
    add: AddRoute, routes: ControlRoutes, refusals: tuple[type[Exception], ...] = ()
) -> None:
    for method, pattern, handler in routes:
        add(method, pattern, control_route(handler, refusals))
