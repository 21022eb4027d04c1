"""Connecting Xero end to end through booksync's API (the real wiring, handlers imported under the
template's environment, moto server) against the Xero sandbox with two organisations:
- a consent for both waits for an admin's choice; the choice connects it, and every Accounting
  call of a sync carries that organisation's xero-tenant-id (its books only receive the invoice);
- reconnecting with a consent that still grants it keeps it, without asking;
- disconnecting deletes the tenant's connection at Xero (DELETE /connections/{id}) and revokes;
- a revoked grant (invalid_grant) parks the work as Needs Reconnection, one notification for
  every failed job; a tenant removed from the app (403 AuthenticationUnsuccessful) is Connection
  Down, its own notification; reconnecting resolves them and the parked work lands;
- the keep-alive refreshes idle Xero connections (60 days unused lapse them), on the sandbox's
  clock: a connection it does not reach lapses, one it reaches never does."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.documents import DocumentKind
from booksync.providers.registry import refreshed_by_keep_alive
from booksync.providers.xero.oauth import XeroOAuth
from booksync.security.tokens import ConnectionTokenSource
from booksync.security.vault import KmsTokenVault
from booksync.settings import ApiSettings, SchedulerSettings
from booksync.store.connections import ConnectionRepository
from booksync.store.models import ConnectionModel
from booksync.store.notifications import NotificationRepository
from booksync.sync.keepalive import KeepAlive
from booksync.wiring import api_services

from local.sandboxes.xero.config import XeroConfig
from local.sandboxes.xero.server import XeroSandbox
from local.sandboxes.xero.testing import XeroControl, redirect_params
from tests import builders
from tests.apigw import admin
from tests.integration.test_api import Lambda
from tests.lambda_env import (
    Context,
    environment,
    handlers,
    idempotency_table,
    receive_sqs_event,
    xero_environment,
)

COMPANY = "acme"
CLIENT_ID, CLIENT_SECRET = "booksync-xero-connect", "booksync-xero-connect-secret"
REDIRECT = "https://api.example.com/oauth/xero/callback"
DAY = 86_400


@pytest.fixture
def stack(tables: SimpleNamespace, kms_key: str, sqs_queue: str) -> Iterator[SimpleNamespace]:
    # Xero's per-minute limit is not what these tests are about (its own tests hold it).
    with XeroSandbox(config=XeroConfig(check_spec=True)) as sandbox, XeroControl(sandbox.url) as control:
        control.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT])
        env = {
            **environment(
                tables,
                queue_url=sqs_queue,
                key_id=kms_key,
                qbo_url="http://127.0.0.1:9",  # no QuickBooks here
                client_id="unused-quickbooks-app",
                client_secret="unused-quickbooks-secret",
                idempotency_table=idempotency_table(),
            ),
            **xero_environment(sandbox.url, CLIENT_ID, CLIENT_SECRET),
        }
        with handlers(env) as fns:
            services = api_services(ApiSettings.from_env(env))
            orgs = {o["name"]: o["tenant_id"] for o in control.organisations()}
            yield SimpleNamespace(
                fns=fns,
                services=services,
                call=Lambda(services),
                control=control,
                sandbox=sandbox,
                queue=sqs_queue,
                env=env,
                kms_key=kms_key,
                first=orgs["Demo Company (US)"],
                second=orgs["Second Company (US)"],
            )


def consent(stack: SimpleNamespace, tenants: list[str] | None = None, *, route: str = "connect") -> Any:
    """An admin connects (or reconnects) through the API; as the Xero user they tick ``tenants``
    (default: both); the callback, then the app's confirmation: its answer."""
    status, started, _ = stack.call("POST", f"/integrations/xero/{route}", claims=admin())
    assert status == 200, started
    params = redirect_params(started["authorization_url"])
    redirect = stack.control.consent(params.pop("client_id"), params.pop("redirect_uri"), tenants, **params)
    path = f"/oauth/xero/callback?code={redirect['code']}&state={redirect['state']}"
    status, called_back, _ = stack.call("GET", path, route_key="GET /oauth/{provider}/callback")
    assert status == 200, called_back
    status, done, _ = stack.call(
        "POST", "/oauth/xero/complete", {"consent": called_back["consent"]}, claims=admin()
    )
    assert status == 200, done
    return done


def choose(stack: SimpleNamespace, tenant: str) -> Any:
    status, shown, _ = stack.call(
        "POST", "/integrations/xero/organisation", {"organisation_id": tenant}, claims=admin()
    )
    assert status == 200, shown
    return shown


