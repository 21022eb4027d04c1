"""Currency at the door (issue 10, item 4): ISO 4217 codes, each currency's decimals, and money in
one currency never applied to an invoice in another. Through the API as API Gateway invokes it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tests import builders
from tests.apigw import admin
from tests.integration.test_api import api, connected, seed
from tests.integration.test_api_payments_refunds import fields

__all__ = ["api"]


def invoice_body(iid: str = "inv-1", **kw: Any) -> dict[str, Any]:
    body = builders.invoice(iid).model_dump(mode="json")
    body.update(kw)
    return body


def put(api: SimpleNamespace, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    status, payload, _ = api.call("PUT", path, body, claims=admin())
    return status, payload


def test_a_currency_that_is_not_iso_4217_is_refused_naming_the_field(api: SimpleNamespace) -> None:
    connected()
    seed(api)
    for code in ("ZZZ", "XTS", "FRF", "US", "eur"):
        status, problem = put(api, "/invoices/inv-1", invoice_body(currency=code))
        assert status == 422, code
        assert fields(problem) == {"currency"}, problem
        assert "ISO 4217" in problem["errors"][0]["message"], problem
    # Three capitals that name no currency in use (withdrawn, a test code): what is expected.
    message = put(api, "/invoices/inv-1", invoice_body(currency="ZZZ"))[1]["errors"][0]["message"]
    assert "'ZZZ' is not a currency in use" in message and "e.g. USD, EUR" in message
    assert api.call("GET", "/invoices/inv-1", claims=admin())[0] == 404, "nothing stored"
    assert put(api, "/invoices/inv-1", invoice_body(currency="EUR"))[0] == 201
    assert api.call("GET", "/invoices/inv-1", claims=admin())[1]["document"]["currency"] == "EUR"


def test_amounts_with_more_decimals_than_the_currency_has_are_refused(api: SimpleNamespace) -> None:
    connected()
    seed(api)
    yen = [{"item_id": "i-1", "quantity": "1", "unit_price": "1500.50"}]
    status, problem = put(api, "/invoices/inv-1", invoice_body(currency="JPY", lines=yen))
    assert status == 422 and fields(problem) == {"lines"}
    assert "JPY allows (no decimals)" in problem["errors"][0]["message"]
    amount_off = {"kind": "amount", "value": "10.5"}
    status, problem = put(api, "/invoices/inv-1", invoice_body(currency="JPY", discount=amount_off))
    assert status == 422 and fields(problem) == {"discount"}
    # A dinar's third decimal (fils) is beyond booksync's cents: refused, never rounded.
    fils = [{"item_id": "i-1", "quantity": "2", "unit_price": "12.125"}]
    assert put(api, "/invoices/inv-1", invoice_body(currency="KWD", lines=fils))[0] == 422
    yen = [{"item_id": "i-1", "quantity": "3", "unit_price": "1500"}]
    assert put(api, "/invoices/inv-1", invoice_body(currency="JPY", lines=yen))[0] == 201
    status, shown, _ = api.call("GET", "/invoices/inv-1", claims=admin())
    assert shown["document"]["currency"] == "JPY" and shown["document"]["lines"][0]["unit_price"] == "1500"


def test_a_payment_in_another_currency_than_its_invoice_is_refused(api: SimpleNamespace) -> None:
    connected()
    seed(api)
    assert put(api, "/invoices/inv-1", invoice_body())[0] == 201  # USD
    payment = builders.payment("p-1", "380.00", currency="JPY").model_dump(mode="json")
    status, problem = put(api, "/payments/p-1", payment)
    assert status == 422 and fields(problem) == {"currency"}
    assert "in JPY but invoice 'inv-1' is in USD" in problem["detail"]
    assert api.call("GET", "/payments/p-1", claims=admin())[0] == 404, "nothing stored"
    assert api.call("GET", "/invoices/inv-1", claims=admin())[1]["document"] == invoice_body()
    payment = builders.payment("p-1", "380.00", currency="USD").model_dump(mode="json")
    assert put(api, "/payments/p-1", payment)[0] == 201


def test_a_payment_without_currency_takes_its_invoices_and_must_fit_it(api: SimpleNamespace) -> None:
    connected()
    seed(api)
    yen = [{"item_id": "i-1", "quantity": "2", "unit_price": "15000"}]
    assert put(api, "/invoices/inv-1", invoice_body(currency="JPY", lines=yen))[0] == 201
    status, problem = put(api, "/payments/p-1", builders.payment("p-1", "380.50").model_dump(mode="json"))
    assert status == 422 and fields(problem) == {"amount"}
    assert "380.50 has more decimals than JPY allows" in problem["detail"]
    assert put(api, "/payments/p-1", builders.payment("p-1", "380").model_dump(mode="json"))[0] == 201
    # Two invoices in two currencies cannot share a payment.
    assert put(api, "/invoices/inv-2", invoice_body("inv-2"))[0] == 201
    split = {
        "id": "p-2",
        "amount": "200",
        "date": "2026-11-03",
        "applications": [{"invoice_id": "inv-1", "amount": "100"}, {"invoice_id": "inv-2", "amount": "100"}],
    }
    status, problem = put(api, "/payments/p-2", split)
    assert status == 422 and fields(problem) == {"applications.invoice_id"}
    assert "different currencies (JPY, USD)" in problem["detail"]


def test_an_invoice_with_payments_keeps_its_currency(api: SimpleNamespace) -> None:
    connected()
    seed(api)
    assert put(api, "/invoices/inv-1", invoice_body())[0] == 201
    assert put(api, "/invoices/inv-1", invoice_body(currency="CAD"))[0] == 200, "no payment yet: free"
    assert put(api, "/payments/p-1", builders.payment("p-1", "50.00").model_dump(mode="json"))[0] == 201
    status, problem = put(api, "/invoices/inv-1", invoice_body(currency="EUR"))
    assert status == 422 and fields(problem) == {"currency"}
    assert "payments recorded in CAD" in problem["detail"]


def test_a_refund_is_in_its_payments_currency(api: SimpleNamespace) -> None:
    connected()
    seed(api)
    assert put(api, "/invoices/inv-1", invoice_body())[0] == 201
    assert put(api, "/payments/p-1", builders.payment("p-1", "50.00").model_dump(mode="json"))[0] == 201
    refund = {"id": "r-1", "payment_id": "p-1", "amount": "10.00", "date": "2026-11-05"}
    status, problem = put(api, "/refunds/r-1", {**refund, "currency": "GBP"})
    assert status == 422 and fields(problem) == {"currency"}
    status, problem = put(api, "/refunds/r-1", {**refund, "amount": "1.005"})
    assert status == 422 and fields(problem) == {"amount"}
    assert put(api, "/refunds/r-1", {**refund, "currency": "USD"})[0] == 201
