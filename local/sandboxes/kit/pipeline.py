"""The request pipeline every sandbox runs, around its provider's own routes.

For the provider's paths: classify the call, log it, let a fault rule answer instead (or swallow
the answer after the work is done: ``commit_then_*``), else serve it; every answer carries a trace
id as the provider's do. The control API under /_sandbox/ bypasses all of that. A sandbox supplies
its routes and how its provider classifies a call, serves it, renders an injected fault and a
failure of its own.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from local.sandboxes.kit.control import ControlServe
from local.sandboxes.kit.faults import CallInfo, FaultInjector, FaultRule
from local.sandboxes.kit.reqlog import LogEntry, LogShape, RequestLog
from local.sandboxes.kit.serving import LoopbackSandbox
from local.sandboxes.kit.wire import Drop, Outcome, Request, Response, Router

CONTROL_PREFIX = "/_sandbox/"


class PipelineRoute(Protocol):
    @property
    def control(self) -> ControlServe | None: ...


RouteT = TypeVar("RouteT", bound=PipelineRoute)


class ProviderSandbox(LoopbackSandbox, Generic[RouteT]):
    """A sandbox on loopback with its router, fault rules and request log."""

    provider: str  # its logger is booksync.sandbox.<provider>
    log_shape: LogShape

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.logger = logging.getLogger(f"booksync.sandbox.{self.provider}")
        self.faults = FaultInjector()
        self.log = RequestLog(self.log_shape)
        self.router: Router[RouteT] = Router()

    # ------------------------------------------------------------ what each sandbox supplies

    def classify(self, route: RouteT, request: Request, params: dict[str, str]) -> CallInfo:
        """What the call is (for fault rules and the log), known before it is served."""
        raise NotImplementedError

    def serve(self, route: RouteT, request: Request, call: CallInfo, params: dict[str, str]) -> Outcome:
        raise NotImplementedError

    def injected(self, rule: FaultRule, call: CallInfo) -> Outcome:
        """The answer a fault rule gives instead, in the provider's shape (``fault_effect``)."""
        raise NotImplementedError

    def failure(self) -> Response:
        """The provider's answer to a request the sandbox itself failed on (a 500)."""
        raise NotImplementedError

    def not_found(self, request: Request) -> Response:
        raise NotImplementedError

    def log_time(self) -> str:
        """The request log's timestamp of a call."""
        return datetime.now(UTC).isoformat(timespec="milliseconds")

    # ------------------------------------------------------------ the pipeline

    def handle(self, request: Request) -> Outcome:
        try:
            outcome = self._pipeline(request)
        except Exception:  # a sandbox bug must still answer like a server, not hang the client
            self.logger.exception("sandbox error on %s %s", request.method, request.path)
            outcome = self.failure()
        if isinstance(outcome, Response) and not request.path.startswith(CONTROL_PREFIX):
            # Providers tag every answer with a trace id support can look up; so do the sandboxes.
            outcome.headers.setdefault(self.log_shape.trace_header, str(uuid.uuid4()))
        return outcome

    def _pipeline(self, request: Request) -> Outcome:
        found = self.router.match(request.method, request.path)
        if found is None:
            return self.not_found(request)
        route, params = found
        if route.control is not None:
            return route.control(request, params)
        call = self.classify(route, request, params)
        entry = self.log.start(request, call, self.log_time())
        rule = self.faults.pick(request, call)
        if rule is not None and not rule.commits_first:
            outcome = self.injected(rule, call)
        else:
            outcome = self._serve(route, request, call, params)
            if rule is not None:
                entry.committed_status = outcome.status if isinstance(outcome, Response) else None
                outcome = self.injected(rule, call)
        self._record(entry, outcome, rule)
        return outcome

    def _serve(self, route: RouteT, request: Request, call: CallInfo, params: dict[str, str]) -> Outcome:
        try:
            return self.serve(route, request, call, params)
        except Exception:  # a sandbox bug must still answer like a server, and be logged as one
            self.logger.exception("sandbox error on %s %s", request.method, request.path)
            return self.failure()

    def _record(self, entry: LogEntry, outcome: Outcome, rule: FaultRule | None) -> None:
        entry.injected = rule.action if rule is not None else None
        if isinstance(outcome, Drop):
            entry.delivered = False
            self.log.finish(entry, None, None)
            return
        entry.trace_id = outcome.headers.setdefault(self.log_shape.trace_header, str(uuid.uuid4()))
        entry.replayed = outcome.replayed
        entry.delivered = rule is None or not rule.commits_first
        self.log.finish(entry, outcome.status, outcome.fault_code)
