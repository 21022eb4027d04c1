"""Payouts and payout entries: the arithmetic that reaches the bank, and cursor pagination."""

from __future__ import annotations

from typing import Any

import pytest

from local.sandboxes.square.server import SquareSandbox
from local.sandboxes.square.testing import SquareClient, SquareControl


def _amount(money: dict[str, Any]) -> int:
    assert money["currency"] == "USD"
    value = money["amount"]
    assert isinstance(value, int)
    return value


def _card_fee(total: int) -> int:
    """2.6% + 15c, rounded half up to the cent (the sandbox's default card rate)."""
    return (total * 260 + 5_000) // 10_000 + 15


def test_payout_amount_is_the_sum_of_entry_nets_minus_payout_fees(
    control: SquareControl, merchant: dict[str, Any], square: SquareClient
) -> None:
    first = control.pay(merchant["id"], 10_000, tip=1_500, reference_id="INV-1001")["payment"]
    second = control.pay(merchant["id"], 4_999, reference_id="INV-1002")["payment"]
    refund = control.refund(first["id"], amount=2_000)["refund"]
    made = control.payout(merchant["id"], instant=True, adjustment=-250)
    payout = square.get(f"/v2/payouts/{made['payout']['id']}").json()["payout"]
    entries = square.all_payout_entries(payout["id"])

    charges = {e["type_charge_details"]["payment_id"]: e for e in entries if e["type"] == "CHARGE"}
    assert set(charges) == {first["id"], second["id"]}
    for payment in (first, second):
        entry = charges[payment["id"]]
        total = _amount(payment["total_money"])
        assert _amount(entry["gross_amount_money"]) == total  # tip included
        assert _amount(entry["fee_amount_money"]) == _card_fee(total)
        assert _amount(payment["processing_fee"][0]["amount_money"]) == _card_fee(total)
        assert _amount(entry["net_amount_money"]) == total - _card_fee(total)
    refunds = [e for e in entries if e["type"] == "REFUND"]
    assert len(refunds) == 1
    assert refunds[0]["type_refund_details"] == {"payment_id": first["id"], "refund_id": refund["id"]}
    assert _amount(refunds[0]["gross_amount_money"]) == -2_000
    assert _amount(refunds[0]["fee_amount_money"]) == _amount(refund["processing_fee"][0]["amount_money"]) < 0
    adjustments = [e for e in entries if e["type"] == "ADJUSTMENT"]
    assert [_amount(e["net_amount_money"]) for e in adjustments] == [-250]
    for entry in entries:
        gross, fee, net = (
            _amount(entry[k]) for k in ("gross_amount_money", "fee_amount_money", "net_amount_money")
        )
        assert net == gross - fee
    nets = sum(_amount(e["net_amount_money"]) for e in entries)
    fees = sum(_amount(f["amount_money"]) for f in payout["payout_fee"])
    assert [f["type"] for f in payout["payout_fee"]] == ["TRANSFER_FEE"]
    assert fees == (nets * 175 + 5_000) // 10_000  # instant transfer: 1.75%
    assert _amount(payout["amount_money"]) == nets - fees
    assert payout["status"] == "SENT" and payout["type"] == "BATCH"
    assert payout["end_to_end_id"] and payout["arrival_date"]


def test_a_standard_payout_has_no_payout_fee(control: SquareControl, merchant: dict[str, Any]) -> None:
    control.pay(merchant["id"], 2_500)
    payout = control.payout(merchant["id"])["payout"]
    assert "payout_fee" not in payout
    assert payout["amount_money"]["amount"] == 2_500 - _card_fee(2_500)


def test_activity_is_paid_out_once_and_per_location(control: SquareControl, merchant: dict[str, Any]) -> None:
    annex = merchant["locations"][1]["id"]
    control.pay(merchant["id"], 1_000)
    control.pay(merchant["id"], 3_000, location_id=annex)
    main = control.payout(merchant["id"])
    assert len(main["payout_entries"]) == 1
    nothing = control.http.post("/_sandbox/payouts", json={"merchant_id": merchant["id"]})
    assert nothing.status_code == 409 and "nothing to pay out" in nothing.json()["error"]
    other = control.payout(merchant["id"], location_id=annex)
    assert other["payout"]["location_id"] == annex
    assert other["payout"]["amount_money"]["amount"] == 3_000 - _card_fee(3_000)


def test_approved_payments_wait_for_completion(control: SquareControl, merchant: dict[str, Any]) -> None:
    pending = control.pay(merchant["id"], 1_000, status="APPROVED")["payment"]
    assert "processing_fee" not in pending
    assert control.http.post("/_sandbox/payouts", json={"merchant_id": merchant["id"]}).status_code == 409
    done = control.call("POST", f"/payments/{pending['id']}/complete")
    assert done["payment"]["status"] == "COMPLETED"
    assert [e["type"] for e in done["events"]] == ["payment.updated"]
    assert len(control.payout(merchant["id"])["payout_entries"]) == 1


