"""The wizard as deployed: wiring.api_services over moto tables and the QuickBooks sandbox. The
connect callback opens the wizard; step 1 lists the realm's customers (classified, a duplicate of
booksync's customer found), the import creates and links them; step 2 links an existing item by
name and imports a new one with its QuickBooks income account; the summary counts them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.documents import Address, Customer, DocumentKind, Item
from booksync.providers.port import ItemRefs
from booksync.security.vault import KmsTokenVault
from booksync.settings import ApiSettings
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.wiring import accounting_provider, api_services

from local.sandboxes.quickbooks.config import ClientApp, SandboxConfig
from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from tests import builders
from tests.apigw import admin
from tests.integration.test_api import Lambda
from tests.lambda_env import connect_company, environment, idempotency_table

COMPANY = "acme"
CLIENT_ID, CLIENT_SECRET = "ABtestclient0001", "s3cr3t-for-tests"
REDIRECT = "https://api.example.com/oauth/quickbooks/callback"
W = "/integrations/quickbooks/wizard"


@pytest.fixture
def stack(tables: SimpleNamespace, kms_key: str, sqs_queue: str) -> Iterator[SimpleNamespace]:
    config = SandboxConfig(clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT])})
    with QuickBooksSandbox(config=config) as sandbox:
        env = environment(
            tables,
            queue_url=sqs_queue,
            key_id=kms_key,
            qbo_url=sandbox.url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            idempotency_table=idempotency_table(),
        )
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            settings = ApiSettings.from_env(env)
            services = api_services(settings)
            with SandboxControl(sandbox.url) as control:
                connect_company(services, control, COMPANY)
                connections = ConnectionRepository()
                connection = connections.get(COMPANY, "quickbooks")
                assert connection is not None
                books = accounting_provider(connection, settings, connections, KmsTokenVault(kms_key))
                yield SimpleNamespace(services=services, call=Lambda(services), books=books)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def test_the_wizard_walks_quickbooks_customers_and_items(stack: SimpleNamespace) -> None:
    books, call = stack.books, stack.call
    maple = Address(line1="14 Maple Street", city="Austin", region="TX", postal_code="78701")
    for n, customer in enumerate([
        Customer(id="x1", display_name="Summit Construction LLC", email="office@summitbuilds.com"),
        Customer(id="x2", display_name="Jane Doe", given_name="Jane", family_name="Doe",
                 email="jane.doe@gmail.com", billing_address=maple),
        Customer(id="x3", display_name="Ada Lovelace", email="ada@example.com"),
    ]):  # fmt: skip
        books.create_customer(customer, idempotency_key=f"seed-c-{n}")
    income = next(a.id for a in books.list_accounts() if a.classification == "Revenue")
    for n, name in enumerate(["Drain cleaning", "Water heater install"]):
        books.create_item(
            Item(id=f"y{n}", name=name, unit_price=Decimal("99.50"), sku=f"SKU-{n}"),
            ItemRefs(income_account_id=income),
            idempotency_key=f"seed-i-{n}",
        )
    stack.services.documents.put_customer(COMPANY, builders.customer())  # Ada Lovelace
    stack.services.documents.put_item(COMPANY, builders.item("i-1", name="Drain Cleaning"))

    status, state, _ = call("GET", W, claims=admin())
    assert status == 200 and state["steps"]["customers"]["status"] == "open"  # opened at connect
    page = call("GET", f"{W}/customers?page=1&page_size=50", claims=admin())[1]
    rows: dict[str, dict[str, Any]] = {r["name"]: r for r in page["customers"]}
    assert rows["Summit Construction LLC"]["suggested_type"] == "Builder"
    assert rows["Jane Doe"]["suggested_type"] == "Homeowner"
    assert rows["Ada Lovelace"]["status"] == "Already exists"
    chosen = [
        {"remote_id": r["remote_id"], "type": r["suggested_type"]}
        for r in page["customers"]
        if r["preselected"]
    ]
    result = call("POST", f"{W}/customers/import", {"customers": chosen}, claims=admin())[1]
    assert result["counts"]["added"] == len(chosen) >= 2 and result["counts"]["linked"] == 1

    items = {r["name"]: r for r in call("GET", f"{W}/items", claims=admin())[1]["items"]}
    assert items["Drain cleaning"]["existing_item_id"] == "i-1"
    heater = items["Water heater install"]
    assert heater["income_account"]["id"] == income and heater["sku"] == "SKU-1"
    body = {"items": [{"remote_id": heater["remote_id"]}]}
    result = call("POST", f"{W}/items/import", body, claims=admin())[1]
    assert result["counts"] == {"added": 1, "linked": 1, "already": 0, "failed": 0}
    doc = DocumentRepository().get(COMPANY, DocumentKind.ITEM, f"quickbooks-{heater['remote_id']}")
    assert doc is not None and doc.income_account("quickbooks") == income

    summary = call("GET", f"{W}/summary", claims=admin())[1]
    assert summary["customers_added"] == len(chosen) and summary["items_imported"] == 1
    assert summary["finished"] and summary["auto_sync_on"]
