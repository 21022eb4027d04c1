"""Run the S3 Vectors stand-in standalone: ``python -m local.sandboxes.s3vectors --port 8307``.

Point a client at it with ``endpoint_url=http://127.0.0.1:8307`` (any credentials, any region
matching ``--region``).
"""

from __future__ import annotations

import sys

from local.sandboxes.kit.serving import serve_until_interrupted, standalone_parser
from local.sandboxes.s3vectors.server import S3VectorsSandbox


def main(argv: list[str] | None = None) -> int:
    parser = standalone_parser(
        "python -m local.sandboxes.s3vectors",
        __doc__,
        "BOOKSYNC_S3VECTORS",
        8307,
        oauth_clients=False,
        clock=False,
    )
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    sandbox = S3VectorsSandbox(host=args.host, port=args.port, region=args.region)
    return serve_until_interrupted(sandbox, "S3 Vectors stand-in")


if __name__ == "__main__":
    sys.exit(main())
