"""Run the sandbox standalone: ``python -m local.sandboxes.quickbooks --port 8301 --client-id ...``.

Clients come from flags or from BOOKSYNC_QBO_CLIENT_ID / BOOKSYNC_QBO_CLIENT_SECRET /
BOOKSYNC_QBO_REDIRECT_URIS (comma-separated); nothing is assumed when both are absent.
"""

from __future__ import annotations

import argparse
import os
import sys

from local.sandboxes.kit.serving import add_client_arguments, serve_until_interrupted
from local.sandboxes.quickbooks.server import ClientApp, QuickBooksSandbox, SandboxConfig


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.sandboxes.quickbooks", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BOOKSYNC_QBO_PORT", "8301")))
    add_client_arguments(parser, "BOOKSYNC_QBO")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--clock-scale", type=float, default=1.0)
    parser.add_argument("--no-request-id", action="store_true", help="ignore requestid (prove lookups work)")
    parser.add_argument("--no-retry-after", action="store_true", help="send 429s without Retry-After")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if not args.client_id or not args.client_secret or not args.redirect_uri:
        print("--client-id, --client-secret and at least one --redirect-uri are required", file=sys.stderr)
        return 2
    config = SandboxConfig(
        clients={args.client_id: ClientApp(secret=args.client_secret, redirect_uris=args.redirect_uri)},
        latency_ms=args.latency_ms,
        clock_scale=args.clock_scale,
        honor_request_id=not args.no_request_id,
        send_retry_after=not args.no_retry_after,
    )
    sandbox = QuickBooksSandbox(host=args.host, port=args.port, config=config)
    return serve_until_interrupted(sandbox, "QuickBooks sandbox")


if __name__ == "__main__":
    sys.exit(main())
