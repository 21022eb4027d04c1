"""Payouts through the API (as API Gateway invokes it, over moto tables): the list, one payout with
its lines or what it waits for, the admin's retry; the deposit settings checked against the chart;
the deposit job's message refused with a reason; the sweep sends waiting payouts back."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.account_mapping import AccountMapping
from booksync.api.app import ApiServices
from booksync.errors import InvalidRequest
from booksync.payouts.deposits import PayoutDeposits, PayoutMessage, parse_message
from booksync.payouts.sweep import PayoutSweep
from booksync.payouts.views import PayoutViews, deposit_summary
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.intents import IntentRepository
from booksync.store.models import ConnectionModel, ConnectionSettingsMap
from booksync.store.notifications import NotificationRepository
from booksync.store.payouts import PayoutRepository
from booksync.store.runs import RunRepository
from booksync.sync.engine import InvoiceSync
from booksync.sync.records import DocumentService

from tests import builders
from tests.apigw import admin, member
from tests.fakes.integrations import fake_integrations
from tests.fakes.square_payouts import InMemorySquare, entry_object, payout_object
from tests.integration.test_account_mapping import ChartProvider
from tests.integration.test_api import Lambda
from tests.integration.test_invoice_sync_engine import ListQueue

COMPANY = "acme"
SETTINGS = "/integrations/quickbooks/settings"


@pytest.fixture
def world(tables: SimpleNamespace, kms_key: str) -> SimpleNamespace:
    ConnectionModel(
        COMPANY,
        "quickbooks",
        connection_id="c1",
        status="connected",
        account_id="r1",
        settings=ConnectionSettingsMap(deposit_bank_account_id="2", merchant_fees_account_id="5"),
    ).save()
    provider = ChartProvider()
    docs, conns, runs = DocumentRepository(), ConnectionRepository(), RunRepository()
    service = DocumentService(documents=docs, connections=conns, runs=runs, queue=ListQueue())
    service.put_customer(COMPANY, builders.customer())
    service.put_item(COMPANY, builders.item("i-1"))
    service.put_item(COMPANY, builders.item("i-2", name="Trip charge", price="80.00"))
    service.put_invoice(COMPANY, builders.invoice())
    service.put_payment(COMPANY, builders.payment("square-sq-a", "380.00"))
    square = InMemorySquare()
    square.entries["po_1"] = [entry_object(1, "po_1", "CHARGE", 38000, 1132, payment_id="sq-a")]
    square.entries["po_2"] = [entry_object(1, "po_2", "CHARGE", 5000, 175, payment_id="sq-z")]
    engine = InvoiceSync(
        documents=docs,
        connections=conns,
        intents=IntentRepository(),
        runs=runs,
        provider_for=lambda _c: provider,
        income_account_for=lambda _c, _p: "1",
    )
    payouts = PayoutRepository()
    job = PayoutDeposits(
        payouts=payouts,
        connections=conns,
        documents=docs,
        intents=IntentRepository(),
        runs=runs,
        notifications=NotificationRepository(),
        provider_for=lambda _c: provider,
        square_for=lambda _company: square,
        sync_invoice=engine.run,
    )
    sent: list[dict[str, Any]] = []
    accounts = AccountMapping(connections=conns, documents=docs, provider_for=lambda _c: provider)
    services = ApiServices(
        documents=service,
        integrations=fake_integrations(
            conns,
            docs,
            kms_key,
            deposit_account_check=accounts.check_deposit_account,
        ),
        runs=runs,
        accounts=accounts,
        payouts=PayoutViews(payouts, send=sent.append),
    )
    return SimpleNamespace(job=job, call=Lambda(services), sent=sent, payouts=payouts, provider=provider)


def message(payout_id: str, cents: int) -> PayoutMessage:
    return PayoutMessage(
        company_id=COMPANY,
        merchant_id="M1",
        payout_id=payout_id,
        event_type="payout.sent",
        event_id=f"ev-{payout_id}",
        payout=payout_object(payout_id, cents),
    )


def test_payouts_are_listed_and_shown_with_their_lines_or_what_they_wait_for(world: SimpleNamespace) -> None:
    assert world.job.handle(message("po_1", 38000 - 1132)).status == "deposited"
    assert world.job.handle(message("po_2", 5000 - 175)).status == "waiting"
    status, listed, _ = world.call("GET", "/payouts", claims=member())
    assert status == 200
    assert {p["payout_id"]: p["status"] for p in listed} == {"po_1": "deposited", "po_2": "waiting"}
    status, waiting, _ = world.call("GET", "/payouts?status=waiting", claims=member())
    assert [p["payout_id"] for p in waiting] == ["po_2"]
    status, shown, _ = world.call("GET", "/payouts/po_1", claims=member())
    assert status == 200 and shown["deposit_id"] and shown["amount"] == shown["lines_total"] == "368.68"
    assert [(line["kind"], line["amount"]) for line in shown["lines"]] == [
        ("payment", "380.00"),
        ("fees", "-11.32"),
    ]
    assert deposit_summary(shown) == [
        "Square payout po_1: deposited",
        f"  payment          380.00  Square payment sq-a  -> {shown['lines'][0]['payment_id']}",
        "  fees             -11.32  Square processing fees  -> 5",
        "  total 368.68 = payout 368.68 USD",
    ]
    status, other, _ = world.call("GET", "/payouts/po_2", claims=member())
    assert other["waiting_for"] == ["payment sq-z (not recorded in booksync; match it to an invoice)"]
    status, problem, _ = world.call("GET", "/payouts/po_404", claims=member())
    assert status == 404 and "po_404" in problem["detail"]


def test_only_admins_retry_and_a_deposited_payout_is_not_retried(world: SimpleNamespace) -> None:
    world.job.handle(message("po_1", 38000 - 1132))
    world.job.handle(message("po_2", 5000 - 175))
    status, _, _ = world.call("POST", "/payouts/po_2/retry", claims=member())
    assert status == 403 and world.sent == []
    status, answer, _ = world.call("POST", "/payouts/po_2/retry", claims=admin())
    assert status == 202 and answer == {"payout_id": "po_2", "queued": True, "status": "waiting"}
    [sent] = world.sent
    assert parse_message(json.dumps(sent)).payout_id == "po_2", "the retry is the job's own message"
    status, problem, _ = world.call("POST", "/payouts/po_1/retry", claims=admin())
    assert status == 422 and "already deposit" in problem["detail"] and len(world.sent) == 1


def test_deposit_settings_name_accounts_of_the_right_kind(world: SimpleNamespace) -> None:
    status, problem, _ = world.call("PATCH", SETTINGS, {"deposit_bank_account_id": "5"}, claims=admin())
    assert status == 422 and "deposit_bank_account_id needs a bank account" in problem["detail"]
    status, problem, _ = world.call("PATCH", SETTINGS, {"merchant_fees_account_id": "99"}, claims=admin())
    assert status == 422 and "no account with id '99'" in problem["detail"]
    assert "accounts?type=expense" in problem["fix"]
    status, _, _ = world.call(
        "PATCH",
        SETTINGS,
        {"auto_sync_deposits": False, "deposit_bank_account_id": "2", "tips_account_id": "7"},
        claims=admin(),
    )
    assert status == 200
    saved = ConnectionModel.get(COMPANY, "quickbooks").settings
    assert (saved.auto_sync_deposits, saved.deposit_bank_account_id, saved.tips_account_id) == (
        False,
        "2",
        "7",
    )
    assert saved.merchant_fees_account_id == "5", "a refused change saved nothing"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("not json", "not valid"),
        (json.dumps({"company_id": "acme"}), "payout_id"),
        (
            json.dumps(
                {
                    "company_id": "acme",
                    "merchant_id": "M1",
                    "payout_id": "po_1",
                    "event_type": "payout.created",
                    "event_id": "e1",
                    "payout": payout_object("po_1", 100),
                }
            ),
            "event_type",
        ),
        (
            json.dumps(
                {
                    "company_id": "acme",
                    "merchant_id": "M1",
                    "payout_id": "po_1",
                    "event_type": "payout.sent",
                    "event_id": "e1",
                    "payout": payout_object("po_9", 100),
                }
            ),
            "is not the payout's id",
        ),
        (
            json.dumps(
                {
                    "company_id": "acme",
                    "merchant_id": "M1",
                    "payout_id": "po_1",
                    "event_type": "payout.sent",
                    "event_id": "e1",
                    "payout": {**payout_object("po_1", 100), "amount_money": {"amount": 1.5}},
                }
            ),
            "not an integer",
        ),
    ],
)
def test_a_bad_message_is_refused_with_what_is_wrong_and_nothing_recorded(
    world: SimpleNamespace, body: str, said: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_message(body)
    assert said in refused.value.message and refused.value.fix
    assert world.payouts.for_company(COMPANY) == []


def test_the_sweep_sends_back_only_waiting_payouts(world: SimpleNamespace) -> None:
    world.job.handle(message("po_1", 38000 - 1132))
    world.job.handle(message("po_2", 5000 - 175))
    sent: list[dict[str, Any]] = []
    assert PayoutSweep(payouts=world.payouts, send=sent.append).run() == 1
    assert [parse_message(json.dumps(m)).payout_id for m in sent] == ["po_2"]
