"""The plumbing of every sandbox's control API under /_sandbox/: JSON bodies, refusals as 4xx
answers, and the routes all sandboxes share (fault rules, the request log).

No authentication (sandboxes listen on loopback only) and not in the request log: it is not the
provider's traffic.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.faults import FaultInjector
from local.sandboxes.kit.oauth import ClientApp
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


# ------------------------------------------------------------ settings, the clock, app registrations


class ClockedSettings(Protocol):
    """What a sandbox's config object has besides its own settings: the clock's scale."""

    clock_scale: float


class SandboxSettings(ClockedSettings, Protocol):
    """A sandbox with OAuth apps: its config also holds the apps registered."""

    clients: dict[str, ClientApp]


def number(body: dict[str, Any], name: str, default: float) -> float:
    """A control body's number of seconds (or count), 0 or more; BadRequest naming it otherwise."""
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadRequest(f"{name} must be a number of seconds, 0 or more (got {value!r})")
    return float(value)


class ConfigControl:
    """GET/POST /_sandbox/config over a sandbox's settings (``settable``: the fields a running
    sandbox lets tests change, by type, a float taking any number; ``choices``: the values a
    field may take) and POST /_sandbox/clock/advance. As it is: a sandbox without OAuth apps
    (Voyage, whose API keys have their own routes)."""

    def __init__(
        self,
        config: ClockedSettings,
        clock: SandboxClock,
        settable: dict[str, type],
        choices: dict[str, tuple[object, ...]] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.settable = settable
        self.choices = choices or {}

    def routes(self) -> ControlRoutes:
        return [
            ("GET", "/_sandbox/config", self.get_config),
            ("POST", "/_sandbox/config", self.set_config),
            ("POST", "/_sandbox/clock/advance", self.advance_clock),
        ]

    def get_config(self, request: Request) -> dict[str, Any]:
        config = self.config
        return {**{name: getattr(config, name) for name in self.settable}, "clock_scale": config.clock_scale}

    def set_config(self, request: Request) -> object:
        """Every change checked before any is made."""
        changes = json_body(request)
        for name, given in changes.items():
            kind = self.settable.get(name)
            if kind is None:
                raise BadRequest(f"{name} is not a setting; settable: {', '.join(sorted(self.settable))}")
            # A float setting takes any JSON number (bodies read non-integers as Decimal).
            number = isinstance(given, int | Decimal) and not isinstance(given, bool)
            value = changes[name] = float(given) if kind is float and number else given
            if type(value) is not kind:
                raise BadRequest(f"{name} must be {kind.__name__} (got {value!r})")
            allowed = self.choices.get(name)
            if allowed is not None and value not in allowed:
                raise BadRequest(f"{name} must be one of {', '.join(map(str, allowed))} (got {value!r})")
        for name, value in changes.items():
            setattr(self.config, name, value)
        return self.get_config(request)

    def advance_clock(self, request: Request) -> object:
        return {"now": self.clock.advance(number(json_body(request), "seconds", 0))}


class SettingsControl(ConfigControl):
    """ConfigControl for a sandbox with OAuth apps: the config also lists them (``clients``), and
    POST /_sandbox/clients registers one (``refuse_uri`` says why a redirect URI cannot be
    registered, None when it can)."""

    config: SandboxSettings

    def __init__(
        self,
        config: SandboxSettings,
        clock: SandboxClock,
        settable: dict[str, type],
        choices: dict[str, tuple[object, ...]] | None = None,
        refuse_uri: Callable[[str], str | None] = lambda _uri: None,
    ) -> None:
        super().__init__(config, clock, settable, choices)
        self.refuse_uri = refuse_uri

    def routes(self) -> ControlRoutes:
        return [*super().routes(), ("POST", "/_sandbox/clients", self.register_client)]

    def get_config(self, request: Request) -> dict[str, Any]:
        return {**super().get_config(request), "clients": sorted(self.config.clients)}

    def register_client(self, request: Request) -> object:
        body = json_body(request)
        client_id, secret, uris = body.get("client_id"), body.get("client_secret"), body.get("redirect_uris")
        if not isinstance(client_id, str) or not isinstance(secret, str) or not isinstance(uris, list):
            raise BadRequest("client_id, client_secret (strings) and redirect_uris (a list) are required")
        for uri in uris:
            problem = self.refuse_uri(str(uri))
            if problem is not None:
                raise BadRequest(problem)
        self.config.clients[client_id] = ClientApp(secret=secret, redirect_uris=[str(u) for u in uris])
        return {"client_id": client_id}
