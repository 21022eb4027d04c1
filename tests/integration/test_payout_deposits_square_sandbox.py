"""A payout read from the Square sandbox with booksync's Square client (entries over several
cursor pages) becomes one QuickBooks deposit in the QuickBooks sandbox: charges with tips, a
refund, an adjustment and an instant-transfer fee; the deposit total is the payout amount and
Undeposited Funds is left empty."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.documents import Payment, PaymentMethod, Refund
from booksync.payouts.deposits import PayoutMessage
from booksync.providers.square.client import SquareClient
from booksync.store.models import ConnectionModel, ConnectionSettingsMap

from local.sandboxes.square import server as square_sandbox
from local.sandboxes.square import testing as square_testing
from tests import builders
from tests.integration.test_payout_deposits import COMPANY, control, deliver, deposits, oauth, sandbox, world

__all__ = ["control", "oauth", "sandbox", "world"]

CLIENT_ID, CLIENT_SECRET = "sandbox-sq0idb-booksync", "sandbox-sq0csb-booksync"
REDIRECT = "https://api.example.com/oauth/square/callback"


class Token:
    """A TokenSource over one Square access token (refreshes are not under test here)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def access_token(self) -> str:
        return self.token

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        return self.token


@pytest.fixture
def square() -> Iterator[SimpleNamespace]:
    server = square_sandbox.SquareSandbox(config=square_sandbox.SquareConfig()).start()
    try:
        with square_testing.SquareControl(server.url) as ctl:
            ctl.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT])
            merchant = ctl.add_merchant("Harper Plumbing", ["Main"])
            grant = square_testing.connect(server.url, CLIENT_ID, CLIENT_SECRET, REDIRECT, merchant["id"])
            client = SquareClient(tokens=Token(grant.access_token), api_base_url=server.url)
            yield SimpleNamespace(control=ctl, merchant=merchant, client=client)
    finally:
        server.stop()


def cents(money: dict[str, Any]) -> Decimal:
    return Decimal(int(money["amount"])).scaleb(-2)


def test_a_square_payout_becomes_one_deposit_of_its_amount(
    world: SimpleNamespace, square: SimpleNamespace
) -> None:
    expense = next(a for a in world.qbo.provider.list_accounts() if a.classification == "Expense")
    row = ConnectionModel.get(COMPANY, "quickbooks")
    row.settings = ConnectionSettingsMap(
        deposit_bank_account_id=world.bank.id,
        merchant_fees_account_id=world.fees.id,
        tips_account_id=world.tips.id,
        adjustments_account_id=expense.id,
        payout_fees_account_id=expense.id,
    )
    row.save()
    ctl, merchant = square.control, square.merchant["id"]
    # Two more invoices (the world's own two have their payments already).
    world.service.put_invoice(COMPANY, builders.invoice("inv-3"))
    world.service.put_invoice(COMPANY, builders.invoice("inv-4"))
    first = ctl.pay(merchant, 38_000, tip=1_500, reference_id="inv-3")["payment"]
    second = ctl.pay(merchant, 30_000, reference_id="inv-4")["payment"]
    refund = ctl.refund(first["id"], amount=4_000)["refund"]
    # Recorded in booksync as the Square payments consumer records them.
    for payment, invoice_id in ((first, "inv-3"), (second, "inv-4")):
        world.service.put_payment(
            COMPANY,
            Payment(
                id=f"square-{payment['id']}",
                invoice_id=invoice_id,
                amount=cents(payment["amount_money"]),
                date=date(2026, 11, 19),
                method=PaymentMethod.CREDIT_CARD,
            ),
        )
    world.service.put_refund(
        COMPANY,
        Refund(
            id=f"square-{refund['id']}",
            payment_id=f"square-{first['id']}",
            amount=Decimal("40.00"),
            date=date(2026, 11, 19),
        ),
    )
    made = ctl.payout(merchant, instant=True, adjustment=-250)["payout"]
    ctl.set_config(page_size=2)  # the entries come over several cursor pages
    message = PayoutMessage(
        company_id=COMPANY,
        merchant_id=merchant,
        payout_id=made["id"],
        event_type="payout.sent",
        event_id="ev-1",
        payout=made,
    )
    result = deliver_with(world, square.client, message)
    assert result.status == "deposited", result.reason
    [deposit] = deposits(world)
    assert Decimal(str(deposit["TotalAmt"])) == cents(made["amount_money"])
    kinds = [line["kind"] for line in world.payouts.get(COMPANY, made["id"]).lines]
    assert kinds == ["payment", "tip", "payment", "refund", "adjustment", "payout_fee", "fees"]
    undeposited = next(a for a in world.qbo.provider.list_accounts() if a.sub_type == "UndepositedFunds")
    balance = world.qbo.provider._client.read("Account", undeposited.id)["CurrentBalance"]
    assert Decimal(str(balance)) == 0


def deliver_with(world: SimpleNamespace, client: SquareClient, message: PayoutMessage) -> Any:
    original = world.job

    def job(**kw: Any) -> Any:
        return original(**{"square_for": lambda _company: client, **kw})

    return deliver(SimpleNamespace(**{**vars(world), "job": job}), message)
