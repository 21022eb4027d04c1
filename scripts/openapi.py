"""Write docs/openapi.json: the management API's OpenAPI document, generated from the code; and
docs/memory-tools.json, the billing memory's tool definitions (GET /memory/tools).

`make openapi` runs it; unit tests fail when a committed copy differs from the code's, so the
repository's copies are always what the API serves at GET /openapi.json and GET /memory/tools.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent.parent / "docs"
OUT = DOCS / "openapi.json"
TOOLS_OUT = DOCS / "memory-tools.json"


def document() -> dict[str, Any]:
    from booksync.api.app import create_app

    def no_services() -> Any:
        raise RuntimeError("the document needs no services")

    return create_app(no_services).openapi()


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render() -> str:
    return _json(document())


def render_tools() -> str:
    from booksync.memory.tools import TOOLS

    return _json(TOOLS)


def main() -> int:
    for out, text in ((OUT, render()), (TOOLS_OUT, render_tools())):
        out.write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
