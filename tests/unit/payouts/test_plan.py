"""The deposit a payout becomes: lines that add up to the money that reached the bank, or nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from booksync.payouts.plan import (
    KnownPayment,
    KnownRefund,
    NotADeposit,
    NotBalanced,
    PayoutAccounts,
    Planned,
    Waiting,
    plan,
)
from booksync.providers.square.models import Payout, PayoutEntry
from hypothesis import given
from hypothesis import strategies as st

from tests.imports import modules_loaded_by

ACCOUNTS = PayoutAccounts(
    bank="35", merchant_fees="60", tips="70", refunds="4", adjustments="80", payout_fees="61"
)


def money(cents: int) -> dict[str, Any]:
    return {"amount": cents, "currency": "USD"}


def payout(cents: int, *, fees: list[int] | None = None) -> Payout:
    return Payout.from_square(
        {
            "id": "po_1",
            "status": "SENT",
            "amount_money": money(cents),
            "arrival_date": "2026-11-20",
            "end_to_end_id": "L2100000005",
            "payout_fee": [{"amount_money": money(f), "type": "TRANSFER_FEE"} for f in fees or []],
        }
    )


def entry(n: int, kind: str, gross: int, fee: int, net: int | None = None, **details: str) -> PayoutEntry:
    return PayoutEntry.from_square(
        {
            "id": f"poe_{n}",
            "payout_id": "po_1",
            "type": kind,
            "gross_amount_money": money(gross),
            "fee_amount_money": money(fee),
            "net_amount_money": money(gross - fee if net is None else net),
            f"type_{kind.lower()}_details": details,
        }
    )


def known(square_id: str, remote: str, amount: str) -> KnownPayment:
    return KnownPayment(square_id, remote_id=remote, amount=Decimal(amount))


def test_charges_tips_fees_and_a_refund_make_a_deposit_of_the_payout_amount() -> None:
    entries = [
        entry(1, "CHARGE", 11500, 330, payment_id="sq-a"),  # 100.00 paid + 15.00 tip
        entry(2, "CHARGE", 20000, 610, payment_id="sq-b"),
        entry(3, "REFUND", -5000, -150, payment_id="sq-c", refund_id="rf-1"),
    ]
    payments = {"sq-a": known("sq-a", "201", "100.00"), "sq-b": known("sq-b", "202", "200.00")}
    result = plan(payout(11500 + 20000 - 5000 - 330 - 610 + 150), entries, payments, ACCOUNTS)
    assert isinstance(result, Planned)
    shown = [(line.kind, str(line.amount), line.payment_id or line.account_id) for line in result.lines]
    assert shown == [
        ("payment", "100.00", "201"),
        ("tip", "15.00", "70"),
        ("payment", "200.00", "202"),
        ("refund", "-50.00", "4"),
        ("fees", "-7.90", "60"),
    ]
    assert result.total == result.amount == Decimal("257.10")


def test_a_refund_booksync_recorded_nets_its_refund_receipt_whole() -> None:
    entries = [
        entry(1, "CHARGE", 10000, 290, payment_id="sq-a"),
        entry(2, "REFUND", -4000, -116, payment_id="sq-a", refund_id="rf-1"),
    ]
    refunds = {"rf-1": KnownRefund("rf-1", remote_id="301", amount=Decimal("40.00"))}
    no_refunds_account = PayoutAccounts(bank="35", merchant_fees="60")
    result = plan(
        payout(10000 - 290 - 4000 + 116),
        entries,
        {"sq-a": known("sq-a", "9", "100.00")},
        no_refunds_account,
        refunds,
    )
    assert isinstance(result, Planned)
    assert [(line.kind, str(line.amount), line.refund_id or line.account_id) for line in result.lines][
        1:
    ] == [
        ("refund", "-40.00", "301"),
        ("fees", "-1.74", "60"),
    ]


def test_a_refund_booksync_never_recorded_needs_the_refunds_account() -> None:
    entries = [
        entry(1, "CHARGE", 10000, 290, payment_id="sq-a"),
        entry(2, "REFUND", -4000, -116, refund_id="rf-9"),
    ]
    payments = {"sq-a": known("sq-a", "9", "100.00")}
    refunds = {"rf-9": KnownRefund("rf-9", problem="not recorded in booksync")}
    amount = payout(10000 - 290 - 4000 + 116)
    waiting = plan(amount, entries, payments, PayoutAccounts(bank="35", merchant_fees="60"), refunds)
    assert isinstance(waiting, Waiting) and waiting.waiting_for == ("refund rf-9 (not recorded in booksync)",)
    planned = plan(amount, entries, payments, ACCOUNTS, refunds)
    assert isinstance(planned, Planned)
    assert ("refund", Decimal("-40.00"), "4") in [
        (line.kind, line.amount, line.account_id) for line in planned.lines
    ]


def test_payout_fees_come_from_the_payout_when_no_entry_carries_them() -> None:
    entries = [entry(1, "CHARGE", 10000, 290, payment_id="sq-a")]
    result = plan(
        payout(10000 - 290 - 25, fees=[25]), entries, {"sq-a": known("sq-a", "9", "100.00")}, ACCOUNTS
    )
    assert isinstance(result, Planned)
    assert [(line.kind, str(line.amount)) for line in result.lines][-2:] == [
        ("payout_fee", "-0.25"),
        ("fees", "-2.90"),
    ]


def test_an_unknown_or_unsynced_payment_makes_it_wait_naming_the_payment() -> None:
    entries = [
        entry(1, "CHARGE", 10000, 290, payment_id="sq-a"),
        entry(2, "CHARGE", 500, 10, payment_id="sq-b"),
    ]
    payments = {"sq-b": KnownPayment("sq-b", problem="not matched to an invoice")}
    result = plan(payout(10200), entries, payments, ACCOUNTS)
    assert isinstance(result, Waiting)
    assert result.waiting_for == (
        "payment sq-a (not recorded in booksync)",
        "payment sq-b (not matched to an invoice)",
    )


def test_a_missing_bank_or_fees_account_makes_it_wait_for_the_setting() -> None:
    entries = [entry(1, "CHARGE", 10000, 290, payment_id="sq-a")]
    result = plan(
        payout(9710),
        entries,
        {"sq-a": known("sq-a", "9", "100.00")},
        PayoutAccounts(bank=None, merchant_fees=None),
    )
    assert isinstance(result, Waiting)
    assert result.waiting_for == (
        "choose the bank account in settings (deposit_bank_account_id)",
        "choose the merchant fees account in settings (merchant_fees_account_id)",
    )


def test_entries_that_do_not_make_up_the_payout_plan_nothing_and_say_by_how_much() -> None:
    entries = [entry(1, "CHARGE", 10000, 290, payment_id="sq-a")]
    result = plan(payout(9800), entries, {"sq-a": known("sq-a", "9", "100.00")}, ACCOUNTS)
    assert isinstance(result, NotBalanced)
    assert (result.lines_total, result.amount, result.difference) == (
        Decimal("97.10"),
        Decimal("98.00"),
        Decimal("-0.90"),
    )
    assert "lines total 97.10, the payout is 98.00: difference -0.90" in result.message
    assert "payment 1.00" not in result.message and "payment 100.00" in result.message


def test_square_collecting_less_than_booksync_recorded_is_explained() -> None:
    entries = [entry(1, "CHARGE", 9000, 290, payment_id="sq-a")]
    result = plan(payout(8710), entries, {"sq-a": known("sq-a", "9", "100.00")}, ACCOUNTS)
    assert isinstance(result, NotBalanced)
    assert "Payment sq-a: Square collected 90.00, less than the 100.00 booksync recorded" in result.message


def test_an_entry_whose_net_is_not_gross_less_fee_is_named() -> None:
    entries = [entry(1, "CHARGE", 10000, 290, net=9700, payment_id="sq-a")]
    result = plan(payout(9700), entries, {"sq-a": known("sq-a", "9", "100.00")}, ACCOUNTS)
    assert isinstance(result, NotBalanced)
    assert "Entry poe_1 (CHARGE): net 97.00 is not gross 100.00 less fee 2.90" in result.message


def test_a_withdrawal_is_not_a_deposit() -> None:
    result = plan(payout(-1500), [], {}, ACCOUNTS)
    assert isinstance(result, NotADeposit) and "withdrawal" in result.reason


# ------------------------------------------------------------------------------- property

KINDS = ["CHARGE", "REFUND", "FEE", "ADJUSTMENT", "DEPOSIT_FEE", "HOLD_ADJUSTMENT", "OTHER"]


@st.composite
def payouts(draw: st.DrawFn) -> tuple[Payout, list[PayoutEntry], dict[str, KnownPayment]]:
    entries: list[PayoutEntry] = []
    payments: dict[str, KnownPayment] = {}
    for n in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(KINDS))
        if kind == "CHARGE":
            applied = draw(st.integers(1, 500_000))
            tip = draw(st.integers(0, 5_000))
            fee = draw(st.integers(0, applied // 10))
            entries.append(entry(n, kind, applied + tip, fee, payment_id=f"sq-{n}"))
            recorded = applied + draw(st.sampled_from([0, 0, 0, 1]))  # sometimes booksync says a cent more
            payments[f"sq-{n}"] = known(f"sq-{n}", str(n), str(Decimal(recorded).scaleb(-2)))
        elif kind == "REFUND":
            gross = draw(st.integers(1, 100_000))
            entries.append(entry(n, kind, -gross, -draw(st.integers(0, gross // 10)), payment_id=f"x-{n}"))
        elif kind == "FEE":
            entries.append(entry(n, kind, 0, draw(st.integers(1, 5_000))))
        else:
            entries.append(entry(n, kind, draw(st.integers(-20_000, 20_000)), 0))
    net = sum(e.net.minor for e in entries if e.net is not None)
    fees = draw(st.lists(st.integers(1, 200), max_size=2))
    nudge = draw(st.sampled_from([0, 0, 0, 1, -7]))  # sometimes the payout is not its entries
    total = net - (0 if any(e.type == "DEPOSIT_FEE" for e in entries) else sum(fees)) + nudge
    return payout(total if total != 0 else 1, fees=fees), entries, payments


@given(payouts())
def test_a_planned_deposit_adds_up_to_the_payout_or_none_is_planned_and_the_difference_stated(
    case: tuple[Payout, list[PayoutEntry], dict[str, KnownPayment]],
) -> None:
    the_payout, entries, payments = case
    result = plan(the_payout, entries, payments, ACCOUNTS)
    if isinstance(result, Planned):
        assert sum(line.amount for line in result.lines) == the_payout.amount.amount
        assert all(line.amount != 0 for line in result.lines)
        assert all((line.payment_id is None) != (line.account_id is None) for line in result.lines)
    elif isinstance(result, NotBalanced):
        assert result.lines_total == sum(line.amount for line in result.lines)
        assert result.difference == result.lines_total - the_payout.amount.amount != 0
        assert f"difference {result.difference}" in result.message
    else:
        assert isinstance(result, NotADeposit) and the_payout.amount.amount < 0


def test_the_planner_reads_squares_data_types_without_loading_the_http_client() -> None:
    """Square's objects live apart from its HTTP client: planning a deposit calls no provider."""
    loaded = modules_loaded_by("booksync.payouts.plan")
    assert "booksync.providers.square.models" in loaded
    assert {"booksync.providers.square.client", "booksync.providers.http", "httpx"} & loaded == set()
