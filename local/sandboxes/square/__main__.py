"""Run the Square sandbox standalone: ``python -m local.sandboxes.square --port 8302 --client-id ...``.

Clients come from flags or from BOOKSYNC_SQUARE_CLIENT_ID / BOOKSYNC_SQUARE_CLIENT_SECRET /
BOOKSYNC_SQUARE_REDIRECT_URIS (comma-separated); more can be registered with POST /_sandbox/clients.
"""

from __future__ import annotations

import sys

from local.sandboxes.kit.serving import registered_clients, serve_until_interrupted, standalone_parser
from local.sandboxes.square.server import SquareConfig, SquareSandbox


def main(argv: list[str] | None = None) -> int:
    parser = standalone_parser("python -m local.sandboxes.square", __doc__, "BOOKSYNC_SQUARE", 8302)
    parser.add_argument("--page-size", type=int, default=100, help="largest page the list endpoints answer")
    args = parser.parse_args(argv)
    config = SquareConfig(
        clients=registered_clients(args), clock_scale=args.clock_scale, page_size=args.page_size
    )
    sandbox = SquareSandbox(host=args.host, port=args.port, config=config)
    return serve_until_interrupted(sandbox, "Square sandbox")


if __name__ == "__main__":
    sys.exit(main())
