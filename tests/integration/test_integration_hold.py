"""GET /integrations shows a connection's daily-limit hold (``held_until``, ``held_reason``: the
shared rate limiter's daily cap, sync/rate_limits.py) while it lasts, and nothing once it ended."""

from __future__ import annotations

import time
from types import SimpleNamespace

from booksync.store.connections import ConnectionRepository

from tests.apigw import member
from tests.integration.test_api import api, connected

__all__ = ["api"]

REASON = "Daily limit reached: QuickBooks allows this company 500 requests a day, all used today."


def shown(api: SimpleNamespace) -> dict[str, object]:
    status, listed, _ = api.call("GET", "/integrations", claims=member())
    assert status == 200
    row = next(r for r in listed if r["provider"] == "quickbooks")
    status, detail, _ = api.call("GET", "/integrations/quickbooks", claims=member())
    assert status == 200 and (detail["held_until"], detail["held_reason"]) == (
        row["held_until"],
        row["held_reason"],
    )
    return {"held_until": row["held_until"], "held_reason": row["held_reason"]}


def test_the_daily_limit_hold_is_shown_while_it_lasts(api: SimpleNamespace) -> None:
    connected()
    assert shown(api) == {"held_until": None, "held_reason": None}
    until = float(int(time.time()) // 86_400 * 86_400 + 86_400)  # the next UTC day
    ConnectionRepository().hold_until("acme", "quickbooks", until, REASON)
    day = time.strftime("%Y-%m-%d", time.gmtime(until))
    assert shown(api) == {"held_until": f"{day}T00:00:00Z", "held_reason": REASON}

    ConnectionRepository().hold_until("acme", "quickbooks", time.time() - 1, REASON)  # a hold that ended
    assert shown(api) == {"held_until": None, "held_reason": None}
