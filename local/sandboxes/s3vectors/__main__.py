"""Run the S3 Vectors stand-in standalone: ``python -m local.sandboxes.s3vectors --port 8307``.

Point a client at it with ``endpoint_url=http://127.0.0.1:8307`` (any credentials, any region
matching ``--region``).
"""

from __future__ import annotations

import argparse
import os
import sys

from local.sandboxes.kit.serving import serve_until_interrupted
from local.sandboxes.s3vectors.server import S3VectorsSandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.sandboxes.s3vectors", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BOOKSYNC_S3VECTORS_PORT") or 8307))
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    sandbox = S3VectorsSandbox(host=args.host, port=args.port, region=args.region)
    return serve_until_interrupted(sandbox, "S3 Vectors stand-in")


if __name__ == "__main__":
    sys.exit(main())
