"""The control API (127.0.0.1:3001 by default): what tests, the demo and a developer use to look at
the stack and drive it deterministically.

    GET  /functions                              functions, their environments and counters
    POST /functions/{LogicalId}/invoke           invoke with the request body as the event
    GET  /schedules                              schedules and their expressions
    POST /schedules/{Function}/{Event}/fire      fire a schedule now, wait, return the result
    GET  /queues                                 visible / in-flight / delayed / DLQ counts
    POST /queues/drain?timeout=30                200 once every event-source queue is empty and
                                                 nothing runs; 408 with what is still pending
    GET  /invocations?function=X&limit=N         recent invocations (trigger, duration, outcome, cold/warm)
    GET  /routes                                 the HTTP routes of each API
    GET  /.well-known/jwks.json                  the local JWT issuer's public key
    GET  /oauth/return                           a landing page for AppReturnUrl (echoes the query)

An invocation answers like Lambda's Invoke API: the payload as body, and on error
``X-Amz-Function-Error: Unhandled`` with Lambda's error object as body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from local.runtime.functions import FunctionPool, InvocationJournal, InvocationResult
from local.runtime.model import RouteSpec, StackModel
from local.runtime.pollers import QueueMonitor
from local.runtime.schedules import Scheduler
from local.runtime.web import HttpRequest, HttpResponse

Handler = Callable[[HttpRequest, re.Match[str]], HttpResponse]


def invocation_response(result: InvocationResult) -> HttpResponse:
    headers = [
        ("x-amz-request-id", result.request_id),
        ("x-booksync-start", "cold" if result.cold else "warm"),
        ("x-booksync-duration-ms", f"{result.duration_ms:.2f}"),
    ]
    if result.error is not None:
        headers.append(("x-amz-function-error", "Unhandled"))
        return HttpResponse.json(200, result.error, headers)
    return HttpResponse.json(200, result.payload, headers)


@dataclass
class ControlApi:
    model: StackModel
    pool: FunctionPool
    scheduler: Scheduler
    monitor: QueueMonitor
    journal: InvocationJournal
    jwks: Callable[[], dict[str, Any]]
    api_urls: Mapping[str, str]

    def __post_init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/health"), lambda _r, _m: HttpResponse.json(200, {"status": "ok"})),
            ("GET", re.compile(r"/functions"), self._functions),
            ("POST", re.compile(r"/functions/(?P<function>[^/]+)/invoke"), self._invoke),
            ("GET", re.compile(r"/schedules"), self._schedules),
            ("POST", re.compile(r"/schedules/(?P<function>[^/]+)/(?P<event>[^/]+)/fire"), self._fire),
            ("GET", re.compile(r"/queues"), lambda _r, _m: HttpResponse.json(200, self.monitor.status())),
            ("POST", re.compile(r"/queues/drain"), self._drain),
            ("GET", re.compile(r"/invocations"), self._invocations),
            ("GET", re.compile(r"/routes"), self._route_list),
            (
                "GET",
                re.compile(r"/\.well-known/jwks\.json"),
                lambda _r, _m: HttpResponse.json(200, self.jwks()),
            ),
            ("GET", re.compile(r"/oauth/return"), self._oauth_return),
        ]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path_matched = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.raw_path.rstrip("/") or "/")
            if match is None:
                continue
            path_matched = True
            if method == request.method:
                return handler(request, match)
        if path_matched:
            return HttpResponse.json(405, {"message": "Method Not Allowed"})
        return HttpResponse.json(404, {"message": f"no control route {request.method} {request.raw_path}"})

    # -- functions

    def _functions(self, _request: HttpRequest, _match: re.Match[str]) -> HttpResponse:
        listing = []
        for runner in self.pool:
            spec = runner.spec
            listing.append(
                {
                    "logicalId": spec.logical_id,
                    "name": spec.name,
                    "arn": spec.arn,
                    "handler": spec.handler,
                    "codeDir": str(spec.code_dir),
                    "layers": [str(path) for path in spec.layer_dirs],
                    "runtime": spec.runtime,
                    "timeout": spec.timeout,
                    "memorySize": spec.memory,
                    "concurrency": spec.concurrency,
                    "environment": dict(spec.environment),
                    "triggers": self._triggers(spec.logical_id),
                    **runner.stats(),
                }
            )
        return HttpResponse.json(200, listing)

    def _triggers(self, function: str) -> list[str]:
        model = self.model
        return (
            [f"http {route.route_key}" for route in model.routes if route.function == function]
            + [f"sqs {source.queue}" for source in model.queue_sources if source.function == function]
            + [f"schedule {s.event} {s.expression}" for s in model.schedules if s.function == function]
        )

    def _invoke(self, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
        function = match["function"]
        if function not in self.pool:
            return HttpResponse.json(404, {"message": f"no function {function}"})
        try:
            event = request.json()
        except json.JSONDecodeError as error:
            return HttpResponse.json(400, {"message": f"the event is not JSON: {error}"})
        return invocation_response(self.pool[function].invoke(event, "control invoke"))

    # -- schedules

    def _schedules(self, _request: HttpRequest, _match: re.Match[str]) -> HttpResponse:
        listing = [
            {
                "function": spec.function,
                "event": spec.event,
                "type": spec.kind,
                "expression": spec.expression,
                "enabled": spec.enabled,
                "name": spec.name,
                "input": spec.input,
            }
            for spec in self.model.schedules
        ]
        return HttpResponse.json(200, listing)

    def _fire(self, _request: HttpRequest, match: re.Match[str]) -> HttpResponse:
        try:
            result = self.scheduler.fire(match["function"], match["event"])
        except KeyError:
            return HttpResponse.json(404, {"message": f"no schedule {match['function']}/{match['event']}"})
        return invocation_response(result)

    # -- queues and invocations

    def _drain(self, request: HttpRequest, _match: re.Match[str]) -> HttpResponse:
        query = parse_qs(request.raw_query)
        try:
            timeout = float(query.get("timeout", ["30"])[0])
        except ValueError:
            return HttpResponse.json(400, {"message": "timeout must be a number of seconds"})
        drained, pending = self.monitor.drain(timeout)
        if drained:
            return HttpResponse.json(200, {"drained": True})
        return HttpResponse.json(408, {"drained": False, "pending": pending})

    def _invocations(self, request: HttpRequest, _match: re.Match[str]) -> HttpResponse:
        query = parse_qs(request.raw_query)
        function = query.get("function", [None])[0]
        limit = int(query.get("limit", ["200"])[0])
        return HttpResponse.json(200, [entry.record() for entry in self.journal.entries(function, limit)])

    def _route_list(self, _request: HttpRequest, _match: re.Match[str]) -> HttpResponse:
        return HttpResponse.json(
            200, {api: _describe(self.model.routes, api, url) for api, url in self.api_urls.items()}
        )

    def _oauth_return(self, request: HttpRequest, _match: re.Match[str]) -> HttpResponse:
        return HttpResponse.json(200, {"returned": {k: v[0] for k, v in parse_qs(request.raw_query).items()}})


def _describe(routes: Sequence[RouteSpec], api: str, url: str) -> dict[str, Any]:
    return {
        "url": url,
        "routes": [
            {"routeKey": r.route_key, "function": r.function, "authorizer": r.authorizer}
            for r in routes
            if r.api == api
        ],
    }
