"""API Gateway HTTP API (payload format 2.0) events, as the gateway sends them to the function."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


def http_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    claims: dict[str, str] | None = None,
    route_key: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    parts = urlsplit(path)
    raw_body = body if isinstance(body, str) or body is None else json.dumps(body)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or ("ANY /{proxy+}" if claims else f"{method} {parts.path}"),
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {"content-type": "application/json", "host": "api.example.com", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "tests",
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key or "ANY /{proxy+}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if parts.query:
        event["queryStringParameters"] = dict(parse_qsl(parts.query))
    if raw_body is not None:
        event["body"] = raw_body
    if claims:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event


def admin(company: str = "acme", user: str = "u-admin") -> dict[str, str]:
    return {"sub": user, "company_id": company, "role": "admin", "email": "admin@example.com"}


def member(company: str = "acme", user: str = "u-member") -> dict[str, str]:
    return {"sub": user, "company_id": company, "role": "member", "email": "member@example.com"}


@contextmanager
def endpoint(path: str, answer: Callable[..., dict[str, Any]], *, query: bool = False) -> Iterator[str]:
    """An HTTP endpoint on loopback, as API Gateway serves a function: each POST's raw body and
    headers (and with ``query``, its URL's query parameters) go to ``answer`` (which invokes the
    handler), whose status and body are sent back as they are. Yields its URL (``path`` on it),
    for a sandbox to post webhooks to."""

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            params = dict(parse_qsl(urlsplit(self.path).query))
            result = answer(body, self.headers, params) if query else answer(body, self.headers)
            self.send_response(result["statusCode"])
            self.end_headers()
            self.wfile.write(result["body"].encode())

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
