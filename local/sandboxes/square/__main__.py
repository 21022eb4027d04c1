"""Run the Square sandbox standalone: ``python -m local.sandboxes.square --port 8302 --client-id ...``.

Clients come from flags or from BOOKSYNC_SQUARE_CLIENT_ID / BOOKSYNC_SQUARE_CLIENT_SECRET /
BOOKSYNC_SQUARE_REDIRECT_URIS (comma-separated); more can be registered with POST /_sandbox/clients.
"""

from __future__ import annotations

import argparse
import os
import sys

from local.sandboxes.kit.serving import add_client_arguments, serve_until_interrupted
from local.sandboxes.square.server import ClientApp, SquareConfig, SquareSandbox


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.sandboxes.square", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BOOKSYNC_SQUARE_PORT") or "8302"))
    add_client_arguments(parser, "BOOKSYNC_SQUARE")
    parser.add_argument("--clock-scale", type=float, default=1.0)
    parser.add_argument("--page-size", type=int, default=100, help="largest page the list endpoints answer")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    clients = {}
    if args.client_id and args.client_secret and args.redirect_uri:
        clients[args.client_id] = ClientApp(secret=args.client_secret, redirect_uris=args.redirect_uri)
    config = SquareConfig(clients=clients, clock_scale=args.clock_scale, page_size=args.page_size)
    sandbox = SquareSandbox(host=args.host, port=args.port, config=config)
    return serve_until_interrupted(sandbox, "Square sandbox")


if __name__ == "__main__":
    sys.exit(main())
