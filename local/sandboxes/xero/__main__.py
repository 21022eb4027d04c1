"""Run the Xero sandbox standalone: ``python -m local.sandboxes.xero --port 8303 --client-id ...``.

Clients come from flags or from BOOKSYNC_XERO_CLIENT_ID / BOOKSYNC_XERO_CLIENT_SECRET /
BOOKSYNC_XERO_REDIRECT_URIS (comma-separated); more can be registered with POST /_sandbox/clients.
"""

from __future__ import annotations

import argparse
import os
import sys

from local.sandboxes.kit.serving import add_client_arguments, serve_until_interrupted
from local.sandboxes.xero.server import ClientApp, XeroConfig, XeroSandbox


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.sandboxes.xero", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BOOKSYNC_XERO_PORT") or "8303"))
    add_client_arguments(parser, "BOOKSYNC_XERO")
    parser.add_argument("--clock-scale", type=float, default=1.0)
    parser.add_argument("--day-limit", type=int, default=5_000, help="calls a day per tenant (1,000 Starter)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    clients = {}
    if args.client_id and args.client_secret and args.redirect_uri:
        clients[args.client_id] = ClientApp(secret=args.client_secret, redirect_uris=args.redirect_uri)
    config = XeroConfig(clients=clients, clock_scale=args.clock_scale, day_limit=args.day_limit)
    return serve_until_interrupted(XeroSandbox(host=args.host, port=args.port, config=config), "Xero sandbox")


if __name__ == "__main__":
    sys.exit(main())
