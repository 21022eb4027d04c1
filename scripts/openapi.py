"""Write docs/openapi.json: the management API's OpenAPI document, generated from the code.

`make openapi` runs it; a unit test fails when the committed document differs from the code's, so
the repository's copy is always the API that is served at GET /openapi.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def document() -> dict[str, Any]:
    from booksync.api.app import create_app

    def no_services() -> Any:
        raise RuntimeError("the document needs no services")

    return create_app(no_services).openapi()


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    OUT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
