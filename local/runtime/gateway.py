"""API Gateway HTTP API in front of the functions: route selection, the JWT authorizer, the payload
format 2.0 event, and the mapping of the function's answer back to HTTP.

Route selection follows API Gateway: a route whose path matches without variables beats one with
``{param}`` segments, which beats a greedy ``{proxy+}`` (longer literal prefix first); among those, a
route for the request's method beats ``ANY``; ``$default`` comes last.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.runtime.authorizer import Authorization, AuthorizationError, JwtAuthorizer
from local.runtime.functions import FunctionPool, InvocationResult
from local.runtime.model import ApiSpec, CorsSpec, RouteSpec
from local.runtime.web import HttpRequest, HttpResponse

_EXACT, _PARAMS, _GREEDY, _DEFAULT = range(4)
_LITERAL, _PARAM, _PROXY = range(3)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Media types API Gateway passes as text; any other body reaches the function base64-encoded.
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/graphql")


def _error(status: int, message: str, headers: Sequence[tuple[str, str]] = ()) -> HttpResponse:
    return HttpResponse.json(status, {"message": message}, headers)


# ---------------------------------------------------------------------------------------------
# Routes


@dataclass(frozen=True)
class _Route:
    spec: RouteSpec
    segments: tuple[tuple[int, str], ...]  # (kind, literal text or parameter name)
    tier: int

    @classmethod
    def compile(cls, spec: RouteSpec) -> _Route:
        if spec.path == "$default":
            return cls(spec, (), _DEFAULT)
        segments: list[tuple[int, str]] = []
        parts = spec.path.strip("/").split("/") if spec.path.strip("/") else []
        for index, part in enumerate(parts):
            if part.startswith("{") and part.endswith("+}"):
                if index != len(parts) - 1:
                    raise ValueError(f"{spec.route_key}: a greedy variable must be the last segment")
                segments.append((_PROXY, part[1:-2]))
            elif part.startswith("{") and part.endswith("}"):
                segments.append((_PARAM, part[1:-1]))
            else:
                segments.append((_LITERAL, part))
        kinds = {kind for kind, _ in segments}
        tier = _GREEDY if _PROXY in kinds else _PARAMS if _PARAM in kinds else _EXACT
        return cls(spec, tuple(segments), tier)

    def match(self, method: str, parts: Sequence[str]) -> dict[str, str] | None:
        if self.spec.method not in ("ANY", method):
            return None
        if self.tier == _DEFAULT:
            return {}
        params: dict[str, str] = {}
        for index, (kind, text) in enumerate(self.segments):
            if kind == _PROXY:
                rest = parts[index:]
                if not rest or rest == [""]:
                    return None
                params[text] = unquote("/".join(rest))
                return params
            if index >= len(parts):
                return None
            value = unquote(parts[index])
            if kind == _LITERAL and value != text:
                return None
            if kind == _PARAM:
                if not value:
                    return None
                params[text] = value
        return params if len(parts) == len(self.segments) else None

    def priority(self) -> tuple[int, tuple[int, ...], int, int]:
        kinds = tuple(kind for kind, _ in self.segments)
        return (self.tier, kinds, -len(self.segments), int(self.spec.method == "ANY"))


class RouteTable:
    def __init__(self, routes: Sequence[RouteSpec]) -> None:
        self._routes = sorted((_Route.compile(route) for route in routes), key=_Route.priority)

    def match(self, method: str, path: str) -> tuple[RouteSpec, dict[str, str]] | None:
        """The route API Gateway would pick for this method and (stage-relative, raw) path."""
        parts = path[1:].split("/") if path not in ("", "/") else []
        for route in self._routes:
            params = route.match(method, parts)
            if params is not None:
                return route.spec, params
        return None


# ---------------------------------------------------------------------------------------------
# The 2.0 event


def _is_text(content_type: str | None) -> bool:
    if content_type is None:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith(("+json", "+xml"))


def _is_utf8(body: bytes) -> bool:
    """A "text" body that is not UTF-8 still reaches the function, base64-encoded, as in AWS."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _request_id() -> str:
    return base64.b64encode(secrets.token_bytes(10)).decode()


