"""PUT/GET /refunds/{id} and split payments on PUT /payments/{id}, as API Gateway invokes them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from booksync.store.models import ConnectionModel

from tests import builders
from tests.apigw import admin
from tests.integration.test_api import api, connected, seed
from tests.integration.test_payouts_api import world as payouts_world

__all__ = ["api", "payouts_world"]  # fixtures shared with the API and payout tests


def invoices_and_payment(api: SimpleNamespace) -> None:
    connected()
    seed(api)
    for invoice_id in ("inv-1", "inv-2"):
        body = builders.invoice(invoice_id).model_dump(mode="json")
        assert api.call("PUT", f"/invoices/{invoice_id}", body, claims=admin())[0] == 201
    payment = builders.payment("p-1", "100.00").model_dump(mode="json")
    assert api.call("PUT", "/payments/p-1", payment, claims=admin())[0] == 201


def refund_body(**kw: Any) -> dict[str, Any]:
    return {"id": "r-1", "payment_id": "p-1", "amount": "40.00", "date": "2026-11-05", **kw}


def split_body(**kw: Any) -> dict[str, Any]:
    return {
        "id": "p-9",
        "amount": "480.00",
        "date": "2026-11-03",
        "applications": [
            {"invoice_id": "inv-1", "amount": "380.00"},
            {"invoice_id": "inv-2", "amount": "100.00"},
        ],
        **kw,
    }


def fields(problem: dict[str, Any]) -> set[str]:
    return {error["field"] for error in problem.get("errors") or []}


def test_put_and_get_a_refund(api: SimpleNamespace) -> None:
    invoices_and_payment(api)
    api.queue.jobs.clear()
    status, accepted, _ = api.call("PUT", "/refunds/r-1", refund_body(reason="Returned"), claims=admin())
    assert status == 201 and accepted["pending_sync"] and accepted["sync_run_id"]
    assert [j.invoice_id for j in api.queue.jobs] == ["inv-1"]
    status, again, _ = api.call("PUT", "/refunds/r-1", refund_body(reason="Returned"), claims=admin())
    assert status == 200 and again["changed"] is False
    status, shown, _ = api.call("GET", "/refunds/r-1", claims=admin())
    assert status == 200 and shown["document"]["amount"] == "40.00"
    assert shown["sync"]["badge"] == "Not Synced" and shown["sync"]["kind"] == "refund"
    assert api.call("GET", "/refunds/r-404", claims=admin())[0] == 404


def test_refund_field_errors_are_422_problems_naming_the_field(api: SimpleNamespace) -> None:
    invoices_and_payment(api)
    cases = [
        (refund_body(amount="0"), "amount"),
        (refund_body(amount="1.005"), "amount"),
        (refund_body(reference="x" * 22), "reference"),
        (refund_body(date="soon"), "date"),
        ({k: v for k, v in refund_body().items() if k != "payment_id"}, "payment_id"),
        (refund_body(extra="no"), "extra"),
    ]
    for body, field in cases:
        status, problem, _ = api.call("PUT", "/refunds/r-1", body, claims=admin())
        assert status == 422, body
        assert field in fields(problem), (field, problem)
        assert problem["detail"] and problem["fix"]
    assert api.call("GET", "/refunds/r-1", claims=admin())[0] == 404, "nothing stored"


def test_a_refund_of_an_unknown_payment_or_over_the_payment_is_refused(api: SimpleNamespace) -> None:
    invoices_and_payment(api)
    status, problem, _ = api.call("PUT", "/refunds/r-1", refund_body(payment_id="p-404"), claims=admin())
    assert status == 422 and fields(problem) == {"payment_id"}
    assert "no payment 'p-404'" in problem["detail"] and "PUT /payments/p-404" in problem["fix"]
    status, problem, _ = api.call("PUT", "/refunds/r-1", refund_body(amount="100.01"), claims=admin())
    assert status == 422 and fields(problem) == {"amount"}
    assert "more than the payment's 100.00" in problem["detail"]
    assert problem["fix"] == "Refund at most 100.00 on this payment."
    assert api.call("GET", "/refunds/r-1", claims=admin())[0] == 404


def test_a_split_payment_through_the_api(api: SimpleNamespace) -> None:
    invoices_and_payment(api)  # p-1 pays 100.00 of inv-1's 380.00: 280.00 is left open
    body = split_body(
        amount="380.00",
        applications=[
            {"invoice_id": "inv-1", "amount": "280.00"},
            {"invoice_id": "inv-2", "amount": "100.00"},
        ],
    )
    status, accepted, _ = api.call("PUT", "/payments/p-9", body, claims=admin())
    assert status == 201 and accepted["pending_sync"]
    status, shown, _ = api.call("GET", "/payments/p-9", claims=admin())
    assert [a["invoice_id"] for a in shown["document"]["applications"]] == ["inv-1", "inv-2"]


def test_split_payment_field_errors_name_the_field(api: SimpleNamespace) -> None:
    invoices_and_payment(api)
    too_much = split_body(amount="500.00")
    twice = split_body(applications=[{"invoice_id": "inv-1", "amount": "240.00"}] * 2)
    both = split_body(invoice_id="inv-1")
    neither = {k: v for k, v in split_body().items() if k != "applications"}
    empty = split_body(applications=[])
    unknown = split_body(
        applications=[
            {"invoice_id": "inv-1", "amount": "380.00"},
            {"invoice_id": "inv-7", "amount": "100.00"},
        ]
    )
    for body, words in (
        (too_much, "add up to 480.00, not the payment amount 500.00"),
        (twice, "only once"),
        (both, "not both"),
        (neither, "give invoice_id"),
        (empty, "at least 1"),
        (unknown, "no invoice 'inv-7'"),
    ):
        status, problem, _ = api.call("PUT", "/payments/p-9", body, claims=admin())
        assert status == 422, body
        assert any(f.startswith("applications") for f in fields(problem)), problem
        assert words in problem["detail"], problem
    assert api.call("GET", "/payments/p-9", claims=admin())[0] == 404, "nothing stored"


def test_a_square_refund_id_is_a_valid_document_id(api: SimpleNamespace) -> None:
    """Square refund ids are ``<payment id>_<suffix>``; the Square integration records them as is."""
    invoices_and_payment(api)
    square_id = "square-R2B3Z8WMVt3EAmzYWLZvz7Y69EbZY_KlWP8IC1557ddwc9QWTKrCVU6m0JXDz15R2Qym5eQfR"
    status, _, _ = api.call("PUT", f"/refunds/{square_id}", refund_body(id=square_id), claims=admin())
    assert status == 201
    status, shown, _ = api.call("GET", f"/refunds/{square_id}", claims=admin())
    assert status == 200 and shown["document"]["id"] == square_id


def test_the_refunds_account_setting_is_checked_against_the_chart(payouts_world: SimpleNamespace) -> None:
    settings = "/integrations/quickbooks/settings"
    call = payouts_world.call
    status, problem, _ = call("PATCH", settings, {"refunds_from_account_id": "5"}, claims=admin())
    assert status == 422 and "refunds_from_account_id needs a" in problem["detail"]
    assert "accounts?type=asset" in problem["fix"]
    status, problem, _ = call("PATCH", settings, {"refunds_from_account_id": "99"}, claims=admin())
    assert status == 422 and "no account with id '99'" in problem["detail"]
    assert call("PATCH", settings, {"refunds_from_account_id": "2"}, claims=admin())[0] == 200
    assert ConnectionModel.get("acme", "quickbooks").settings.refunds_from_account_id == "2"