def test_payout_entries_page_with_cursors(
    sandbox: SquareSandbox, control: SquareControl, merchant: dict[str, Any], square: SquareClient
) -> None:
    for amount in range(1_000, 1_007):
        control.pay(merchant["id"], amount)
    payout_id = control.payout(merchant["id"])["payout"]["id"]
    control.set_config(page_size=3)
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        body = square.get(f"/v2/payouts/{payout_id}/payout-entries", cursor=cursor).json()
        pages.append([entry["id"] for entry in body["payout_entries"]])
        cursor = body.get("cursor")
        if cursor is None:
            break
    assert [len(page) for page in pages] == [3, 3, 1]
    ids = [entry_id for page in pages for entry_id in page]
    assert len(set(ids)) == 7
    assert [len(p) for p in _pages(square, payout_id, limit=2)] == [2, 2, 2, 1]
    assert [len(p) for p in _pages(square, payout_id, limit=500)] == [3, 3, 1]  # capped by page size
    descending = [entry_id for page in _pages(square, payout_id, sort_order="DESC") for entry_id in page]
    assert descending == list(reversed(ids))


def _pages(square: SquareClient, payout_id: str, **params: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        body = square.get(f"/v2/payouts/{payout_id}/payout-entries", cursor=cursor, **params).json()
        pages.append([entry["id"] for entry in body["payout_entries"]])
        cursor = body.get("cursor")
        if cursor is None:
            return pages


def test_limit_above_100_is_100_and_bad_limits_and_cursors_are_400(
    control: SquareControl, merchant: dict[str, Any], square: SquareClient
) -> None:
    for amount in range(1_000, 1_003):
        control.pay(merchant["id"], amount)
    payout_id = control.payout(merchant["id"])["payout"]["id"]
    path = f"/v2/payouts/{payout_id}/payout-entries"
    assert len(square.get(path, limit=1000).json()["payout_entries"]) == 3
    for limit in ("0", "-1", "ten"):
        answer = square.get(path, limit=limit)
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["field"] == "limit"
    cursor = square.get(path, limit=1).json()["cursor"]
    assert square.get(path, cursor=cursor).status_code == 200
    for bad in ("garbage!", cursor[:-2] + "zz"):
        answer = square.get(path, cursor=bad)
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["code"] == "INVALID_CURSOR"
    # A cursor belongs to the list it came from.
    control.pay(merchant["id"], 500)
    control.pay(merchant["id"], 600)
    other = control.payout(merchant["id"])["payout"]["id"]
    answer = square.get(f"/v2/payouts/{other}/payout-entries", cursor=cursor)
    assert answer.status_code == 400


def test_list_payouts_filters_by_status_and_pages(
    control: SquareControl, merchant: dict[str, Any], square: SquareClient
) -> None:
    made = []
    for amount in (1_000, 2_000, 3_000):
        control.pay(merchant["id"], amount)
        made.append(control.payout(merchant["id"])["payout"]["id"])
    paid = control.call("POST", f"/payouts/{made[0]}/paid")
    assert paid["payout"]["status"] == "PAID" and paid["payout"]["version"] == 2
    failed = control.call("POST", f"/payouts/{made[1]}/failed")
    assert [e["type"] for e in failed["events"]] == ["payout.failed"]
    again = control.http.post(f"/_sandbox/payouts/{made[1]}/paid")
    assert again.status_code == 409
    listed = square.get("/v2/payouts", limit=2).json()
    assert len(listed["payouts"]) == 2 and listed["cursor"]
    rest = square.get("/v2/payouts", limit=2, cursor=listed["cursor"]).json()
    assert "cursor" not in rest
    every = [p["id"] for p in listed["payouts"] + rest["payouts"]]
    assert every == list(reversed(made))  # newest first
    assert [p["id"] for p in square.get("/v2/payouts", status="SENT").json()["payouts"]] == [made[2]]
    assert square.get("/v2/payouts", status="LOST").status_code == 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"amount": 10.5}, "integer number of cents"),
        ({"amount": "1000"}, "integer number of cents"),
        ({"amount": 0}, "amount must be > 0"),
        ({"amount": 1000, "tip": -1}, "tip >= 0"),
        ({"amount": 1000, "location_id": "LNOPE"}, "is not one of merchant"),
        ({"amount": 1000, "reference_id": "x" * 41}, "at most 40"),
        ({"amount": 1000, "times": 0}, "times must be"),
    ],
)
def test_bad_control_payments_are_refused_and_create_nothing(
    control: SquareControl, merchant: dict[str, Any], square: SquareClient, body: dict[str, Any], message: str
) -> None:
    answer = control.http.post("/_sandbox/payments", json={"merchant_id": merchant["id"], **body})
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert square.get("/v2/payments").json()["payments"] == []


def test_a_refund_after_the_payout_makes_a_withdrawal(
    control: SquareControl, merchant: dict[str, Any]
) -> None:
    payment = control.pay(merchant["id"], 2_000)["payment"]
    control.payout(merchant["id"])
    refund = control.refund(payment["id"])["refund"]
    instant = control.http.post("/_sandbox/payouts", json={"merchant_id": merchant["id"], "instant": True})
    assert instant.status_code == 400 and "negative" in instant.json()["error"]
    withdrawal = control.payout(merchant["id"])
    [entry] = withdrawal["payout_entries"]
    assert entry["type"] == "REFUND" and entry["type_refund_details"]["refund_id"] == refund["id"]
    # The whole fee came back with the full refund, so the bank loses the payment's net.
    assert withdrawal["payout"]["amount_money"]["amount"] == -(2_000 - _card_fee(2_000))