def _clf_time(moment: datetime) -> str:
    """API Gateway's requestContext.time: 12/Mar/2020:19:03:58 +0000 (English month, always UTC)."""
    return f"{moment:%d}/{_MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"


@dataclass(frozen=True)
class EventContext:
    """Everything of the event that is not in the HTTP request itself."""

    api: ApiSpec
    route: RouteSpec
    path_parameters: Mapping[str, str]
    authorization: Authorization | None
    account_id: str
    request_id: str
    received_at: datetime


def build_event(request: HttpRequest, ctx: EventContext) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway sends to a Lambda integration."""
    headers, cookies = _event_headers(request, ctx.request_id)
    host = headers.get("host", "localhost").split(":", 1)[0]
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": ctx.route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = _query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    request_context: dict[str, Any] = {"accountId": ctx.account_id, "apiId": ctx.api.api_id}
    if ctx.authorization is not None:
        request_context["authorizer"] = ctx.authorization.context()
    request_context |= {
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.client_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": ctx.request_id,
        "routeKey": ctx.route.route_key,
        "stage": ctx.api.stage,
        "time": _clf_time(ctx.received_at),
        "timeEpoch": int(ctx.received_at.timestamp() * 1000),
    }
    event["requestContext"] = request_context
    if request.body:
        text = _is_text(request.header("content-type")) and _is_utf8(request.body)
        event["body"] = request.body.decode("utf-8") if text else base64.b64encode(request.body).decode()
        event["isBase64Encoded"] = not text
    else:
        event["isBase64Encoded"] = False
    if ctx.path_parameters:
        event["pathParameters"] = dict(ctx.path_parameters)
    if ctx.api.stage_variables:
        event["stageVariables"] = dict(ctx.api.stage_variables)
    return event


def _event_headers(request: HttpRequest, request_id: str) -> tuple[dict[str, str], list[str]]:
    """Headers lower-cased with repeats comma-joined; the Cookie header moves to ``cookies``."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded},{request.client_ip}" if forwarded else request.client_ip
    headers.setdefault("x-forwarded-port", str(request.server_port))
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault(
        "x-amzn-trace-id", f"Root=1-{int(datetime.now(UTC).timestamp()):08x}-{secrets.token_hex(12)}"
    )
    if request.body:
        headers["content-length"] = str(len(request.body))
    return headers, cookies


