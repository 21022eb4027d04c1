"""The HTTP layer: a threaded stdlib server whose sockets the sandbox controls.

A real socket server (not ASGI) is what lets a fault reset a connection with RST or hold a
request open until the client's read timeout fires, exactly as a flaky provider's edge would.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("booksync.sandbox")
RouteT = TypeVar("RouteT")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @classmethod
    def parse(cls, method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
        parts = urlsplit(target)
        return cls(method, parts.path, parse_qs(parts.query, keep_blank_values=True), headers, body)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def json(self) -> Any:
        """JSON with every non-integer number as Decimal (money never passes through float)."""
        return json.loads(self.body.decode("utf-8"), parse_float=Decimal)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # The provider's error code (or OAuth error) this answer carries, for the request log.
    fault_code: str | None = None
    # Answered from an idempotency store (Intuit's requestid): nothing was applied this time.
    replayed: bool = False


@dataclass(frozen=True)
class Drop:
    """Answer nothing: ``reset`` sends RST; ``timeout`` holds the socket, then closes it silently."""

    kind: Literal["reset", "timeout"]
    hold_seconds: float = 0.0


Outcome = Response | Drop


def _json_default(value: object) -> object:
    # Providers' JSON carries money as numbers; Decimals are exact here and become numbers on the wire.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(payload: object) -> bytes:
    return json.dumps(payload, default=_json_default, separators=(",", ":")).encode("utf-8")


def json_response(
    status: int, payload: object, *, headers: dict[str, str] | None = None, fault_code: str | None = None
) -> Response:
    all_headers = {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}
    return Response(status, dumps(payload), all_headers, fault_code)


def html_response(status: int, html: str) -> Response:
    return Response(status, html.encode("utf-8"), {"Content-Type": "text/html;charset=UTF-8"})


def redirect(location: str) -> Response:
    return Response(302, b"", {"Location": location})


class Router(Generic[RouteT]):
    """Method + path-regex routing; a match gives the route and the path's named groups."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], RouteT]] = []

    def add(self, method: str, pattern: str, route: RouteT) -> None:
        self._routes.append((method, re.compile(f"^{pattern}$"), route))

    def match(self, method: str, path: str) -> tuple[RouteT, dict[str, str]] | None:
        for route_method, pattern, route in self._routes:
            found = pattern.match(path)
            if found and route_method == method:
                return route, found.groupdict()
        return None

    def knows_path(self, path: str) -> bool:
        return any(pattern.match(path) for _, pattern, _ in self._routes)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; without TCP_NODELAY, Nagle plus the client's
    # delayed ACK would add ~40 ms to every answer.
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        # The sandbox keeps its own request log; stderr noise would drown test output.
        return

    def _dispatch(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request.parse(self.command, self.path, headers, self._read_body(headers))
        outcome = self.server.app_handle(request)
        if isinstance(outcome, Response):
            self._send(outcome)
        elif outcome.kind == "reset":
            self._reset()
        else:
            self.server.stopping.wait(outcome.hold_seconds)
            self.close_connection = True

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length = int(headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _reset(self) -> None:
        # SO_LINGER on with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.wfile.close()
        self.connection.close()
        self.close_connection = True


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app_handle: Callable[[Request], Outcome]) -> None:
        self.app_handle = app_handle
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up mid-answer is normal here (timeouts are the point of faults).
        log.debug("connection error from %s", client_address, exc_info=True)

    def close_open_connections(self) -> None:
        """Wake keep-alive handler threads blocked on their next read so stop() is prompt."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue
