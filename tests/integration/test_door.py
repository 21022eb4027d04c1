"""Refused at the door: what QuickBooks would refuse, or book otherwise than sent, is a 4xx problem
naming the field and saying how to fix it, and nothing is stored (issues 10 and 12)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from booksync.documents import DocumentKind, parse_stored

from tests import builders
from tests.apigw import admin
from tests.integration.test_api import api, seed

__all__ = ["api"]  # the fixture, shared with the API tests


def invoice_body(**kw: Any) -> dict[str, Any]:
    return {**builders.invoice().model_dump(mode="json"), **kw}


def refused(api: SimpleNamespace, path: str, body: dict[str, Any], field: str) -> dict[str, Any]:
    status, problem, _ = api.call("PUT", path, body, claims=admin())
    assert status == 422, (status, problem)
    assert field in {e["field"] for e in problem["errors"]}, problem
    assert problem["fix"]
    assert api.call("GET", path, claims=admin())[0] == 404, "nothing stored"
    message: dict[str, Any] = problem
    return message


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"issue_date": "0001-01-01"}, "issue_date", "between 1900-01-01 and 2099-12-31"),
        ({"due_date": "9999-12-31"}, "due_date", "between 1900-01-01 and 2099-12-31"),
        (
            {"lines": [{"item_id": "i-1", "quantity": "1", "unit_price": "-50.00"}]},
            "lines",
            "add up to -50.00",
        ),
        # A fixed discount over the subtotal used to be cut to it silently (total 0.00).
        ({"discount": {"kind": "amount", "value": "500.00"}}, "discount", "at most 380.00"),
    ],
    ids=["year-1", "year-9999", "negative-total", "discount-over-subtotal"],
)
def test_an_invoice_that_would_fail_or_change_at_sync_is_refused(
    api: SimpleNamespace, changes: dict[str, Any], field: str, says: str
) -> None:
    seed(api)
    problem = refused(api, "/invoices/inv-1", invoice_body(**changes), field)
    assert says in problem["detail"]


def test_a_discount_equal_to_the_subtotal_and_a_zero_invoice_are_accepted(api: SimpleNamespace) -> None:
    seed(api)
    body = invoice_body(discount={"kind": "amount", "value": "380.00"})
    assert api.call("PUT", "/invoices/inv-1", body, claims=admin())[0] == 201


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/customers/c-9", {"id": "c-9", "display_name": "\x01\x02\u200b"}, "display_name"),
        ("/items/i-9", {"id": "i-9", "name": "\x07\x7f"}, "name"),
        (
            "/payments/p-9",
            {"id": "p-9", "invoice_id": "inv-1", "amount": "10.00", "date": "9999-12-31"},
            "date",
        ),
    ],
    ids=["customer-control-characters", "item-control-characters", "payment-year-9999"],
)
def test_names_of_control_characters_and_far_dates_are_refused(
    api: SimpleNamespace, path: str, body: dict[str, Any], field: str
) -> None:
    seed(api)
    assert api.call("PUT", "/invoices/inv-1", invoice_body(), claims=admin())[0] == 201
    refused(api, path, body, field)


def test_a_document_stored_before_a_check_existed_is_still_read() -> None:
    """The door's checks never make what booksync already holds unreadable (the sync parses it)."""
    body = invoice_body(issue_date="0001-01-01", discount={"kind": "amount", "value": "500.00"})
    stored = parse_stored(DocumentKind.INVOICE, body)
    assert str(stored.model_dump(mode="json")["issue_date"]) == "0001-01-01"
