"""Connecting Wave end to end through booksync's API (the real wiring, handlers imported under the
template's environment, moto server) against the Wave sandbox, whose consent is for one business:
- a consent for a business connects it at once ({"business": id} kept); a reconnect keeps it;
- a business Wave refuses at its consent screen (no paid plan, or not USD/CAD) connects nothing
  and the card says why, in Wave's words, and what a business must be;
- disconnecting sends Wave nothing (it publishes no revocation: revoked false) and deletes the tokens;
- the user removing the app in Wave (invalid_grant) parks the work as Needs Reconnection, one
  notification for every failed job; a business whose paid plan lapsed (FORBIDDEN) is Connection
  Down with Wave's reason on the card, its own notification; reconnecting resolves them and the
  parked work lands;
- the scheduler's keep-alive refreshes a due Wave connection with one token call."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from booksync.documents import DocumentKind
from booksync.settings import ApiSettings
from booksync.store.connections import ConnectionRepository
from booksync.store.models import ConnectionModel
from booksync.store.notifications import NotificationRepository
from booksync.wiring import api_services

from local.sandboxes.wave.config import WaveConfig
from local.sandboxes.wave.server import WaveSandbox
from local.sandboxes.wave.testing import WaveControl, redirect_params
from tests.apigw import admin
from tests.integration.test_api import Lambda
from tests.integration.test_xero_connect_sandbox import run_queued, seed_invoices
from tests.lambda_env import (
    Context,
    environment,
    handlers,
    idempotency_table,
    wave_environment,
)

COMPANY = "acme"
CLIENT_ID, CLIENT_SECRET = "booksync-wave-connect", "booksync-wave-connect-secret"
REDIRECT = "https://api.example.com/oauth/wave/callback"


@pytest.fixture
def stack(tables: SimpleNamespace, kms_key: str, sqs_queue: str) -> Iterator[SimpleNamespace]:
    # Wave's two calls in flight are not what these tests are about (its own tests hold them).
    with WaveSandbox(config=WaveConfig(concurrent_limit=100)) as sandbox, WaveControl(sandbox.url) as control:
        control.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT])
        books = {"qbo_url": "http://127.0.0.1:9", "client_id": "no-qbo", "client_secret": "no-qbo-secret"}
        env = environment(
            tables, queue_url=sqs_queue, key_id=kms_key, idempotency_table=idempotency_table(), **books
        )
        env |= wave_environment(sandbox.url, CLIENT_ID, CLIENT_SECRET)
        with handlers(env) as fns:
            services = api_services(ApiSettings.from_env(env))
            yield SimpleNamespace(
                fns=fns,
                services=services,
                call=Lambda(services),
                control=control,
                queue=sqs_queue,
                maple=control.business_id("Maple Design Studio"),
            )


def consent(stack: SimpleNamespace, business: str, *, route: str = "connect") -> tuple[int, Any]:
    """An admin connects (or reconnects) through the API; as the Wave user they pick ``business``;
    the callback, then (when Wave granted it) the app's confirmation: its status and answer."""
    status, started, _ = stack.call("POST", f"/integrations/wave/{route}", claims=admin())
    assert status == 200, started
    back = redirect_params(stack.control.consent_at(started["authorization_url"], business))
    path = f"/oauth/wave/callback?{urlencode(back)}"
    status, called_back, _ = stack.call("GET", path, route_key="GET /oauth/{provider}/callback")
    if status != 200:
        return status, called_back
    status, done, _ = stack.call(
        "POST", "/oauth/wave/complete", {"consent": called_back["consent"]}, claims=admin()
    )
    return status, done


def card(stack: SimpleNamespace) -> Any:
    return stack.call("GET", "/integrations/wave", claims=admin())[1]


def invoices_in(stack: SimpleNamespace, business: str) -> list[str]:
    return sorted(str(i["invoiceNumber"]) for i in stack.control.ledger(business)["invoices"])


def notification_kinds() -> list[tuple[str, int, bool]]:
    return [
        (n.kind, int(n.occurrences), n.resolved_at is not None)
        for n in NotificationRepository().for_company(COMPANY)
    ]


def test_a_consent_for_one_business_connects_it_and_a_reconnect_keeps_it(stack: SimpleNamespace) -> None:
    status, done = consent(stack, stack.maple)
    assert status == 200 and (done["status"], done["account_id"]) == ("connected", stack.maple)
    shown = card(stack)
    assert (shown["status_label"], shown["account_ids"]) == ("Connected", {"business": stack.maple})
    assert shown["payment_account"]["required"]  # Wave names no default account for payments
    status, again = consent(stack, stack.maple, route="reconnect")
    assert status == 200 and (again["status"], again["account_id"]) == ("connected", stack.maple)