def connected_to_first(stack: SimpleNamespace) -> Any:
    waiting = consent(stack)
    assert waiting["status"] == "choose_organisation"
    return choose(stack, stack.first)


def status(stack: SimpleNamespace) -> Any:
    return stack.call("GET", "/integrations/xero", claims=admin())[1]


def seed_invoices(stack: SimpleNamespace, *invoice_ids: str) -> None:
    docs = stack.services.documents
    docs.put_customer(COMPANY, builders.customer())
    docs.put_item(COMPANY, builders.item("i-1"))
    docs.put_item(COMPANY, builders.item("i-2", name="Trip charge", price="80.00"))
    for invoice_id in invoice_ids:
        docs.put_invoice(COMPANY, builders.invoice(invoice_id))


def run_queued(stack: SimpleNamespace) -> list[str]:
    """Deliver what the queue holds to the sync function; the documents its jobs named."""
    named: list[str] = []
    while (event := receive_sqs_event(stack.queue))["Records"]:
        named += [json.loads(r["body"]).get("invoice_id") for r in event["Records"]]
        assert stack.fns.sync_invoice.handler(event, Context()) == {"batchItemFailures": []}
    return named


def invoices_in(stack: SimpleNamespace, tenant: str) -> list[str]:
    return sorted(str(i.get("InvoiceNumber")) for i in stack.control.ledger(tenant)["invoices"])


def accounting_tenants(stack: SimpleNamespace) -> set[str | None]:
    return {r["tenant_id"] for r in stack.control.requests() if r["path"].startswith("/api.xro/")}


def notification_kinds(company: str = COMPANY) -> list[tuple[str, int, bool]]:
    return [
        (n.kind, int(n.occurrences), n.resolved_at is not None)
        for n in NotificationRepository().for_company(company)
    ]


# ---------------------------------------------------------------- choose, reconnect, disconnect


def test_two_organisations_one_chosen_every_accounting_call_carries_it_and_reconnect_keeps_it(
    stack: SimpleNamespace,
) -> None:
    waiting = consent(stack)
    assert waiting["status"] == "choose_organisation"
    assert {o["id"] for o in waiting["organisations"]} == {stack.first, stack.second}
    shown = choose(stack, stack.second)
    assert (shown["status_label"], shown["account_id"]) == ("Connected", stack.second)
    assert shown["account_ids"]["tenant"] == stack.second and shown["account_ids"]["connection"]
    seed_invoices(stack, "inv-1")
    run_queued(stack)
    assert invoices_in(stack, stack.second) == ["INV-1"] and invoices_in(stack, stack.first) == []
    assert accounting_tenants(stack) == {stack.second}  # every Accounting call named the choice
    # Reconnected (Settings > Reconnect), the consent granting both again: nothing is asked.
    again = consent(stack, route="reconnect")
    assert (again["status"], again["account_id"]) == ("connected", stack.second)
    assert status(stack)["account_ids"] == shown["account_ids"]  # Xero keeps the connection's id
    # A later consent for the other organisation alone does not offer the kept one (authEventId).
    only_first = consent(stack, [stack.first], route="reconnect")
    assert (only_first["status"], only_first["account_id"]) == ("connected", stack.first)


def test_disconnect_deletes_the_tenants_connection_at_xero_then_revokes(stack: SimpleNamespace) -> None:
    shown = connected_to_first(stack)
    connection = shown["account_ids"]["connection"]
    stack.control.clear_requests()
    status_code, done, _ = stack.call("POST", "/integrations/xero/disconnect", claims=admin())
    assert status_code == 200 and done["revoked"] is True and done["status_label"] == "Not Connected"
    calls = [(r["method"], r["path"], r["status"]) for r in stack.control.requests()]
    assert calls == [("DELETE", f"/connections/{connection}", 204), ("POST", "/connect/revocation", 200)]
    row = ConnectionRepository().get(COMPANY, "xero")
    assert row is not None and row.token_ciphertext is None and row.has_refresh_token is False
    assert stack.services.integrations.describe(COMPANY, "xero")["actions"] == ["connect"]
    # Connecting again asks for the organisation again (a disconnect forgets nothing but tokens).
    assert consent(stack)["status"] == "choose_organisation"


