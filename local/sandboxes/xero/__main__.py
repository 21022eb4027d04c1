"""Run the Xero sandbox standalone: ``python -m local.sandboxes.xero --port 8303 --client-id ...``.

Clients come from flags or from BOOKSYNC_XERO_CLIENT_ID / BOOKSYNC_XERO_CLIENT_SECRET /
BOOKSYNC_XERO_REDIRECT_URIS (comma-separated); more can be registered with POST /_sandbox/clients.
"""

from __future__ import annotations

import sys

from local.sandboxes.kit.serving import registered_clients, serve_until_interrupted, standalone_parser
from local.sandboxes.xero.server import XeroConfig, XeroSandbox


def main(argv: list[str] | None = None) -> int:
    parser = standalone_parser("python -m local.sandboxes.xero", __doc__, "BOOKSYNC_XERO", 8303)
    parser.add_argument("--day-limit", type=int, default=5_000, help="calls a day per tenant (1,000 Starter)")
    args = parser.parse_args(argv)
    config = XeroConfig(
        clients=registered_clients(args), clock_scale=args.clock_scale, day_limit=args.day_limit
    )
    return serve_until_interrupted(XeroSandbox(host=args.host, port=args.port, config=config), "Xero sandbox")


if __name__ == "__main__":
    sys.exit(main())
