"""The post-connection wizard through the API as API Gateway invokes it (Mangum), over moto
tables and the fake provider: step 1 customers (classified, duplicates "Already exists" and
linked, new ones preselected, bulk import with the chosen types, idempotent), step 2 items
(existing ones linked by name or SKU, new ones imported with their accounts), skips, step 3
summary; admin-only imports and skips (403), another company's wizard is 404, bad input 422."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.account_mapping import AccountMapping
from booksync.api.app import ApiServices
from booksync.documents import Address, DocumentKind
from booksync.onboarding.wizard import Wizard
from booksync.providers.port import RemoteCustomer, RemoteItem
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.models import ConnectionModel
from booksync.store.runs import RunRepository
from booksync.sync.engine import InvoiceSync
from booksync.sync.jobs import SyncJob
from booksync.sync.records import DocumentService

from tests import builders
from tests.apigw import admin, member
from tests.fakes.integrations import fake_integrations
from tests.fakes.provider import FakeProvider
from tests.integration.test_api import Lambda
from tests.integration.test_invoice_sync_engine import ListQueue

COMPANY = "acme"
W = "/integrations/quickbooks/wizard"
HOME = Address(line1="14 Maple Street", city="Austin", region="TX", postal_code="78701")


def books() -> FakeProvider:
    provider = FakeProvider()
    provider.directory_customers = [
        RemoteCustomer(id="1", display_name="Summit Construction LLC", email="office@summitbuilds.com",
                       billing_address=Address(line1="500 Congress Ave", line2="Suite 300", postal_code="78701")),
        RemoteCustomer(id="2", display_name="ADA LOVELACE", email="Ada@Example.com", version="3"),
        RemoteCustomer(id="3", display_name="Jane Doe", given_name="Jane", family_name="Doe",
                       email="jane.doe@gmail.com", billing_address=HOME),
        RemoteCustomer(id="4", display_name="Riverside Dental Group", email="ap@riversidedental.com"),
        RemoteCustomer(id="5", display_name="Bad Address Co", email="not-an-email"),
    ]  # fmt: skip
    provider.directory_items = [
        RemoteItem(id="10", name="drain cleaning", unit_price=Decimal("150"), income_account_id="1"),
        RemoteItem(id="11", name="Water heater install", sku="WH-1", unit_price=Decimal("1299.999"),
                   type="non_inventory", income_account_id="1", income_account_name="Services"),
        RemoteItem(id="12", name="Trip", sku="TRIP", unit_price=Decimal("80"), income_account_id="1"),
        RemoteItem(id="13", name="Gutter guard", unit_price=Decimal("20"), income_account_id="1"),
    ]  # fmt: skip
    return provider


@pytest.fixture
def world(tables: SimpleNamespace, kms_key: str) -> SimpleNamespace:
    ConnectionModel(COMPANY, "quickbooks", connection_id="c1", status="connected", account_id="r1").save()
    provider = books()
    docs, conns, runs = DocumentRepository(), ConnectionRepository(), RunRepository()
    service = DocumentService(documents=docs, connections=conns, runs=runs, queue=ListQueue())
    accounts = AccountMapping(connections=conns, documents=docs, provider_for=lambda _c: provider)
    wizard = Wizard(
        connections=conns,
        documents=docs,
        directory_for=lambda _c: provider,
        check_income_account=accounts.check_income_account,
    )
    services = ApiServices(
        documents=service,
        integrations=fake_integrations(
            conns,
            docs,
            kms_key,
            # As wiring.api_services: the callback opens the wizard's state.
            on_connected=[lambda done: wizard.open(done.company_id, done.provider)],
        ),
        runs=runs,
        accounts=accounts,
        wizard=wizard,
    )
    service.put_customer(COMPANY, builders.customer())  # Ada Lovelace, ada@example.com
    service.put_item(COMPANY, builders.item("i-1", name="Drain cleaning"))
    service.put_item(COMPANY, builders.item("i-2", name="Trip charge", sku="TRIP"))

    def engine() -> InvoiceSync:
        return builders.invoice_sync(docs, conns, runs, provider)

    return SimpleNamespace(
        call=Lambda(services), docs=docs, provider=provider, wizard=wizard, service=service, engine=engine
    )


def rows_by_id(payload: dict[str, Any], step: str) -> dict[str, dict[str, Any]]:
    return {row["remote_id"]: row for row in payload[step]}


def customer_doc(world: SimpleNamespace, doc_id: str) -> Any:
    return world.docs.get(COMPANY, DocumentKind.CUSTOMER, doc_id)


def test_opening_the_wizard_and_its_first_state(world: SimpleNamespace) -> None:
    world.wizard.open(COMPANY, "quickbooks")
    status, state, _ = world.call("GET", W, claims=member())
    assert status == 200
    assert {s: v["status"] for s, v in state["steps"].items()} == {"customers": "open", "items": "open"}
    assert state["next"] == f"{W}/customers"


def test_step_1_lists_customers_classified_with_duplicates_and_preselection(world: SimpleNamespace) -> None:
    status, page, _ = world.call("GET", f"{W}/customers?page=1&page_size=2", claims=member())
    assert status == 200, page
    assert [r["remote_id"] for r in page["customers"]] == ["1", "2"] and page["has_more"] is True
    status, page, _ = world.call("GET", f"{W}/customers?page=2&page_size=2", claims=member())
    assert [r["remote_id"] for r in page["customers"]] == ["3", "4"]
    rows = rows_by_id(world.call("GET", f"{W}/customers", claims=member())[1], "customers")
    summit, ada, jane, dental = rows["1"], rows["2"], rows["3"], rows["4"]
    assert (summit["suggested_type"], summit["status"], summit["preselected"]) == ("Builder", "New", True)
    assert "construction" in summit["reason"]
    assert (jane["suggested_type"], jane["preselected"]) == ("Homeowner", True)
    assert dental["suggested_type"] == "Business"
    assert (ada["status"], ada["existing_customer_id"], ada["preselected"]) == (
        "Already exists",
        "c-1",
        False,
    )
    assert ada["match"]["matched"] == ["name", "email"]


def test_import_is_admin_only_bulk_typed_linked_and_idempotent(world: SimpleNamespace) -> None:
    body = {"customers": [{"remote_id": "1", "type": "Builder"}, {"remote_id": "3", "type": "Business"}]}
    status, problem, _ = world.call("POST", f"{W}/customers/import", body, claims=member())
    assert status == 403 and problem["fix"]
    assert customer_doc(world, "quickbooks-1") is None

    status, result, _ = world.call("POST", f"{W}/customers/import", body, claims=admin())
    assert status == 200, result
    assert result["counts"] == {"added": 2, "linked": 1, "already": 0, "failed": 0}
    assert result["linked"] == [{"remote_id": "2", "customer_id": "c-1", "matched": ["name", "email"]}]
    summit = customer_doc(world, "quickbooks-1")
    assert (
        summit.body["customer_type"] == "Builder" and summit.body["display_name"] == "Summit Construction LLC"
    )
    # The user's choice wins over the suggestion (Homeowner suggested for Jane Doe).
    assert customer_doc(world, "quickbooks-3").body["customer_type"] == "Business"
    for doc_id, remote_id in (("quickbooks-1", "1"), ("quickbooks-3", "3"), ("c-1", "2")):
        link = customer_doc(world, doc_id).link("quickbooks")
        assert link.remote_id == remote_id and link.outcome == "linked"
    # Imported ones are linked as pushed: the next sync has nothing to create or send.
    summit = customer_doc(world, "quickbooks-1")
    assert summit.link("quickbooks").pushed_hash == summit.content_hash and not summit.pending_bucket
    # The existing customer keeps booksync's content; its next sync updates the provider's record.
    assert customer_doc(world, "c-1").link("quickbooks").pushed_hash is None

    status, again, _ = world.call("POST", f"{W}/customers/import", body, claims=admin())
    assert status == 200
    assert again["counts"] == {"added": 0, "linked": 0, "already": 2, "failed": 0}
    summary = world.call("GET", f"{W}/summary", claims=member())[1]
    assert (summary["customers_added"], summary["customers_linked"]) == (2, 1)
    listed = rows_by_id(world.call("GET", f"{W}/customers", claims=member())[1], "customers")
    assert listed["1"]["status"] == "Already exists" and listed["1"]["match"]["matched"] == ["link"]
    assert world.provider.writes == {}, "the wizard never writes to the provider"


def test_a_household_sharing_a_mailbox_is_linked_person_to_person(world: SimpleNamespace) -> None:
    """Issue 10.1 in the wizard: QuickBooks has John and Jane Smith, one mailbox and one house;
    booksync has Jane. Only Jane is linked to Jane; John is imported as his own customer."""
    smiths = "smiths@example.com"
    world.provider.directory_customers += [
        RemoteCustomer(id="20", display_name="John Smith", email=smiths, billing_address=HOME),
        RemoteCustomer(id="21", display_name="Jane Smith", email=smiths, billing_address=HOME),
    ]
    world.service.put_customer(
        COMPANY, builders.customer("c-jane", display_name="Jane Smith", email=smiths, billing_address=HOME)
    )
    listed = rows_by_id(world.call("GET", f"{W}/customers", claims=member())[1], "customers")
    assert (listed["20"]["status"], listed["20"]["existing_customer_id"]) == ("New", None)
    assert listed["21"]["existing_customer_id"] == "c-jane"

    body = {"customers": [{"remote_id": "20", "type": "Homeowner"}]}
    status, result, _ = world.call("POST", f"{W}/customers/import", body, claims=admin())
    assert status == 200, result
    assert {"remote_id": "21", "customer_id": "c-jane", "matched": ["name", "address", "email"]} in result[
        "linked"
    ]
    assert not [r for r in result["linked"] if r["remote_id"] == "20"]
    assert customer_doc(world, "c-jane").link("quickbooks").remote_id == "21"
    assert customer_doc(world, "quickbooks-20").body["display_name"] == "John Smith"


def test_a_customer_booksync_would_refuse_is_imported_without_the_bad_field(world: SimpleNamespace) -> None:
    body = {"customers": [{"remote_id": "5", "type": "Business"}]}
    result = world.call("POST", f"{W}/customers/import", body, claims=admin())[1]
    assert result["counts"]["added"] == 1
    assert customer_doc(world, "quickbooks-5").body["email"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customers": [{"remote_id": "1", "type": "Landlord"}]}, "customers[0].type"),
        ({"customers": []}, "customers"),
        ({"customers": [{"remote_id": "1", "type": "Builder"}, {"remote_id": "1", "type": "Business"}]},
         "customers"),
        ({"customers": [{"remote_id": "1", "type": "Builder"}], "extra": 1}, "extra"),
        ({"customers": [{"remote_id": "999", "type": "Builder"}]}, "customers.remote_id"),
    ],
)  # fmt: skip
def test_bad_imports_are_422_naming_the_field_and_import_nothing(
    world: SimpleNamespace, body: dict[str, Any], field: str
) -> None:
    status, problem, _ = world.call("POST", f"{W}/customers/import", body, claims=admin())
    assert status == 422, problem
    assert field in {e["field"] for e in problem["errors"]}
    assert problem["fix"]
    assert customer_doc(world, "quickbooks-1") is None
    assert customer_doc(world, "c-1").link("quickbooks") is None


def test_another_company_gets_404_and_sees_nothing(world: SimpleNamespace) -> None:
    other = admin(company="globex")
    for method, path, body in (
        ("GET", W, None),
        ("GET", f"{W}/customers", None),
        ("GET", f"{W}/items", None),
        ("GET", f"{W}/summary", None),
        ("POST", f"{W}/customers/import", {"customers": [{"remote_id": "1", "type": "Builder"}]}),
        ("POST", f"{W}/items/import", {"items": [{"remote_id": "11"}]}),
        ("POST", f"{W}/customers/skip", None),
    ):
        status, problem, _ = world.call(method, path, body, claims=other)
        assert status == 404, (method, path, problem)
        assert "Summit" not in str(problem)
    assert customer_doc(world, "quickbooks-1") is None


def test_step_2_links_existing_items_and_imports_new_ones_with_their_accounts(world: SimpleNamespace) -> None:
    rows = rows_by_id(world.call("GET", f"{W}/items", claims=member())[1], "items")
    assert (rows["10"]["status"], rows["10"]["existing_item_id"]) == ("Already exists", "i-1")  # by name
    assert (rows["12"]["status"], rows["12"]["existing_item_id"]) == ("Already exists", "i-2")  # by SKU
    assert rows["11"]["preselected"] and rows["11"]["income_account"] == {"id": "1", "name": "Services"}

    status, problem, _ = world.call(
        "POST", f"{W}/items/import", {"items": [{"remote_id": "11"}]}, claims=member()
    )
    assert status == 403
    bank = {"items": [{"remote_id": "11", "income_account_id": "2"}]}
    status, problem, _ = world.call("POST", f"{W}/items/import", bank, claims=admin())
    assert status == 422 and "not an income account" in problem["detail"]

    body = {"items": [{"remote_id": "11", "income_account_id": "1"}, {"remote_id": "13"}]}
    status, result, _ = world.call("POST", f"{W}/items/import", body, claims=admin())
    assert status == 200, result
    assert result["counts"] == {"added": 2, "linked": 2, "already": 0, "failed": 0}
    heater = world.docs.get(COMPANY, DocumentKind.ITEM, "quickbooks-11")
    assert heater.body["unit_price"] == "1300.00" and heater.body["sku"] == "WH-1"
    assert heater.body["type"] == "non_inventory" and heater.income_account("quickbooks") == "1"
    assert heater.link("quickbooks").pushed_hash == heater.content_hash
    assert world.docs.get(COMPANY, DocumentKind.ITEM, "i-2").link("quickbooks").remote_id == "12"
    again = world.call("POST", f"{W}/items/import", body, claims=admin())[1]
    assert again["counts"] == {"added": 0, "linked": 0, "already": 2, "failed": 0}


def test_step_2_finds_an_item_under_the_name_quickbooks_stores_for_it(world: SimpleNamespace) -> None:
    """QuickBooks stores "Valve a:b" as "Valve a-b" (a colon is its hierarchy separator) and a
    tab-pasted SKU without the tab: the wizard compares as the provider stores (its profile), so
    neither item is offered as new beside the one the books already hold."""
    world.provider.directory_items += [
        RemoteItem(id="14", name="Valve a-b", unit_price=Decimal("9"), income_account_id="1"),
        RemoteItem(
            id="15", name="Cartridge", sku="TKO-813PB", unit_price=Decimal("5"), income_account_id="1"
        ),
    ]
    world.service.put_item(COMPANY, builders.item("i-3", name="Valve a:b", price="9.00"))
    world.service.put_item(
        COMPANY, builders.item("i-4", name="Ceramic cartridge", price="5.00", sku="TKO-\t813PB")
    )
    rows = rows_by_id(world.call("GET", f"{W}/items", claims=member())[1], "items")
    assert (rows["14"]["status"], rows["14"]["existing_item_id"]) == ("Already exists", "i-3")
    assert (rows["15"]["status"], rows["15"]["existing_item_id"]) == ("Already exists", "i-4")


def test_steps_can_be_skipped_and_run_again_then_the_summary(world: SimpleNamespace) -> None:
    assert world.call("POST", f"{W}/customers/skip", claims=member())[0] == 403
    status, state, _ = world.call("POST", f"{W}/customers/skip", claims=admin())
    assert status == 200 and state["steps"]["customers"]["status"] == "skipped"
    assert state["next"] == f"{W}/items"
    world.call("POST", f"{W}/items/skip", claims=admin())
    summary = world.call("GET", f"{W}/summary", claims=member())[1]
    assert summary["finished"] is True and summary["customers_added"] == 0
    # Run again later from the integration: the skipped step imports as before.
    body = {"customers": [{"remote_id": "3", "type": "Homeowner"}]}
    assert world.call("POST", f"{W}/customers/import", body, claims=admin())[1]["counts"]["added"] == 1
    summary = world.call("GET", f"{W}/summary", claims=member())[1]
    assert summary["steps"] == {"customers": "done", "items": "skipped"}
    assert summary["customers_added"] == 1 and summary["items_imported"] == 0
    assert summary["auto_sync_on"] is True and summary["auto_sync"]["invoices"] is True
    assert world.call("POST", f"{W}/payments/skip", claims=admin())[0] == 422


def test_the_connect_callback_opens_the_wizard_and_a_reconnect_keeps_it(world: SimpleNamespace) -> None:
    newco = admin(company="newco")
    assert world.call("GET", W, claims=newco)[0] == 404  # not connected: no wizard

    def connect() -> None:
        started = world.call("POST", "/integrations/quickbooks/connect", claims=newco)[1]
        state = started["authorization_url"].split("state=")[1].split("&")[0]
        path = f"/oauth/quickbooks/callback?code=abc&state={state}&realmId=77"
        status, body, _ = world.call("GET", path, route_key="GET /oauth/{provider}/callback")
        assert status == 200
        confirm = {"consent": body["consent"]}
        assert world.call("POST", "/oauth/quickbooks/complete", confirm, claims=newco)[0] == 200

    connect()
    status, state, _ = world.call("GET", W, claims=newco)
    assert status == 200 and state["opened_at"] and state["steps"]["customers"]["status"] == "open"
    world.call("POST", f"{W}/customers/skip", claims=newco)
    connect()  # reconnect
    assert world.call("GET", W, claims=newco)[1]["steps"]["customers"]["status"] == "skipped"


def test_imported_customers_and_items_are_not_pushed_back_as_new(world: SimpleNamespace) -> None:
    customers = {"customers": [{"remote_id": "1", "type": "Builder"}]}
    assert world.call("POST", f"{W}/customers/import", customers, claims=admin())[0] == 200
    assert world.call("POST", f"{W}/items/import", {"items": [{"remote_id": "11"}]}, claims=admin())[0] == 200
    invoice = builders.invoice(
        customer_id="quickbooks-1", lines=[{"item_id": "quickbooks-11", "unit_price": "1300.00"}]
    )
    world.service.put_invoice(COMPANY, invoice)
    world.engine().run(SyncJob(company_id=COMPANY, invoice_id=invoice.id, provider="quickbooks"))
    assert world.provider.writes == {"create_invoice": 1}
    (remote_invoice,) = world.provider.objects["invoice"].values()
    assert remote_invoice.data["customer"] == "1"
    assert remote_invoice.data["lines"][0][0] == "11"
