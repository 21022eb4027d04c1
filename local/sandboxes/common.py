"""What the provider sandboxes share: serving on loopback, and the pieces of their control APIs.

Each sandbox (``quickbooks``, ``square``) keeps its own routes and pipeline; this is the
lifecycle around them (a daemon thread or the calling thread, a prompt stop) and the plumbing of
the /_sandbox/ control routes (JSON bodies, refusals as 4xx answers, the fault-rule endpoints).
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable
from typing import Any, Self

from local.sandboxes.quickbooks.faults import FaultInjector, FaultRule
from local.sandboxes.quickbooks.wire import Drop, Outcome, Request, Response, SandboxHTTPServer, json_response

ControlServe = Callable[[Request, dict[str, str]], Response]
AddRoute = Callable[[str, str, ControlServe], None]


class LoopbackSandbox:
    """Binds ``handle`` on (host, port) and serves it; port 0 picks a free port."""

    thread_name = "sandbox"

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        # Set while stopping, so work that waits (injected latency) wakes instead of holding stop().
        self.stopping = threading.Event()
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def handle(self, request: Request) -> Outcome:
        raise NotImplementedError

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns at once (port 0 picks a free port)."""
        server = self._bind()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self, on_listening: Callable[[str], object] = lambda _url: None) -> None:
        """Serve in the calling thread until interrupted (the standalone entry point);
        ``on_listening`` gets the URL once bound (port 0: the port the system picked)."""
        server = self._bind()
        on_listening(self.url)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            self._close()

    def stop(self) -> None:
        if self._server is None:
            return
        self.stopping.set()
        self._server.shutdown()
        self._close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _bind(self) -> SandboxHTTPServer:
        self.stopping.clear()
        self._server = SandboxHTTPServer((self.host, self.port), self.handle)
        return self._server

    def _close(self) -> None:
        if self._server is not None:
            self.stopping.set()
            self._server.stopping.set()
            self._server.close_open_connections()
            self._server.server_close()
            self._server = None


# ------------------------------------------------------------ injected faults

# A commit-first rule lets the work happen, then has the plain rule's effect on the answer.
_AFTER_COMMIT = {
    "commit_then_500": "http_500",
    "commit_then_reset": "reset",
    "commit_then_timeout": "timeout",
}


def fault_effect(rule: FaultRule) -> Drop | str:
    """A dropped connection (reset, timeout), or the kind of answer (``http_429``, ``http_503``,
    ``http_500``) for the sandbox to render in its provider's shape."""
    effect = _AFTER_COMMIT.get(rule.action, rule.action)
    if effect == "reset":
        return Drop("reset")
    if effect == "timeout":
        return Drop("timeout", rule.seconds)
    return effect


# ------------------------------------------------------------ standalone entry points


def add_client_arguments(parser: argparse.ArgumentParser, env_prefix: str) -> None:
    """--client-id, --client-secret and --redirect-uri (repeatable), defaulting to
    ``{env_prefix}_CLIENT_ID`` / ``_CLIENT_SECRET`` / ``_REDIRECT_URIS`` (comma-separated)."""
    parser.add_argument("--client-id", default=os.environ.get(f"{env_prefix}_CLIENT_ID"))
    parser.add_argument("--client-secret", default=os.environ.get(f"{env_prefix}_CLIENT_SECRET"))
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[uri for uri in os.environ.get(f"{env_prefix}_REDIRECT_URIS", "").split(",") if uri],
        help="a registered redirect URI (repeatable)",
    )


def serve_until_interrupted(sandbox: LoopbackSandbox, name: str) -> int:
    """Serve until Ctrl-C; once bound, print where (the port it bound, also when asked for 0)."""
    try:
        sandbox.serve_forever(lambda url: print(f"{name} on {url} (Ctrl-C to stop)", flush=True))
    except KeyboardInterrupt:
        return 0
    return 0


# ------------------------------------------------------------ control API


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

    def routes(self) -> list[tuple[str, str, Callable[..., object]]]:
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
