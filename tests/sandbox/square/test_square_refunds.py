"""Refunds: full and partial, their processing-fee give-back, pending refunds, and the API view."""

from __future__ import annotations

from typing import Any

from local.sandboxes.square.testing import SquareClient, SquareControl


def test_partial_then_full_refund_gives_back_exactly_the_fee(
    control: SquareControl, merchant: dict[str, Any], square: SquareClient
) -> None:
    payment = control.pay(merchant["id"], 3_333, tip=667)["payment"]
    fee = payment["processing_fee"][0]["amount_money"]["amount"]
    first = control.refund(payment["id"], amount=1_000, reason="Damaged")
    assert [e["type"] for e in first["events"]] == ["refund.created", "refund.updated", "payment.updated"]
    assert first["events"][0]["data"]["object"]["refund"]["status"] == "PENDING"
    rest = control.refund(payment["id"])["refund"]
    assert rest["amount_money"]["amount"] == 3_000
    returned = [
        square.get(f"/v2/refunds/{r['id']}").json()["refund"]["processing_fee"][0]["amount_money"]["amount"]
        for r in (first["refund"], rest)
    ]
    assert all(value < 0 for value in returned)
    assert sum(returned) == -fee
    after = square.get(f"/v2/payments/{payment['id']}").json()["payment"]
    assert after["refunded_money"] == {"amount": 4_000, "currency": "USD"}
    assert after["refund_ids"] == [first["refund"]["id"], rest["id"]]
    assert after["version_token"] != payment["version_token"]


def test_over_refund_and_refund_of_uncompleted_payment_are_refused(
    control: SquareControl, merchant: dict[str, Any]
) -> None:
    payment = control.pay(merchant["id"], 1_000)["payment"]
    over = control.http.post(f"/_sandbox/payments/{payment['id']}/refunds", json={"amount": 1_001})
    assert over.status_code == 400 and "between 1 and 1000" in over.json()["error"]
    approved = control.pay(merchant["id"], 1_000, status="APPROVED")["payment"]
    refused = control.http.post(f"/_sandbox/payments/{approved['id']}/refunds", json={})
    assert refused.status_code == 409
    unknown = control.http.post("/_sandbox/payments/nope/refunds", json={})
    assert unknown.status_code == 404


def test_a_pending_refund_completes_later_and_only_then_counts(
    control: SquareControl, merchant: dict[str, Any], square: SquareClient
) -> None:
    payment = control.pay(merchant["id"], 2_000)["payment"]
    pending = control.refund(payment["id"], amount=500, status="PENDING")
    assert [e["type"] for e in pending["events"]] == ["refund.created"]
    refund_id = pending["refund"]["id"]
    assert "refunded_money" not in square.get(f"/v2/payments/{payment['id']}").json()["payment"]
    # A pending refund holds its amount: the rest is what can still be refunded.
    too_much = control.http.post(f"/_sandbox/payments/{payment['id']}/refunds", json={"amount": 1_501})
    assert too_much.status_code == 400
    done = control.call("POST", f"/refunds/{refund_id}/complete")
    assert done["refund"]["status"] == "COMPLETED"
    assert [e["type"] for e in done["events"]] == ["refund.updated", "payment.updated"]
    assert square.get(f"/v2/refunds/{refund_id}").json()["refund"]["status"] == "COMPLETED"
    twice = control.http.post(f"/_sandbox/refunds/{refund_id}/complete")
    assert twice.status_code == 409


def test_a_rejected_refund_returns_nothing_and_stays_out_of_payouts(
    control: SquareControl, merchant: dict[str, Any]
) -> None:
    payment = control.pay(merchant["id"], 2_000)["payment"]
    refund_id = control.refund(payment["id"], status="PENDING")["refund"]["id"]
    rejected = control.call("POST", f"/refunds/{refund_id}/complete", {"status": "REJECTED"})
    assert rejected["refund"]["status"] == "REJECTED"
    entries = control.payout(merchant["id"])["payout_entries"]
    assert [e["type"] for e in entries] == ["CHARGE"]


def test_pending_and_completed_refunds_together_give_back_exactly_the_fee(
    control: SquareControl, merchant: dict[str, Any], square: SquareClient
) -> None:
    payment = control.pay(merchant["id"], 1_001)["payment"]
    fee = payment["processing_fee"][0]["amount_money"]["amount"]
    first = control.refund(payment["id"], amount=333, status="PENDING")["refund"]["id"]
    second = control.refund(payment["id"], amount=335)["refund"]["id"]
    last = control.refund(payment["id"], status="PENDING")["refund"]["id"]  # the remaining 333
    for refund_id in (last, first):
        control.call("POST", f"/refunds/{refund_id}/complete")
    returned = [
        square.get(f"/v2/refunds/{r}").json()["refund"]["processing_fee"][0]["amount_money"]["amount"]
        for r in (first, second, last)
    ]
    assert sum(returned) == -fee
    # Everything was given back, fee included: the activity nets to zero, and Square sends no zero payout.
    nothing = control.http.post("/_sandbox/payouts", json={"merchant_id": merchant["id"]})
    assert nothing.status_code == 409 and "cancel out" in nothing.json()["error"]