def _query_parameters(raw_query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


# ---------------------------------------------------------------------------------------------
# The function's answer


class MalformedResponse(ValueError):
    """The function answered something API Gateway cannot turn into HTTP (it answers 500)."""


def map_result(payload: Any) -> HttpResponse:
    """A 2.0 integration response to HTTP; without statusCode it is 200 JSON, as API Gateway does."""
    if not (isinstance(payload, dict) and "statusCode" in payload):
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return HttpResponse(200, [("content-type", "application/json")], text.encode())
    status = payload["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    for name, value in (payload.get("headers") or {}).items():
        joined = ",".join(str(v) for v in value) if isinstance(value, list) else _header_text(value)
        headers.append((str(name), joined))
    headers.extend(("set-cookie", str(cookie)) for cookie in payload.get("cookies") or [])
    body = payload.get("body")
    raw = b"" if body is None else str(body).encode()
    if payload.get("isBase64Encoded") and raw:
        try:
            raw = base64.b64decode(raw, validate=True)
        except binascii.Error as error:
            raise MalformedResponse(f"body is not base64: {error}") from error
    return HttpResponse(status, headers, raw)


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------------------------
# CORS (API Gateway answers preflights itself and sets the headers on every answer)


def _allowed_origin(cors: CorsSpec, origin: str | None) -> str | None:
    if origin is None:
        return None
    if "*" in cors.allow_origins:
        return "*"
    return origin if origin in cors.allow_origins else None


def _cors_headers(cors: CorsSpec, origin: str | None, *, preflight: bool) -> list[tuple[str, str]]:
    allowed = _allowed_origin(cors, origin)
    if allowed is None:
        return []
    headers = [("access-control-allow-origin", allowed)]
    if cors.allow_credentials:
        headers.append(("access-control-allow-credentials", "true"))
    if preflight:
        headers.append(("access-control-allow-methods", ",".join(cors.allow_methods)))
        if cors.allow_headers:
            headers.append(("access-control-allow-headers", ",".join(cors.allow_headers)))
        if cors.max_age is not None:
            headers.append(("access-control-max-age", str(cors.max_age)))
    elif cors.expose_headers:
        headers.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
    return headers


# ---------------------------------------------------------------------------------------------
# The gateway


class HttpApiGateway:
    """One HTTP API: an app for ``LoopbackServer``."""

    def __init__(
        self,
        api: ApiSpec,
        routes: Sequence[RouteSpec],
        pool: FunctionPool,
        authorizers: Mapping[str, JwtAuthorizer],
        account_id: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api = api
        self.routes = list(routes)
        self._table = RouteTable(routes)
        self._pool = pool
        self._authorizers = authorizers
        self._account_id = account_id
        self._clock = clock

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = _request_id()
        response = self._respond(request, request_id)
        response.headers.append(("apigw-requestid", request_id))
        return response

    def _respond(self, request: HttpRequest, request_id: str) -> HttpResponse:
        received_at = self._clock()
        path = self._stage_path(request.raw_path)
        cors = self.api.cors
        origin = request.header("origin")
        if (
            cors is not None
            and request.method == "OPTIONS"
            and request.header("access-control-request-method")
        ):
            return HttpResponse(204, _cors_headers(cors, origin, preflight=True))
        matched = None if path is None else self._table.match(request.method, path)
        if matched is None:
            return _error(404, "Not Found")
        route, params = matched
        try:
            authorization = self._authorize(request, route)
        except AuthorizationError as refused:
            status_text = "Unauthorized" if refused.status == 401 else "Forbidden"
            challenge = [
                ("www-authenticate", f'Bearer error="invalid_token" error_description="{refused.reason}"')
            ]
            return _error(refused.status, status_text, challenge if refused.status == 401 else ())
        ctx = EventContext(self.api, route, params, authorization, self._account_id, request_id, received_at)
        response = self._integrate(build_event(request, ctx), route)
        if cors is not None:
            cors_headers = _cors_headers(cors, origin, preflight=False)
            names = {name for name, _ in cors_headers}
            response.headers = [(n, v) for n, v in response.headers if n.lower() not in names] + cors_headers
        return response

    def _stage_path(self, raw_path: str) -> str | None:
        """The path routes are matched on: a named stage is the first segment of the URL."""
        if self.api.stage == "$default":
            return raw_path
        prefix = f"/{self.api.stage}"
        if raw_path == prefix or raw_path.startswith(prefix + "/"):
            return raw_path[len(prefix) :] or "/"
        return None

    def _authorize(self, request: HttpRequest, route: RouteSpec) -> Authorization | None:
        name = route.authorizer if route.authorizer is not None else self.api.default_authorizer
        if name is None or name == "NONE":
            return None
        return self._authorizers[name].authorize(request, route.scopes)

    def _integrate(self, event: dict[str, Any], route: RouteSpec) -> HttpResponse:
        future = self._pool.submit(route.function, event, f"http {route.route_key}")
        try:
            result: InvocationResult = future.result(timeout=route.timeout_ms / 1000)
        except FutureTimeout:
            # The integration timed out; the function itself runs on until its own Timeout.
            return _error(503, "Service Unavailable")
        if not result.ok:
            return _error(500, "Internal Server Error")
        try:
            return map_result(result.payload)
        except MalformedResponse:
            return _error(500, "Internal Server Error")
