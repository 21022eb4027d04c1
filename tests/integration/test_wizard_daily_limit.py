"""The wizard's provider reads pass the company's shared gate: once QuickBooks' daily limit is
reached the wizard answers 429 with the reason and a Retry-After to the provider's next day."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from booksync.sync.limiter import Limits
from booksync.sync.rate_limits import ConnectionGate, InMemoryRateLimiter

from tests.apigw import member
from tests.integration.test_onboarding_wizard import W, world

__all__ = ["world"]

SPENT = Limits(max_concurrent=10, requests_per_minute=500, batches_per_minute=40, requests_per_day=0)


def test_the_wizard_says_the_daily_limit_is_reached_and_when_it_resumes(world: SimpleNamespace) -> None:
    gate = ConnectionGate(InMemoryRateLimiter(), provider="quickbooks", account_id="r1", limits=SPENT)
    listing = world.provider.list_customers

    def gated(*args: Any) -> Any:
        with gate.slot(batch=False):
            return listing(*args)

    world.provider.list_customers = gated
    status, problem, headers = world.call("GET", f"{W}/customers", claims=member())
    assert status == 429, problem
    assert problem["type"].endswith("/daily_limit_reached")
    assert problem["detail"].startswith(
        "Daily limit reached: QuickBooks allows this company 0 requests a day"
    )
    assert "resumes by itself at" in problem["detail"] and "(tomorrow)" in problem["detail"]
    assert 0 < int(headers["retry-after"]) <= 86_400