def test_disconnecting_a_connection_whose_grant_xero_dropped_revokes_nothing_and_disconnects(
    stack: SimpleNamespace,
) -> None:
    connected_to_first(stack)
    run_queued(stack)
    for tenant in (stack.first, stack.second):  # the user revoked booksync's access in Xero
        stack.control.call("POST", f"/organisations/{tenant}/disconnect")
    seed_invoices(stack, "inv-1")
    run_queued(stack)  # invalid_grant: Needs Reconnection, the refresh token forgotten
    assert status(stack)["status_label"] == "Needs Reconnection"
    stack.control.clear_requests()
    code, done, _ = stack.call("POST", "/integrations/xero/disconnect", claims=admin())
    assert code == 200 and done["status_label"] == "Not Connected"
    # The tenant's connection is asked for (Xero answers 401: the grant is gone); no refresh token,
    # so nothing to revoke.
    assert [(r["method"], r["status"]) for r in stack.control.requests()] == [("DELETE", 401)]


# ---------------------------------------------------------------- failures, parked work, resuming


def test_invalid_grant_needs_reconnection_once_then_reconnect_resumes_the_parked_work(
    stack: SimpleNamespace,
) -> None:
    connected_to_first(stack)
    run_queued(stack)  # the first connection's own work
    # The user revokes booksync's access in Xero (every organisation of the grant disconnected).
    stack.control.call("POST", f"/organisations/{stack.first}/disconnect")
    stack.control.call("POST", f"/organisations/{stack.second}/disconnect")
    seed_invoices(stack, "inv-1", "inv-2")
    run_queued(stack)
    shown = status(stack)
    assert (
        shown["status_label"] == "Needs Reconnection"
        and "invalid_grant" in shown["needs_reconnection_reason"]
    )
    assert notification_kinds() == [("xero:needs_reconnection", 3, False)]  # one: the three jobs (c-1 too)
    for invoice_id in ("inv-1", "inv-2"):
        state = stack.services.integrations.document_state(COMPANY, DocumentKind.INVOICE, invoice_id, "xero")
        assert state["badge"] == "Blocked" and state["pending"] is True
    assert invoices_in(stack, stack.first) == []
    # Reconnected: the choice is kept, the notification resolved, the parked work queued at once.
    again = consent(stack, route="reconnect")
    assert (again["status"], again["account_id"]) == ("connected", stack.first)
    assert notification_kinds() == [("xero:needs_reconnection", 3, True)]
    assert {"inv-1", "inv-2"} <= set(run_queued(stack))
    assert invoices_in(stack, stack.first) == ["INV-1", "INV-2"]
    assert stack.fns.scheduler.handler({"task": "sweep"}, Context())["queued"] == 0


def test_a_tenant_removed_from_the_app_is_connection_down_with_its_own_notification(
    stack: SimpleNamespace,
) -> None:
    connected_to_first(stack)
    run_queued(stack)
    # The chosen organisation's user removes the app from it; the grant lives on (the other one).
    stack.control.call("POST", f"/organisations/{stack.first}/disconnect")
    seed_invoices(stack, "inv-1", "inv-2")
    run_queued(stack)
    refused = [r for r in stack.control.requests(stack.first) if r["status"] == 403]
    assert refused, "Xero answered 403 AuthenticationUnsuccessful for the chosen tenant"
    assert status(stack)["status_label"] == "Connection Down"
    assert notification_kinds() == [("xero:connection_down", 3, False)]
    consent(stack, route="reconnect")  # the consent grants both again: the choice is kept
    assert status(stack)["status_label"] == "Connected"
    assert notification_kinds() == [("xero:connection_down", 3, True)]
    run_queued(stack)
    assert invoices_in(stack, stack.first) == ["INV-1", "INV-2"]


