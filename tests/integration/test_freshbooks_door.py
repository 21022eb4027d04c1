"""What FreshBooks cannot hold as given is refused at the door for a company whose books are in
FreshBooks (a 422 naming the field, nothing stored), and said as a warning while no books are
connected: a line's tax is a percentage with at most 3 decimals there, and its discount one
percentage of the subtotal (providers.md 7.2)."""

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


def in_freshbooks() -> None:
    ConnectionModel("acme", "freshbooks", connection_id="c2", status="connected", account_id="AbC12").save()


def test_a_tax_rate_freshbooks_cannot_say_is_refused_at_the_door_naming_the_field(
    api: SimpleNamespace,
) -> None:
    seed(api)
    in_freshbooks()
    status, problem, _ = api.call(
        "PUT", "/invoices/inv-1", invoice(tax_rate_percent="8.2575"), claims=admin()
    )
    assert status == 422, problem
    (error,) = problem["errors"]
    assert error["field"] == "tax_rate_percent"
    assert "FreshBooks takes a tax as a percentage with at most 3 decimals" in error["message"]
    assert "booksync does not round it" in error["message"]
    assert "tax_rate_percent with at most 3 decimals" in problem["fix"]
    assert api.call("GET", "/invoices/inv-1", claims=admin())[0] == 404, "nothing stored"
    # What it can say is taken as sent.
    assert api.call("PUT", "/invoices/inv-1", invoice(tax_rate_percent="8.875"), claims=admin())[0] == 201


def test_an_amount_discount_no_freshbooks_percentage_gives_is_refused(api: SimpleNamespace) -> None:
    seed(api)
    in_freshbooks()
    lines = [{"item_id": "i-1", "quantity": "1000", "unit_price": "27.00"}]
    body = invoice(lines=lines, discount={"kind": "amount", "value": "0.05"})
    status, problem, _ = api.call("PUT", "/invoices/inv-1", body, claims=admin())
    assert status == 422 and problem["errors"][0]["field"] == "discount", problem
    assert "no percentage gives exactly 0.05 of 27000.00" in problem["errors"][0]["message"]


def test_while_no_books_are_connected_freshbooks_rule_is_a_warning(api: SimpleNamespace) -> None:
    seed(api)  # no books connected
    status, accepted, _ = api.call(
        "PUT", "/invoices/inv-1", invoice(tax_rate_percent="8.2575"), claims=admin()
    )
    assert status == 201
    (warning,) = accepted["warnings"]
    assert (warning["field"], warning["provider"]) == ("tax_rate_percent", "freshbooks")
    assert warning["message"].startswith(
        "FreshBooks would refuse it once connected: tax_rate_percent must have"
    )