@pytest.mark.parametrize(
    ("business", "said"),
    [
        ("Side Project (Starter)", "business_plan_required"),
        ("Paris Atelier", "business_currency_unsupported"),
    ],
)
def test_a_business_wave_refuses_is_said_on_the_card_with_what_to_do(
    stack: SimpleNamespace, business: str, said: str
) -> None:
    status, problem = consent(stack, stack.control.business_id(business))
    assert status == 422 and said in problem["detail"]
    shown = card(stack)
    assert (shown["status_label"], shown["actions"]) == ("Not Connected", ["connect"])
    reason = shown["needs_reconnection_reason"]
    assert reason.startswith(f"Wave did not grant access (access_denied: {said}: ")
    assert "Wave Pro or Wave Advisors" in reason and "USD or CAD" in reason
    assert ConnectionRepository().account_owner("wave", stack.control.business_id(business)) is None
    # A business Wave lets an app connect then connects, and the reason is gone.
    assert consent(stack, stack.maple)[1]["status"] == "connected"
    assert card(stack)["needs_reconnection_reason"] is None


def test_disconnect_sends_wave_nothing_and_deletes_the_tokens(stack: SimpleNamespace) -> None:
    consent(stack, stack.maple)
    stack.control.clear_requests()
    status, done, _ = stack.call("POST", "/integrations/wave/disconnect", claims=admin())
    assert status == 200 and done["revoked"] is False and done["status_label"] == "Not Connected"
    assert stack.control.requests() == []  # Wave publishes no revocation
    row = ConnectionRepository().get(COMPANY, "wave")
    assert row is not None and row.token_ciphertext is None and row.has_refresh_token is False
    assert ConnectionRepository().account_owner("wave", stack.maple) is None


def test_invalid_grant_needs_reconnection_once_then_reconnect_resumes_the_parked_work(
    stack: SimpleNamespace,
) -> None:
    consent(stack, stack.maple)
    run_queued(stack)
    stack.control.disconnect(stack.maple)  # the user removes booksync in Wave
    seed_invoices(stack, "inv-1", "inv-2")
    run_queued(stack)
    shown = card(stack)
    assert (
        shown["status_label"] == "Needs Reconnection"
        and "invalid_grant" in shown["needs_reconnection_reason"]
    )
    [(kind, occurrences, resolved)] = notification_kinds()
    assert (kind, resolved) == ("wave:needs_reconnection", False) and occurrences >= 2  # one, for every job
    for invoice_id in ("inv-1", "inv-2"):
        state = stack.services.integrations.document_state(COMPANY, DocumentKind.INVOICE, invoice_id, "wave")
        assert state["badge"] == "Blocked" and state["pending"] is True
    assert invoices_in(stack, stack.maple) == []
    status, again = consent(stack, stack.maple, route="reconnect")
    assert status == 200 and (again["status"], again["account_id"]) == ("connected", stack.maple)
    assert [k[2] for k in notification_kinds()] == [True]
    assert {"inv-1", "inv-2"} <= set(run_queued(stack))
    assert len(invoices_in(stack, stack.maple)) == 2
    assert stack.fns.scheduler.handler({"task": "sweep"}, Context())["queued"] == 0


def test_a_business_whose_paid_plan_lapsed_is_connection_down_with_wave_s_reason(
    stack: SimpleNamespace,
) -> None:
    consent(stack, stack.maple)
    run_queued(stack)
    stack.control.set_plan(stack.maple, "starter")
    seed_invoices(stack, "inv-1")
    run_queued(stack)
    shown = card(stack)
    reason = shown["needs_reconnection_reason"]
    assert shown["status_label"] == "Connection Down" and "Wave Pro" in reason
    assert "renew it in Wave; then reconnect Wave" in reason  # what to do, on the card
    [(kind, _occurrences, resolved)] = notification_kinds()
    assert (kind, resolved) == ("wave:connection_down", False)
    stack.control.set_plan(stack.maple, "pro")  # renewed in Wave, then reconnected
    assert consent(stack, stack.maple, route="reconnect")[1]["status"] == "connected"
    assert [k[2] for k in notification_kinds()] == [True]
    run_queued(stack)
    assert len(invoices_in(stack, stack.maple)) == 1


@pytest.mark.parametrize("refresh_mode", ["rotate", "omit"])
def test_the_schedulers_keepalive_refreshes_a_due_wave_connection_once_a_day(
    stack: SimpleNamespace, refresh_mode: str
) -> None:
    """Whether Wave rotates the refresh token or answers without one (the one held kept), each
    day's keep-alive refreshes with one token call and the connection stays connected."""
    consent(stack, stack.maple)
    run_queued(stack)
    stack.control.call("POST", "/config", {"refresh_mode": refresh_mode})
    keepalive = {"task": "keepalive"}
    assert stack.fns.scheduler.handler(keepalive, Context())["refreshed"] == 0, "nothing due yet"
    for _day in range(2):
        ConnectionModel.get(COMPANY, "wave").update(actions=[ConnectionModel.refresh_due_at.set(1)])
        before = stack.control.call("GET", "/tokens")["token_calls"]
        result = stack.fns.scheduler.handler(keepalive, Context())
        assert (result["refreshed"], result["failed"]) == (1, 0)
        assert stack.control.call("GET", "/tokens")["token_calls"] - before == 1
    assert card(stack)["status_label"] == "Connected"
    seed_invoices(stack, "inv-1")  # the refreshed tokens serve the next sync
    run_queued(stack)
    assert len(invoices_in(stack, stack.maple)) == 1
