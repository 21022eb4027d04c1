"""Reading a webhook's JSON body: whatever it holds, an unreadable body is a ValueError saying why,
never another exception (a 5xx would make the provider retry the same bytes forever)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError


def load_json(body: bytes | str) -> Any:
    """The body's JSON; raises ValueError saying what is wrong with it."""
    try:
        return json.loads(body)
    except RecursionError:  # e.g. 100,000 nested arrays: the decoder recurses once a level
        raise ValueError("the body is not JSON booksync can read (it is nested too deep)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the body is not JSON ({type(exc).__name__}: {exc})") from None


def describe_invalid(exc: ValidationError, most: int = 5) -> str:
    """What is wrong with a parsed body, field by field (the first ``most``), for its 400."""
    parts = []
    for err in exc.errors()[:most]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg', 'is invalid')}")
    more = len(exc.errors()) - most
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
