"""The real SyncCatalogFunction against moto server and the QuickBooks sandbox when QuickBooks'
daily request limit is reached mid-run: the run is parked with its cursor and the reason in Sync
History, the sweep leaves it parked that day, and resumes it (the same run) the next day."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
from booksync.providers.quickbooks.declaration import LIMITS
from booksync.store.connections import ConnectionRepository
from booksync.store.models import ConnectionModel
from booksync.store.runs import RunRepository
from booksync.sync import rate_limits

from tests.integration.test_catalog_accounts_and_resume import catalog_runs
from tests.integration.test_sync_catalog import (
    COMPANY,
    items_in_quickbooks,
    put_items,
    rebuild_engine,
    run_until_done,
    sandbox,
    stack,
)
from tests.lambda_env import Context

__all__ = ["sandbox", "stack"]


def test_a_run_that_meets_the_daily_limit_is_parked_until_the_next_day(
    stack: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_items(stack, ["Gasket", "Washer", "Hose"])
    # A day of one request for this company: the lookup passes, the batch finds the day spent.
    monkeypatch.setattr(rate_limits, "declared_limits", lambda _p: replace(LIMITS, requests_per_day=1))
    rebuild_engine(stack)
    run_id = stack.services.catalog.request(COMPANY, "quickbooks", ["items"])
    assert run_until_done(stack, seconds=300) == 1, "parked: no chain of invocations spinning all day"
    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "parked" and run.finished_at is None
    assert run.errors[-1].code == "daily_limit_reached"
    assert run.errors[-1].message.startswith("Daily limit reached: QuickBooks allows this company 1 requests")
    assert "The catalog sync is parked where it stopped." in run.errors[-1].message
    assert items_in_quickbooks(stack) == []
    connection = ConnectionRepository().get(COMPANY, "quickbooks")
    assert connection is not None and connection.held_until is not None

    sweep = stack.scheduler.handler({"task": "sweep"}, Context())
    assert sweep["catalog_runs_resumed"] == 0, "the same day: it stays parked"

    # QuickBooks' next day: the hold is over, the day's count starts again.
    connection.update(actions=[ConnectionModel.held_until.set(0)])
    monkeypatch.undo()
    rebuild_engine(stack)
    assert stack.scheduler.handler({"task": "sweep"}, Context())["catalog_runs_resumed"] == 1
    run_until_done(stack, seconds=300)
    run = RunRepository().get(COMPANY, run_id)
    assert run is not None and run.status == "succeeded", run.errors if run else None
    assert run.errors == [], "why it was parked is over"
    assert sorted(i["Name"] for i in items_in_quickbooks(stack)) == ["Gasket", "Hose", "Washer"]
    assert [r.run_id for r in catalog_runs(COMPANY)] == [run_id], "resumed, not restarted"
