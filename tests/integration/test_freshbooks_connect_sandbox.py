"""Connecting FreshBooks end to end through booksync's API (the real wiring, handlers imported
under the template's environment, moto server) against the FreshBooks sandbox:
- a user with one business: connected at once, its account_id claimed, its business id kept;
- a user with several businesses: the connection waits in choose_organisation (the businesses
  where the user is only a client are not offered); the choice (POST
  /integrations/freshbooks/organisation, the route Xero's uses) connects it; reconnecting with a
  consent that still reaches it keeps it without asking;
- disconnecting revokes the grant at FreshBooks (its refresh token refused from then on) and
  connecting again asks for the business again;
- refresh tokens never expire: FreshBooks is not among the providers the keep-alive refreshes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.documents import DocumentKind
from booksync.providers.registry import refreshed_by_keep_alive
from booksync.security.vault import KmsTokenVault, PlainTokens
from booksync.settings import ApiSettings, SchedulerSettings
from booksync.store.connections import ConnectionRepository, sealed_tokens, token_context
from booksync.store.notifications import NotificationRepository
from booksync.wiring import api_services

from local.sandboxes.freshbooks.server import FreshBooksSandbox
from local.sandboxes.freshbooks.testing import FreshBooksControl, redirect_params
from tests import builders
from tests.apigw import admin
from tests.integration.test_api import Lambda
from tests.lambda_env import (
    Context,
    environment,
    freshbooks_environment,
    handlers,
    idempotency_table,
    receive_sqs_event,
)

COMPANY = "acme"
CLIENT_ID, CLIENT_SECRET = "booksync-freshbooks-connect", "booksync-freshbooks-connect-secret"
REDIRECT = "https://api.example.com/oauth/freshbooks/callback"  # PUBLIC_API_BASE_URL's callback


@contextmanager
def freshbooks_stack(
    tables: SimpleNamespace,
    kms_key: str,
    sqs_queue: str,
    client_id: str = CLIENT_ID,
    secret: str = CLIENT_SECRET,
) -> Iterator[SimpleNamespace]:
    """booksync's API under the template's environment, its FreshBooks app pointing at a fresh
    FreshBooks sandbox (one business, "Sandbox Studio")."""
    with FreshBooksSandbox() as sandbox, FreshBooksControl(sandbox.url) as control:
        control.register_client(client_id, secret, [REDIRECT])
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
            **freshbooks_environment(sandbox.url, client_id, secret),
        }
        with handlers(env) as fns:
            settings = ApiSettings.from_env(env)
            services = api_services(settings)
            yield SimpleNamespace(
                fns=fns,
                services=services,
                settings=settings,
                call=Lambda(services),
                control=control,
                sandbox=sandbox,
                env=env,
                kms_key=kms_key,
                account=str(control.businesses()[0]["account_id"]),
                queue=sqs_queue,
            )


@pytest.fixture
def stack(tables: SimpleNamespace, kms_key: str, sqs_queue: str) -> Iterator[SimpleNamespace]:
    with freshbooks_stack(tables, kms_key, sqs_queue) as running:
        yield running


def consent(stack: SimpleNamespace, *, route: str = "connect", claims: dict[str, str] | None = None) -> Any:
    """An admin connects (or reconnects) through the API; the FreshBooks user allows; the
    callback (its redirect URI has no query: the state comes back in ``state``), then the app's
    confirmation: its answer."""
    claims = claims or admin()
    status, started, _ = stack.call("POST", f"/integrations/freshbooks/{route}", claims=claims)
    assert status == 200, started
    back = redirect_params(stack.control.consent_at(started["authorization_url"]))
    path = f"/oauth/freshbooks/callback?code={back['code']}&state={back['state']}"
    status, called_back, _ = stack.call("GET", path, route_key="GET /oauth/{provider}/callback")
    assert status == 200, called_back
    status, done, _ = stack.call(
        "POST", "/oauth/freshbooks/complete", {"consent": called_back["consent"]}, claims=claims
    )
    assert status == 200, done
    return done


def choose(stack: SimpleNamespace, account_id: str) -> Any:
    status, shown, _ = stack.call(
        "POST", "/integrations/freshbooks/organisation", {"organisation_id": account_id}, claims=admin()
    )
    assert status == 200, shown
    return shown


def stored_tokens(stack: SimpleNamespace) -> PlainTokens:
    """The tokens booksync keeps for the company's connection (sealed on its row)."""
    row = ConnectionRepository().get(COMPANY, "freshbooks")
    assert row is not None
    sealed = sealed_tokens(row)
    assert sealed is not None
    return KmsTokenVault(stack.kms_key).open(sealed, token_context(row))