def test_a_reconnect_between_a_403_and_its_mark_leaves_the_new_connection_connected(
    stack: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    connected_to_first(stack)
    run_queued(stack)
    stack.control.call("POST", f"/organisations/{stack.first}/disconnect")
    # The job's call gets Xero's 403; before the job marks the connection down, an admin reconnects.
    mark_down = ConnectionRepository.mark_down
    marks: list[bool] = []

    def reconnected_first(repo: ConnectionRepository, used: ConnectionModel, *, message: str) -> bool:
        if not marks:
            consent(stack, route="reconnect")
        marks.append(mark_down(repo, used, message=message))
        return marks[-1]

    monkeypatch.setattr(ConnectionRepository, "mark_down", reconnected_first)
    seed_invoices(stack, "inv-1")
    event = receive_sqs_event(stack.queue)
    failed = stack.fns.sync_invoice.handler(event, Context())["batchItemFailures"]
    assert marks == [False]  # the mark was a no-op: the row is another connection now
    assert [f["itemIdentifier"] for f in failed] == [event["Records"][0]["messageId"]]  # retried
    assert status(stack)["status_label"] == "Connected"
    assert [k for k in notification_kinds() if k[0] == "xero:connection_down"] == []
    # The retried work lands with the new connection (the sweep re-queues what is pending).
    stack.fns.scheduler.handler({"task": "sweep"}, Context())
    run_queued(stack)
    assert invoices_in(stack, stack.first) == ["INV-1"]


# ---------------------------------------------------------------- keep-alive on the sandbox's clock


def test_the_keepalive_refreshes_idle_xero_connections_before_their_sixty_days_lapse(
    stack: SimpleNamespace,
) -> None:
    settings = SchedulerSettings.from_env(stack.env)
    assert "xero" in refreshed_by_keep_alive(settings)  # its declaration: refresh tokens lapse
    connected_to_first(stack)
    repo, vault, skew = ConnectionRepository(), KmsTokenVault(stack.kms_key), [0.0]

    def now() -> float:  # booksync's clock, moved with the sandbox's
        return time.time() + skew[0]

    def source(row: ConnectionModel) -> ConnectionTokenSource:
        oauth = XeroOAuth.from_settings(settings.provider_settings("xero"))
        return ConnectionTokenSource(
            company_id=row.company_id,
            provider=row.provider,
            repository=repo,
            cipher=vault,
            oauth=oauth,
            clock=now,
        )

    keep_alive = KeepAlive(
        connections=repo,
        notifications=NotificationRepository(),
        refresher_for=source,
        providers=refreshed_by_keep_alive(settings),
        clock=now,
    )
    # A company the keep-alive never reaches: its connection is not due (a control).
    control_row = _second_company(stack)
    control_row.update(actions=[ConnectionModel.refresh_due_at.set(now() + 10 * 365 * DAY)])
    for _ in range(3):  # 177 days in all, each step under Xero's 60 days of disuse
        stack.control.advance(59 * DAY)
        skew[0] += 59 * DAY
        report = keep_alive.run()
        assert (report.refreshed, report.failed, report.errors) == (1, 0, [])
    row = repo.get(COMPANY, "xero")
    assert (
        row is not None
        and row.status == "connected"
        and float(row.refresh_due_at) == pytest.approx(now() + DAY, abs=60)
    )
    org = stack.control.call("GET", f"/organisations/{stack.first}/ledger")  # still reachable
    assert "invoices" in org
    assert source(row).access_token()
    # Unused for 177 days, the other company's refresh token lapsed at Xero.
    assert _refresh_refused(source(control_row))


def _second_company(stack: SimpleNamespace) -> ConnectionModel:
    """Another booksync company connected to the other organisation (its own consent)."""
    other = admin("beta", "beta-admin")
    _, started, _ = stack.call("POST", "/integrations/xero/connect", claims=other)
    params = redirect_params(started["authorization_url"])
    redirect = stack.control.consent(
        params.pop("client_id"), params.pop("redirect_uri"), [stack.second], **params
    )
    path = f"/oauth/xero/callback?code={redirect['code']}&state={redirect['state']}"
    _, called_back, _ = stack.call("GET", path, route_key="GET /oauth/{provider}/callback")
    _, done, _ = stack.call("POST", "/oauth/xero/complete", {"consent": called_back["consent"]}, claims=other)
    assert (done["status"], done["account_id"]) == ("connected", stack.second)
    row = ConnectionRepository().get("beta", "xero")
    assert row is not None
    return row


def _refresh_refused(source: ConnectionTokenSource) -> bool:
    from booksync.errors import NeedsReconnection

    try:
        source.keep_alive()
    except NeedsReconnection as exc:
        return "invalid_grant" in exc.message
    return False


def test_the_schedulers_keepalive_task_refreshes_a_due_xero_connection_once(stack: SimpleNamespace) -> None:
    connected_to_first(stack)
    run_queued(stack)
    keepalive = {"task": "keepalive"}
    assert stack.fns.scheduler.handler(keepalive, Context())["refreshed"] == 0, "nothing due yet"
    ConnectionModel.get(COMPANY, "xero").update(actions=[ConnectionModel.refresh_due_at.set(1)])  # a day on
    calls = stack.control.call("GET", "/tokens")["token_calls"]
    result = stack.fns.scheduler.handler(keepalive, Context())
    assert (result["refreshed"], result["failed"], result["warned"]) == (1, 0, 0)
    assert stack.control.call("GET", "/tokens")["token_calls"] - calls == 1
    assert stack.fns.scheduler.handler(keepalive, Context())["refreshed"] == 0, "next due in a day"
    # The rotated tokens serve the next sync.
    seed_invoices(stack, "inv-1")
    run_queued(stack)
    assert invoices_in(stack, stack.first) == ["INV-1"]
