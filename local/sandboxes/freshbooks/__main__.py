"""Run the FreshBooks sandbox standalone: ``python -m local.sandboxes.freshbooks --port 8304 ...``.

Clients come from flags or from BOOKSYNC_FRESHBOOKS_CLIENT_ID / BOOKSYNC_FRESHBOOKS_CLIENT_SECRET /
BOOKSYNC_FRESHBOOKS_REDIRECT_URIS (comma-separated); more can be registered with POST /_sandbox/clients.
Point the official SDK at it with FRESHBOOKS_API_URL and FRESHBOOKS_AUTH_URL set to its URL.
"""

from __future__ import annotations

import sys

from local.sandboxes.freshbooks.server import FreshBooksConfig, FreshBooksSandbox
from local.sandboxes.kit.serving import registered_clients, serve_until_interrupted, standalone_parser


def main(argv: list[str] | None = None) -> int:
    parser = standalone_parser("python -m local.sandboxes.freshbooks", __doc__, "BOOKSYNC_FRESHBOOKS", 8304)
    parser.add_argument(
        "--business",
        action="append",
        default=[],
        help="a business of the sandbox's user (repeatable; default: one, Sandbox Studio)",
    )
    parser.add_argument(
        "--minute-limit", type=int, default=300, help="calls a minute per business before a 429 (0: none)"
    )
    args = parser.parse_args(argv)
    config = FreshBooksConfig(
        clients=registered_clients(args),
        clock_scale=args.clock_scale,
        business_minute_limit=args.minute_limit,
    )
    businesses = tuple(args.business) or ("Sandbox Studio",)
    sandbox = FreshBooksSandbox(host=args.host, port=args.port, config=config, businesses=businesses)
    return serve_until_interrupted(sandbox, "FreshBooks sandbox")


if __name__ == "__main__":
    sys.exit(main())