def status(stack: SimpleNamespace) -> Any:
    return stack.call("GET", "/integrations/freshbooks", claims=admin())[1]


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


def invoices_in(stack: SimpleNamespace) -> list[str]:
    return sorted(str(i.get("invoice_number")) for i in stack.control.ledger(stack.account)["invoices"])


def notification_kinds(company: str = COMPANY) -> list[tuple[str, bool]]:
    return [(n.kind, n.resolved_at is not None) for n in NotificationRepository().for_company(company)]


def parked(stack: SimpleNamespace, *invoice_ids: str) -> bool:
    states = [
        stack.services.integrations.document_state(COMPANY, DocumentKind.INVOICE, i, "freshbooks")
        for i in invoice_ids
    ]
    return all(s["badge"] == "Blocked" and s["pending"] is True for s in states)


def test_a_user_with_one_business_is_connected_to_it_at_once(stack: SimpleNamespace) -> None:
    [studio] = stack.control.businesses()
    done = consent(stack)
    assert (done["status"], done["account_id"]) == ("connected", studio["account_id"])
    shown = status(stack)
    assert shown["status_label"] == "Connected"
    assert shown["account_ids"] == {"account": studio["account_id"], "business": str(studio["business_id"])}


def test_several_businesses_wait_for_a_choice_and_reconnecting_keeps_it(stack: SimpleNamespace) -> None:
    [studio] = stack.control.businesses()
    rentals = stack.control.add_business("Acme Rentals")
    stack.control.add_business("The Landlord", role="client")  # the user is only its client
    waiting = consent(stack)
    assert waiting["status"] == "choose_organisation"
    assert waiting["organisations"] == [
        {"id": studio["account_id"], "name": "Sandbox Studio"},
        {"id": rentals["account_id"], "name": "Acme Rentals"},
    ]
    assert status(stack)["status_label"] != "Connected"
    shown = choose(stack, rentals["account_id"])
    assert (shown["status_label"], shown["account_id"]) == ("Connected", rentals["account_id"])
    assert shown["account_ids"] == {"account": rentals["account_id"], "business": str(rentals["business_id"])}
    # Reconnected (Settings > Reconnect), the consent reaching both again: nothing is asked.
    again = consent(stack, route="reconnect")
    assert (again["status"], again["account_id"]) == ("connected", rentals["account_id"])
    assert status(stack)["account_ids"] == shown["account_ids"]


def test_disconnect_revokes_the_grant_at_freshbooks_and_a_new_connection_chooses_again(
    stack: SimpleNamespace,
) -> None:
    stack.control.add_business("Acme Rentals")
    consent(stack)
    [studio, _] = stack.control.businesses()
    choose(stack, studio["account_id"])
    held = stored_tokens(stack)
    stack.control.clear_requests()
    code, done, _ = stack.call("POST", "/integrations/freshbooks/disconnect", claims=admin())
    assert code == 200 and done["revoked"] is True and done["status_label"] == "Not Connected"
    calls = [(r["method"], r["path"], r["status"]) for r in stack.control.requests()]
    # The grant revoked once, last (the webhook callbacks, where registered, go before it).
    assert [c for c in calls if c[1].startswith("/auth/")] == [("POST", "/auth/oauth/revoke", 200)]
    assert calls[-1] == ("POST", "/auth/oauth/revoke", 200)
    row = ConnectionRepository().get(COMPANY, "freshbooks")
    assert row is not None and row.token_ciphertext is None and row.has_refresh_token is False
    # Revoked at FreshBooks: the tokens booksync held are refused there from now on.
    refresh = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "refresh_token"}
    refused = stack.control.token({**refresh, "refresh_token": str(held.refresh_token)})
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    assert stack.control.me(held.access_token).status_code == 401
    assert consent(stack)["status"] == "choose_organisation"  # the business is chosen again


