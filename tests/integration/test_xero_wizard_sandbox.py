"""The post-connection wizard for Xero as deployed: wiring.api_services over moto tables and the
Xero sandbox. Xero is connected through its consent (the callback opens the wizard); step 1 lists
the organisation's contacts page by page through Xero's ``page``/``pageSize`` (classified, a
duplicate of booksync's customer found) and imports them linked; step 2 links an existing item by
name and imports a new one with its sales account, which Xero names by code, as the chart's id;
the summary counts them. Account mapping takes only an account payments can go into."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from booksync.documents import Address, Customer, DocumentKind, Item
from booksync.providers.port import ItemRefs
from booksync.providers.registry import declaration
from booksync.security.vault import KmsTokenVault
from booksync.settings import ApiSettings
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.wiring import accounting_provider, api_services, token_source

from local.sandboxes.kit.oauth import ClientApp
from local.sandboxes.xero.config import XeroConfig
from local.sandboxes.xero.server import XeroSandbox
from local.sandboxes.xero.testing import SCOPES, XeroControl, consent_form, redirect_params
from tests import builders
from tests.apigw import admin
from tests.directory_windows import check_windows
from tests.integration.test_api import Lambda
from tests.lambda_env import environment, idempotency_table

COMPANY = "acme"
CLIENT_ID, CLIENT_SECRET = "xero-wizard-app", "xero-wizard-secret"
REDIRECT = "https://api.example.com/oauth/xero/callback"  # PUBLIC_API_BASE_URL's callback
W = "/integrations/xero/wizard"


def xero_environment(url: str) -> dict[str, str]:
    return {
        "XERO_CLIENT_ID": CLIENT_ID,
        "XERO_CLIENT_SECRET": CLIENT_SECRET,
        "XERO_AUTH_URL": f"{url}/identity/connect/authorize",
        "XERO_TOKEN_URL": f"{url}/connect/token",
        "XERO_REVOKE_URL": f"{url}/connect/revocation",
        "XERO_CONNECTIONS_URL": f"{url}/connections",
        "XERO_API_BASE_URL": f"{url}/api.xro/2.0",
        "XERO_SCOPES": SCOPES,
    }


def connect_xero(services: Any, control: XeroControl) -> None:
    """The admin connects Xero: booksync's consent URL, the user allows one organisation at the
    sandbox's consent page, the callback, and the app's confirmation."""
    url = services.integrations.start_connect(company_id=COMPANY, user_id="u1", provider="xero")
    hidden, offered = consent_form(control.http.get(url).text)
    form = [*hidden.items(), ("tenant", offered[0][0]), ("decision", "allow")]
    answer = control.http.post(
        "/identity/connect/consent",
        content=urlencode(form).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    back = redirect_params(answer.headers["location"])
    consent = services.integrations.accept_callback(
        provider="xero", state=back["state"], code=back["code"], account_id=None
    )
    services.integrations.confirm_connect(company_id=COMPANY, user_id="u1", provider="xero", consent=consent)


@pytest.fixture
def stack(tables: SimpleNamespace, kms_key: str, sqs_queue: str) -> Iterator[SimpleNamespace]:
    config = XeroConfig(clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT])})
    sandbox = XeroSandbox(config=config, organisations=("Wizard Plumbing Ltd",)).start()
    env = {
        **environment(
            tables,
            queue_url=sqs_queue,
            key_id=kms_key,
            qbo_url="http://127.0.0.1:9",  # QuickBooks is not used here
            client_id="unused-qbo-client",
            client_secret="unused-qbo-secret",
            idempotency_table=idempotency_table(),
        ),
        **xero_environment(sandbox.url),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        settings = ApiSettings.from_env(env)
        services = api_services(settings)
        with XeroControl(sandbox.url) as control:
            connect_xero(services, control)
            connections = ConnectionRepository()
            connection = connections.get(COMPANY, "xero")
            assert connection is not None and connection.status == "connected"
            vault = KmsTokenVault(kms_key)
            books = accounting_provider(connection, settings, connections, vault)
            build = declaration("xero").builders.directory
            assert build is not None, "Xero declares the wizard's directory"
            directory = build(
                declaration("xero").read_settings(),
                str(connection.account_id),
                token_source(COMPANY, "xero", settings, connections, vault),
                None,
            )
            yield SimpleNamespace(
                services=services,
                call=Lambda(services),
                books=books,
                directory=directory,
                control=control,
                tenant=str(connection.account_id),
            )
    finally:
        sandbox.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def account_id(stack: SimpleNamespace, code: str) -> str:
    return str(
        next(a["AccountID"] for a in stack.control.ledger(stack.tenant)["accounts"] if a.get("Code") == code)
    )


def test_the_wizard_walks_xero_contacts_and_items(stack: SimpleNamespace) -> None:
    books, call = stack.books, stack.call
    maple = Address(line1="14 Maple Street", city="Austin", region="TX", postal_code="78701")
    for n, customer in enumerate([
        Customer(id="x1", display_name="Summit Construction LLC", email="office@summitbuilds.com"),
        Customer(id="x2", display_name="Jane Doe", given_name="Jane", family_name="Doe",
                 email="jane.doe@gmail.com", phone="512 555 0101", billing_address=maple),
        Customer(id="x3", display_name="Ada Lovelace", email="ada@example.com"),
    ]):  # fmt: skip
        books.create_customer(customer, idempotency_key=f"seed-c-{n}")
    sales = account_id(stack, "200")
    for n, name in enumerate(["Drain cleaning", "Water heater install"]):
        books.create_item(
            Item(id=f"y{n}", name=name, unit_price=Decimal("99.50"), sku=f"SKU-{n}"),
            ItemRefs(income_account_id=sales),
            idempotency_key=f"seed-i-{n}",
        )
    stack.services.documents.put_customer(COMPANY, builders.customer())  # Ada Lovelace
    stack.services.documents.put_item(COMPANY, builders.item("i-1", name="Drain Cleaning"))

    status, state, _ = call("GET", W, claims=admin())
    assert status == 200 and state["steps"]["customers"]["status"] == "open"  # opened at connect
    # Two a page: Xero's page 1 and 2 of pageSize 2, in name order.
    first = call("GET", f"{W}/customers?page=1&page_size=2", claims=admin())[1]
    second = call("GET", f"{W}/customers?page=2&page_size=2", claims=admin())[1]
    assert first["has_more"] and not second["has_more"]
    assert [r["name"] for r in first["customers"] + second["customers"]] == [
        "Ada Lovelace", "Jane Doe", "Summit Construction LLC",
    ]  # fmt: skip
    rows: dict[str, dict[str, Any]] = {r["name"]: r for r in first["customers"] + second["customers"]}
    assert rows["Summit Construction LLC"]["suggested_type"] == "Builder"
    assert rows["Jane Doe"]["suggested_type"] == "Homeowner"
    assert rows["Ada Lovelace"]["status"] == "Already exists"
    chosen = [
        {"remote_id": r["remote_id"], "type": r["suggested_type"]} for r in rows.values() if r["preselected"]
    ]
    result = call("POST", f"{W}/customers/import", {"customers": chosen}, claims=admin())[1]
    assert result["counts"]["added"] == len(chosen) == 2 and result["counts"]["linked"] == 1
    jane = DocumentRepository().get(COMPANY, DocumentKind.CUSTOMER, f"xero-{rows['Jane Doe']['remote_id']}")
    assert jane is not None and jane.body["billing_address"]["postal_code"] == "78701"
    assert jane.body["phone"] == "512 555 0101" and jane.body["email"] == "jane.doe@gmail.com"
    assert jane.link("xero") is not None and jane.link("xero").remote_id == rows["Jane Doe"]["remote_id"]

    items = {r["name"]: r for r in call("GET", f"{W}/items", claims=admin())[1]["items"]}
    assert items["Drain cleaning"]["existing_item_id"] == "i-1"
    heater = items["Water heater install"]
    # Xero names the item's sales account by its code (200): the wizard shows the chart's id.
    assert heater["income_account"] == {"id": sales, "name": "Sales"} and heater["sku"] == "SKU-1"
    body = {"items": [{"remote_id": heater["remote_id"]}]}
    result = call("POST", f"{W}/items/import", body, claims=admin())[1]
    assert result["counts"] == {"added": 1, "linked": 1, "already": 0, "failed": 0}
    doc = DocumentRepository().get(COMPANY, DocumentKind.ITEM, f"xero-{heater['remote_id']}")
    assert doc is not None and doc.income_account("xero") == sales

    summary = call("GET", f"{W}/summary", claims=admin())[1]
    assert summary["customers_added"] == 2 and summary["items_imported"] == 1
    assert summary["finished"] and summary["auto_sync_on"]
    ledger = stack.control.ledger(stack.tenant)
    assert (len(ledger["contacts"]), len(ledger["items"])) == (3, 2), "the wizard writes nothing to Xero"


def test_the_directory_reads_any_start_and_size_from_xeros_pages(stack: SimpleNamespace) -> None:
    """The core's 1-based start and page size, whether or not they fall on Xero's pages."""
    names = [f"Contact {n:02}" for n in range(7)]
    for n, name in enumerate(names):
        stack.books.create_customer(Customer(id=f"c{n}", display_name=name), idempotency_key=f"c-{n}")
    check_windows(stack.directory, names)


def test_the_payment_account_must_be_one_xero_takes_payments_into(stack: SimpleNamespace) -> None:
    call = stack.call
    card = call("GET", "/integrations/xero", claims=admin())[1]
    assert card["payment_account"]["required"] and card["payment_account"]["waiting_for"]
    able = call("GET", "/integrations/xero/accounts?type=payments", claims=admin())[1]
    assert sorted(a["name"] for a in able) == [
        "Business Bank Account", "Business Savings Account", "Clearing Account",
    ]  # fmt: skip
    income = call("GET", "/integrations/xero/accounts?type=income", claims=admin())[1]
    assert {(a["name"], a["code"]) for a in income} == {("Sales", "200"), ("Other Revenue", "260")}
    route = "/integrations/xero/account-mapping/payment-account"
    status, problem, _ = call("PUT", route, {"account_id": account_id(stack, "200")}, claims=admin())
    assert status == 422 and "Xero account 'Sales' is a REVENUE account" in problem["detail"]
    assert f"'Business Bank Account' ({account_id(stack, '090')})" in problem["fix"]
    clearing = account_id(stack, "855")  # no bank, but EnablePaymentsToAccount
    status, chosen, _ = call("PUT", route, {"account_id": clearing}, claims=admin())
    assert status == 200 and chosen["account_name"] == "Clearing Account" and chosen["waiting_for"] is None
    assert call("GET", "/integrations/xero", claims=admin())[1]["payment_account"]["account_id"] == clearing
