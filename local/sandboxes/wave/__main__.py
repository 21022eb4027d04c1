"""Run the Wave sandbox standalone: ``python -m local.sandboxes.wave --port 8305 --client-id ...``.

Clients come from flags or from BOOKSYNC_WAVE_CLIENT_ID / BOOKSYNC_WAVE_CLIENT_SECRET /
BOOKSYNC_WAVE_REDIRECT_URIS (comma-separated); more can be registered with POST /_sandbox/clients.
"""

from __future__ import annotations

import sys

from local.sandboxes.kit.serving import registered_clients, serve_until_interrupted, standalone_parser
from local.sandboxes.wave.server import WaveConfig, WaveSandbox


def main(argv: list[str] | None = None) -> int:
    parser = standalone_parser("python -m local.sandboxes.wave", __doc__, "BOOKSYNC_WAVE", 8305)
    parser.add_argument("--refresh-mode", choices=("rotate", "same", "omit"), default="rotate")
    args = parser.parse_args(argv)
    config = WaveConfig(
        clients=registered_clients(args), clock_scale=args.clock_scale, refresh_mode=args.refresh_mode
    )
    return serve_until_interrupted(WaveSandbox(host=args.host, port=args.port, config=config), "Wave sandbox")


if __name__ == "__main__":
    sys.exit(main())