def test_freshbooks_connections_are_not_kept_alive(stack: SimpleNamespace) -> None:
    """FreshBooks' refresh tokens never expire: an idle connection is not refreshed for nothing."""
    settings = SchedulerSettings.from_env(stack.env)
    assert "freshbooks" not in refreshed_by_keep_alive(settings)
    consent(stack)
    row = ConnectionRepository().get(COMPANY, "freshbooks")
    assert row is not None and row.refresh_expires_at is None


def test_account_mapping_says_freshbooks_items_carry_no_income_account(stack: SimpleNamespace) -> None:
    """The mapping screen does not pretend: FreshBooks' declaration claims no income account per
    item, so the mapping (and choosing one for an item) is refused saying so, with nothing to do."""
    consent(stack)
    code, answer, _ = stack.call("GET", "/integrations/freshbooks/account-mapping", claims=admin())
    assert code == 422, answer
    assert answer["detail"].startswith("An income account per item is not supported by FreshBooks"), answer
    assert "booksync sends items to FreshBooks without an account" in answer["fix"]
    code, refused, _ = stack.call(
        "PUT", "/integrations/freshbooks/account-mapping/items/i-1", {"account_id": "1"}, claims=admin()
    )
    assert code == 422 and "not supported by FreshBooks" in refused["detail"], refused


# ---------------------------------------------------------------- failures, parked work, resuming


def test_invalid_grant_needs_reconnection_once_then_reconnect_resumes_the_parked_work(
    stack: SimpleNamespace,
) -> None:
    consent(stack)
    run_queued(stack)  # the first connection's own work
    stack.control.disconnect()  # the user disconnects booksync in FreshBooks: the grant ends
    seed_invoices(stack, "inv-1", "inv-2")
    run_queued(stack)
    shown = status(stack)
    assert shown["status_label"] == "Needs Reconnection", shown
    assert "invalid_grant" in shown["needs_reconnection_reason"]
    assert notification_kinds() == [("freshbooks:needs_reconnection", False)]  # one, for every job
    assert parked(stack, "inv-1", "inv-2") and invoices_in(stack) == []
    # Reconnected: the notification resolved, the parked work queued at once and landed.
    again = consent(stack, route="reconnect")
    assert (again["status"], again["account_id"]) == ("connected", stack.account)
    assert notification_kinds() == [("freshbooks:needs_reconnection", True)]
    assert {"inv-1", "inv-2"} <= set(run_queued(stack))
    assert invoices_in(stack) == ["INV-1", "INV-2"]
    assert stack.fns.scheduler.handler({"task": "sweep"}, Context())["queued"] == 0


def test_freshbooks_refusing_the_business_is_connection_down_with_its_own_notification(
    stack: SimpleNamespace,
) -> None:
    consent(stack)
    run_queued(stack)
    # FreshBooks answers 401 to every accounting call, even with a freshly refreshed token.
    stack.control.add_fault("http_401", path="/accounting/account/")
    seed_invoices(stack, "inv-1", "inv-2")
    run_queued(stack)
    assert status(stack)["status_label"] == "Connection Down"
    assert notification_kinds() == [("freshbooks:connection_down", False)]
    assert parked(stack, "inv-1", "inv-2")
    stack.control.clear_faults()
    consent(stack, route="reconnect")
    assert status(stack)["status_label"] == "Connected"
    assert notification_kinds() == [("freshbooks:connection_down", True)]
    run_queued(stack)
    assert invoices_in(stack) == ["INV-1", "INV-2"]
