"""Run the Voyage sandbox standalone: ``python -m local.sandboxes.voyage --port 8306 --api-key KEY``.

Keys come from ``--api-key`` (repeatable) or BOOKSYNC_VOYAGE_API_KEYS (comma-separated); without
either, the sandbox's default key (``pa-voyage-sandbox-key``). More can be added with
POST /_sandbox/keys.
"""

from __future__ import annotations

import os
import sys

from local.sandboxes.kit.serving import serve_until_interrupted, standalone_parser
from local.sandboxes.voyage.config import DEFAULT_KEY
from local.sandboxes.voyage.server import VoyageConfig, VoyageSandbox


def main(argv: list[str] | None = None) -> int:
    parser = standalone_parser(
        "python -m local.sandboxes.voyage", __doc__, "BOOKSYNC_VOYAGE", 8306, oauth_clients=False
    )
    parser.add_argument(
        "--api-key",
        action="append",
        default=[key for key in os.environ.get("BOOKSYNC_VOYAGE_API_KEYS", "").split(",") if key],
        help="an API key the sandbox accepts (repeatable)",
    )
    parser.add_argument("--requests-per-minute", type=int, default=2000)
    args = parser.parse_args(argv)
    keys = {key: f"key-{index}" for index, key in enumerate(args.api_key, start=1)}
    config = VoyageConfig(
        api_keys=keys or {DEFAULT_KEY: "default"},
        requests_per_minute=args.requests_per_minute,
        clock_scale=args.clock_scale,
    )
    return serve_until_interrupted(
        VoyageSandbox(host=args.host, port=args.port, config=config), "Voyage sandbox"
    )


if __name__ == "__main__":
    sys.exit(main())
