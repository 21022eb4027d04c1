"""Serving a sandbox on loopback: in a daemon thread or the calling thread, with a prompt stop;
what a host (the local stack) sets one up with; the standalone entry points' shared arguments."""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from local.sandboxes.kit.oauth import ClientApp
from local.sandboxes.kit.wire import Outcome, Request, SandboxHTTPServer


@dataclass(frozen=True)
class HostedApp:
    """What a host sets a sandbox up with (each sandbox's ``for_stack`` reads it): where it listens,
    the app it registers and, for a provider that pushes webhooks to subscribers, the subscription."""

    host: str
    port: int
    client_id: str
    client_secret: str
    redirect_uri: str
    notification_url: str | None = None
    signature_key: str | None = None


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


def standalone_parser(
    prog: str,
    description: str | None,
    env_prefix: str,
    default_port: int,
    *,
    oauth_clients: bool = True,
    clock: bool = True,
) -> argparse.ArgumentParser:
    """A standalone entry point's shared arguments: --host, --port (default ``{env_prefix}_PORT``,
    else ``default_port``), the app (``add_client_arguments``; ``oauth_clients=False`` for a sandbox
    without OAuth apps: Voyage's API keys, S3 Vectors' any credentials) and --clock-scale
    (``clock=False`` for a sandbox without a clock: S3 Vectors)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get(f"{env_prefix}_PORT") or default_port))
    if oauth_clients:
        add_client_arguments(parser, env_prefix)
    if clock:
        parser.add_argument("--clock-scale", type=float, default=1.0)
    return parser


def registered_clients(args: argparse.Namespace) -> dict[str, ClientApp]:
    """The app the arguments register (none unless id, secret and a redirect URI are all given)."""
    if args.client_id and args.client_secret and args.redirect_uri:
        return {args.client_id: ClientApp(secret=args.client_secret, redirect_uris=args.redirect_uri)}
    return {}


def serve_until_interrupted(sandbox: LoopbackSandbox, name: str) -> int:
    """Serve until Ctrl-C; once bound, print where (the port it bound, also when asked for 0)."""
    try:
        sandbox.serve_forever(lambda url: print(f"{name} on {url} (Ctrl-C to stop)", flush=True))
    except KeyboardInterrupt:
        return 0
    return 0
