"""A local OpenAI-compatible chat-completions server (never a real network): each POST's JSON
body and headers are kept, and ``answer`` decides the status and body sent back."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[dict[str, Any]], tuple[int, Any]]


class FakeModel:
    def __init__(self) -> None:
        self.answer: Answer = lambda request: (200, {})
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.delay = 0.0


def reply(content: dict[str, Any]) -> tuple[int, Any]:
    """A chat completion whose message is ``content`` as JSON text, as the JSON mode answers."""
    return 200, {"choices": [{"message": {"role": "assistant", "content": json.dumps(content)}}]}


@contextmanager
def serving() -> Iterator[tuple[FakeModel, str]]:
    """The fake and its base URL (``http://127.0.0.1:<port>/v1``)."""
    fake = FakeModel()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append(body)
            fake.headers.append(dict(self.headers))
            time.sleep(fake.delay)
            status, payload = fake.answer(body)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
