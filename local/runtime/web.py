"""A small threaded HTTP/1.1 server on loopback for the gateway and the control API.

The standard library's server is used (not an ASGI stack) because the gateway needs the request as
it came over the wire: header names and duplicates, the raw path and query string, the client
address. Those are exactly what API Gateway puts in its events.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
# How long an idle keep-alive connection is kept; short so threads do not linger after a stop.
_IDLE_CONNECTION_SECONDS = 15
# How often serve_forever checks for shutdown: a stop must free the port promptly.
_POLL_INTERVAL_SECONDS = 0.05


@dataclass(frozen=True)
class HttpRequest:
    """One request as received: nothing normalised beyond splitting path and query."""

    method: str
    raw_path: str
    raw_query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client_ip: str
    protocol: str
    server_port: int

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def json(self) -> Any:
        """The body as JSON (an empty body is None)."""
        return json.loads(self.body) if self.body.strip() else None


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> HttpResponse:
        body = json.dumps(payload, default=str).encode()
        return cls(status, [("content-type", "application/json"), *headers], body)


App = Callable[[HttpRequest], HttpResponse]
AccessLog = Callable[[HttpRequest, HttpResponse, float], None]


def _read_chunked(stream: Any) -> bytes:
    """Decode a chunked request body (RFC 9112 section 7.1); trailers are discarded."""
    parts: list[bytes] = []
    while True:
        size_line = stream.readline(65537)
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while stream.readline(65537) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        parts.append(stream.read(size))
        stream.readline(3)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = _IDLE_CONNECTION_SECONDS
    server: _Server

    def _dispatch(self) -> None:
        started = time.monotonic()
        request = self._request()
        try:
            response = self.server.app(request)
        except Exception as error:  # the server must answer even when the app has a bug
            self.server.on_error(error)
            response = HttpResponse.json(500, {"message": "Internal Server Error"})
        self._send(request, response)
        if self.server.access_log is not None:
            self.server.access_log(request, response, time.monotonic() - started)

    def _request(self) -> HttpRequest:
        target = urlsplit(self.path)
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            body = _read_chunked(self.rfile)
        else:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
        return HttpRequest(
            method=self.command,
            raw_path=target.path or "/",
            raw_query=target.query,
            headers=tuple(self.headers.items()),
            body=body,
            client_ip=self.client_address[0],
            protocol=self.request_version,
            server_port=self.server.server_address[1],
        )

    def _send(self, request: HttpRequest, response: HttpResponse) -> None:
        self.send_response_only(response.status, _reason(response.status))
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if "date" not in names:
            self.send_header("date", self.date_time_string())
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if request.method != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) goes to the route table too, where an ANY route
        # takes it, instead of the stdlib's HTML 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib's stderr log; the owner of the server decides what to print."""


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        access_log: AccessLog | None,
        on_error: Callable[[Exception], None],
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.on_error = on_error
        super().__init__(address, _Handler)


def _not_ready(_request: HttpRequest) -> HttpResponse:
    return HttpResponse.json(503, {"message": "Service Unavailable"})


class LoopbackServer:
    """Binds on construction, so that port 0 yields a real port (and URL) before anything starts:
    the stack needs its URLs to resolve the template. The app may be given later, before start()."""

    def __init__(
        self,
        port: int,
        *,
        name: str,
        app: App = _not_ready,
        access_log: AccessLog | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.name = name
        self._server = _Server((LOOPBACK, port), app, access_log, on_error or (lambda _error: None))
        self._thread: threading.Thread | None = None

    def set_app(self, app: App, access_log: AccessLog | None = None) -> None:
        self._server.app = app
        self._server.access_log = access_log

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL_SECONDS},
            name=f"http-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting and free the port; requests still running finish on their daemon threads."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
