"""The post-connection wizard for Wave as deployed: wiring.api_services over moto tables and the
Wave sandbox. Wave is connected through its consent (the callback opens the wizard); step 1 lists
the business's customers page by page through GraphQL ``customers(page, pageSize)`` (classified, a
duplicate of booksync's customer found) and imports them linked; step 2 links an existing item by
name and imports a new product with its income account, a product only bought left out; the
summary counts them; the wizard writes nothing to Wave. Account mapping: income accounts are the
business's accounts of the subtypes a product sells through (INCOME, DISCOUNTS, OTHER_INCOME), and
the payment account one of its Cash and Bank accounts."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.documents import DocumentKind
from booksync.onboarding.wizard import doc_id_for
from booksync.providers.registry import declaration
from booksync.security.vault import KmsTokenVault
from booksync.settings import ApiSettings
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.wiring import api_services, token_source

from local.sandboxes.wave.server import WaveSandbox
from local.sandboxes.wave.testing import WaveControl, redirect_params
from tests import builders
from tests.apigw import admin
from tests.directory_windows import check_windows
from tests.integration.test_api import Lambda
from tests.lambda_env import environment, idempotency_table, wave_environment

COMPANY = "acme"
CLIENT_ID, CLIENT_SECRET = "wave-wizard-app", "wave-wizard-secret"
REDIRECT = "https://api.example.com/oauth/wave/callback"  # PUBLIC_API_BASE_URL's callback
BUSINESS = "Maple Design Studio"
W = "/integrations/wave/wizard"
CUSTOMER_CREATE = """mutation($input: CustomerCreateInput!) {
  customerCreate(input: $input) { didSucceed inputErrors { code message path } customer { id } }
}"""
PRODUCT_CREATE = """mutation($input: ProductCreateInput!) {
  productCreate(input: $input) { didSucceed inputErrors { code message path } product { id } }
}"""


def connect_wave(services: Any, control: WaveControl, business: str) -> None:
    """The admin connects Wave: booksync's consent URL, the user allows ``business`` at the
    sandbox's consent page, the callback, and the app's confirmation."""
    url = services.integrations.start_connect(company_id=COMPANY, user_id="u1", provider="wave")
    back = redirect_params(control.consent_at(url, business))
    consent = services.integrations.accept_callback(
        provider="wave", state=back["state"], code=back["code"], account_id=None
    )
    services.integrations.confirm_connect(company_id=COMPANY, user_id="u1", provider="wave", consent=consent)


@pytest.fixture
def stack(
    tables: SimpleNamespace, kms_key: str, sqs_queue: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SimpleNamespace]:
    with WaveSandbox() as sandbox, WaveControl(sandbox.url) as control:
        books = {"qbo_url": "http://127.0.0.1:9", "client_id": "no-qbo", "client_secret": "no-qbo-secret"}
        env = environment(
            tables, queue_url=sqs_queue, key_id=kms_key, idempotency_table=idempotency_table(), **books
        )
        env |= wave_environment(sandbox.url, CLIENT_ID, CLIENT_SECRET)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        services = api_services(ApiSettings.from_env(env))
        control.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT])
        business = control.business_id(BUSINESS)
        connect_wave(services, control, business)
        build = declaration("wave").builders.directory
        assert build is not None, "Wave declares the wizard's directory"
        vault, connections = KmsTokenVault(kms_key), ConnectionRepository()
        tokens = token_source(COMPANY, "wave", ApiSettings.from_env(env), connections, vault)
        directory = build(declaration("wave").read_settings(), business, tokens, None)
        yield SimpleNamespace(
            services=services, call=Lambda(services), directory=directory, control=control, business=business
        )


def in_wave(stack: SimpleNamespace, document: str, **fields: Any) -> str:
    """As the user in Wave: create a record; its id."""
    answer = stack.control.in_wave(
        stack.business, document, {"input": {"businessId": stack.business, **fields}}
    )
    payload = next(iter(answer["data"].values()))
    assert payload["didSucceed"], payload["inputErrors"]
    return str(next(v for k, v in payload.items() if k not in ("didSucceed", "inputErrors"))["id"])


def account_id(stack: SimpleNamespace, name: str) -> str:
    return str(next(a["id"] for a in stack.control.ledger(stack.business)["accounts"] if a["name"] == name))


def test_the_wizard_walks_wave_customers_and_products(stack: SimpleNamespace) -> None:
    call = stack.call
    in_wave(stack, CUSTOMER_CREATE, name="Summit Construction LLC", email="office@summitbuilds.com")
    in_wave(
        stack,
        CUSTOMER_CREATE,
        name="Jane Doe",
        firstName="Jane",
        lastName="Doe",
        email="jane.doe@gmail.com",
        phone="512 555 0101",
        address={"addressLine1": "14 Maple Street", "city": "Austin", "postalCode": "78701"},
    )
    in_wave(stack, CUSTOMER_CREATE, name="Ada Lovelace", email="ada@example.com")
    sales = account_id(stack, "Sales")
    in_wave(stack, PRODUCT_CREATE, name="Drain cleaning", unitPrice="99.50", incomeAccountId=sales)
    in_wave(stack, PRODUCT_CREATE, name="Water heater install", unitPrice="1200.00", incomeAccountId=sales)
    supplies = account_id(stack, "Office Supplies")
    in_wave(stack, PRODUCT_CREATE, name="Copper pipe (bought)", unitPrice="4.25", expenseAccountId=supplies)
    stack.services.documents.put_customer(COMPANY, builders.customer())  # Ada Lovelace
    stack.services.documents.put_item(COMPANY, builders.item("i-1", name="Drain Cleaning"))

    status, state, _ = call("GET", W, claims=admin())
    assert status == 200 and state["steps"]["customers"]["status"] == "open"  # opened at connect
    # Two a page: Wave's page 1 and 2 of pageSize 2, in name order.
    first = call("GET", f"{W}/customers?page=1&page_size=2", claims=admin())[1]
    second = call("GET", f"{W}/customers?page=2&page_size=2", claims=admin())[1]
    assert first["has_more"] and not second["has_more"]
    assert [r["name"] for r in first["customers"] + second["customers"]] == [
        "Ada Lovelace",
        "Jane Doe",
        "Summit Construction LLC",
    ]
    rows: dict[str, dict[str, Any]] = {r["name"]: r for r in first["customers"] + second["customers"]}
    assert rows["Summit Construction LLC"]["suggested_type"] == "Builder"
    assert rows["Jane Doe"]["suggested_type"] == "Homeowner"
    assert rows["Ada Lovelace"]["status"] == "Already exists"
    chosen = [
        {"remote_id": r["remote_id"], "type": r["suggested_type"]} for r in rows.values() if r["preselected"]
    ]
    result = call("POST", f"{W}/customers/import", {"customers": chosen}, claims=admin())[1]
    assert result["counts"]["added"] == len(chosen) == 2 and result["counts"]["linked"] == 1
    jane = DocumentRepository().get(
        COMPANY, DocumentKind.CUSTOMER, doc_id_for("wave", rows["Jane Doe"]["remote_id"])
    )
    assert jane is not None and jane.body["billing_address"]["postal_code"] == "78701"
    assert jane.body["phone"] == "512 555 0101" and jane.body["email"] == "jane.doe@gmail.com"
    link = jane.link("wave")
    assert link is not None and link.remote_id == rows["Jane Doe"]["remote_id"]

    items = {r["name"]: r for r in call("GET", f"{W}/items", claims=admin())[1]["items"]}
    assert "Copper pipe (bought)" not in items  # bought only: no item of an invoice
    assert items["Drain cleaning"]["existing_item_id"] == "i-1"
    heater = items["Water heater install"]
    assert heater["income_account"] == {"id": sales, "name": "Sales"}
    result = call(
        "POST", f"{W}/items/import", {"items": [{"remote_id": heater["remote_id"]}]}, claims=admin()
    )[1]
    assert result["counts"] == {"added": 1, "linked": 1, "already": 0, "failed": 0}
    doc = DocumentRepository().get(COMPANY, DocumentKind.ITEM, doc_id_for("wave", heater["remote_id"]))
    assert doc is not None and doc.income_account("wave") == sales

    summary = call("GET", f"{W}/summary", claims=admin())[1]
    assert summary["customers_added"] == 2 and summary["items_imported"] == 1
    assert summary["finished"] and summary["auto_sync_on"]
    ledger = stack.control.ledger(stack.business)
    assert (len(ledger["customers"]), len(ledger["products"])) == (3, 3), "the wizard writes nothing to Wave"


def test_the_directory_reads_any_start_and_size_from_waves_pages(stack: SimpleNamespace) -> None:
    """The core's 1-based start and page size, whether or not they fall on Wave's pages."""
    names = [f"Customer {n:02}" for n in range(7)]
    for name in names:
        in_wave(stack, CUSTOMER_CREATE, name=name)
    check_windows(stack.directory, names)


def test_income_accounts_are_those_a_product_sells_through_and_payments_go_to_cash_and_bank(
    stack: SimpleNamespace,
) -> None:
    call = stack.call
    card = call("GET", "/integrations/wave", claims=admin())[1]
    assert card["payment_account"]["required"] and card["payment_account"]["waiting_for"]
    income = call("GET", "/integrations/wave/accounts?type=income", claims=admin())[1]
    # Not Uncategorized Income: Wave's own, which no product may sell through.
    assert sorted(a["name"] for a in income) == ["Consulting Income", "Discounts", "Sales"]
    able = call("GET", "/integrations/wave/accounts?type=payments", claims=admin())[1]
    assert sorted(a["name"] for a in able) == ["Business Checking", "Cash on Hand"]
    route = "/integrations/wave/account-mapping/payment-account"
    status, problem, _ = call("PUT", route, {"account_id": account_id(stack, "Sales")}, claims=admin())
    assert status == 422 and "Business Checking" in problem["fix"]
    checking = account_id(stack, "Business Checking")
    status, chosen, _ = call("PUT", route, {"account_id": checking}, claims=admin())
    assert status == 200 and chosen["account_name"] == "Business Checking" and chosen["waiting_for"] is None
    uncategorized = {"default_income_account_id": account_id(stack, "Uncategorized Income")}
    status, problem, _ = call("PATCH", "/integrations/wave/settings", uncategorized, claims=admin())
    assert status == 422, problem  # no product may sell through Wave's own income account
