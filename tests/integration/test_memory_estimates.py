"""Estimates: PUT /estimates/{id} checked at the door like an invoice, stored for the billing
memory, and never pushed to an accounting system (no sync job, no sweep, no catalog sync)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from booksync.documents import SYNCED_KINDS, DocumentKind
from booksync.store.documents import DocumentRepository
from booksync.store.links import drifted_counts
from booksync.store.models import DocumentModel
from booksync.sync.sweep import Sweep

from tests.apigw import admin
from tests.integration.test_api import api, connected, seed

__all__ = ["api"]  # the fixture, shared with the API tests


def estimate(status: str = "DRAFT", **kw: Any) -> dict[str, Any]:
    return {
        "customer_id": "c-1",
        "number": "E-1",
        "status": status,
        "issue_date": "2026-11-02",
        "valid_until": "2026-12-02",
        "lines": [
            {"item_id": "i-1", "quantity": "2", "unit_price": "150.00", "unit_cost": "90.00"},
            {"item_id": "i-2", "quantity": "1", "unit_price": "80.00", "taxable": False},
        ],
        **kw,
    }


def test_an_estimate_through_its_life_is_stored_and_never_queued_for_sync(api: SimpleNamespace) -> None:
    connected()  # QuickBooks connected, auto-sync on: an invoice sent now would be queued
    seed(api)
    for step, status in enumerate(("DRAFT", "SENT", "ACCEPTED")):
        code, answer, _ = api.call("PUT", "/estimates/est-1", estimate(status), claims=admin())
        assert code == (201 if step == 0 else 200), answer
        assert answer["pending_sync"] is False and answer["sync_run_id"] is None
    assert api.queue.jobs == []
    code, got, _ = api.call("GET", "/estimates/est-1", claims=admin())
    assert code == 200 and got["sync"] is None
    assert got["document"]["status"] == "ACCEPTED" and got["document"]["lines"][0]["unit_cost"] == "90.00"
    row = DocumentModel.get("acme", "estimate#est-1")
    # Not pending (the sweep reads only pending rows) and not in the sent index the catalog sync
    # and the invoice badges read.
    assert row.pending_bucket is None and row.sent_at is None
    docs = DocumentRepository()
    assert [r.kind for r in docs.sent_since("acme", 0)] == []
    Sweep(documents=docs, connections=_connections(), runs=_runs(), queue=api.queue).resume("acme")
    assert api.queue.jobs and "est-1" not in {job.invoice_id for job in api.queue.jobs}  # the customer's only


def test_an_estimate_is_no_invoice_its_number_is_its_own(api: SimpleNamespace) -> None:
    """An estimate E-1 does not take invoice number E-1, nor the other way round."""
    seed(api)
    assert api.call("PUT", "/estimates/est-1", estimate("SENT"), claims=admin())[0] == 201
    invoice = {**estimate(), "status": "SENT", "due_date": "2026-12-02"}
    del invoice["valid_until"], invoice["lines"][0]["unit_cost"]
    code, answer, _ = api.call("PUT", "/invoices/inv-1", invoice, claims=admin())
    assert code == 201, answer
    assert api.call("GET", "/invoices/est-1", claims=admin())[0] == 404


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"status": "PAID"}, "status", "one of DRAFT, SENT, ACCEPTED, DECLINED"),
        ({"valid_until": "2026-10-01"}, "valid_until", "cannot be before issue_date"),
        ({"customer_id": "ghost"}, "customer_id", "no customer 'ghost'"),
        ({"lines": [{"item_id": "ghost", "unit_price": "1.00"}]}, "lines[0].item_id", "no item 'ghost'"),
        ({"lines": [{"item_id": "i-1", "unit_price": "1.00", "unit_cost": "0.001"}]}, "lines", "unit_cost"),
        ({"lines": [{"item_id": "i-1", "unit_price": "-5.00"}]}, "lines", "an estimate's total"),
        ({"total": "1.00"}, "total", "booksync computes the total"),
    ],
)
def test_a_bad_estimate_is_refused_naming_the_field_and_nothing_is_stored(
    api: SimpleNamespace, change: dict[str, Any], field: str, says: str
) -> None:
    seed(api)
    code, problem, _ = api.call("PUT", "/estimates/est-9", estimate(**change), claims=admin())
    assert code == 422, problem
    error = next(e for e in problem["errors"] if e["field"].startswith(field))
    assert says in error["message"] + problem.get("detail", ""), problem
    assert problem["fix"]
    assert api.call("GET", "/estimates/est-9", claims=admin())[0] == 404


def test_drift_counts_ask_only_the_kinds_in_the_books(api: SimpleNamespace, monkeypatch: Any) -> None:
    asked: list[str] = []
    real = DocumentModel.count

    def count(company_id: str, condition: Any, **kw: Any) -> int:
        asked.append(str(condition))
        return int(real(company_id, condition, **kw))

    monkeypatch.setattr(DocumentModel, "count", count)
    drifted_counts("acme", "quickbooks", ["edited"])
    assert len(asked) == len(SYNCED_KINDS) and not any(DocumentKind.ESTIMATE.value in c for c in asked)


def _connections() -> Any:
    from booksync.store.connections import ConnectionRepository

    return ConnectionRepository()


def _runs() -> Any:
    from booksync.store.runs import RunRepository

    return RunRepository()
