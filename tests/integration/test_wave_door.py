"""An invoice in a currency no Wave business keeps its books in is refused at the door for a
company whose books are in Wave (a 422 naming the field, nothing stored), and said as a warning
while no books are connected: Wave businesses are USD or CAD only (providers.md 4)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from booksync.store.models import ConnectionModel

from tests import builders
from tests.apigw import admin
from tests.integration.test_api import api, seed

__all__ = ["api"]  # the fixture, shared with the API tests


def invoice(**changes: Any) -> dict[str, Any]:
    return {**builders.invoice().model_dump(mode="json"), **changes}


def test_an_invoice_in_a_currency_wave_keeps_no_books_in_is_refused_at_the_door(api: SimpleNamespace) -> None:
    seed(api)
    ConnectionModel(
        "acme", "wave", connection_id="c3", status="connected", account_id="QnVzaW5lc3M6MQ=="
    ).save()
    status, problem, _ = api.call("PUT", "/invoices/inv-1", invoice(currency="EUR"), claims=admin())
    assert status == 422, problem
    (error,) = problem["errors"]
    assert error["field"] == "currency"
    assert error["message"].startswith("must be USD or CAD (got EUR): Wave keeps a business's books")
    assert "USD or CAD" in problem["fix"]
    assert api.call("GET", "/invoices/inv-1", claims=admin())[0] == 404, "nothing stored"
    assert api.call("PUT", "/invoices/inv-1", invoice(currency="CAD"), claims=admin())[0] == 201


def test_while_no_books_are_connected_waves_currencies_are_a_warning(api: SimpleNamespace) -> None:
    seed(api)
    status, accepted, _ = api.call("PUT", "/invoices/inv-1", invoice(currency="EUR"), claims=admin())
    assert status == 201
    warnings = [w for w in accepted["warnings"] if w["provider"] == "wave"]
    assert [w["field"] for w in warnings] == ["currency"]
