"""Account mapping: per-item income accounts in the invoice engine, the mapping API (through
Mangum, as API Gateway invokes it), and the default income account setting, over moto tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from booksync.account_mapping import AccountMapping
from booksync.api.app import ApiServices
from booksync.documents import DocumentKind
from booksync.providers.declaration import Capability
from booksync.providers.port import Account, AccountKind
from booksync.providers.registry import REGISTRY
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
from tests.fakes.provider import FakeProvider, plain_books
from tests.integration.test_api import Lambda
from tests.integration.test_invoice_sync_engine import ListQueue

COMPANY = "acme"
ITEMS = "/integrations/quickbooks/account-mapping"
UNMAPPED = (
    "Item 'Gutter cleaning' has no income account in QuickBooks. "
    "Map it in Account mapping, or set a default income account."
)


@dataclass
class ChartProvider(FakeProvider):
    """The fake provider with a fuller chart of accounts."""

    chart_reads: int = 0

    def list_accounts(self) -> Sequence[Account]:
        self.chart_reads += 1
        return [
            Account(id="1", name="Services", kind=AccountKind.INCOME, account_type="Income"),
            Account(id="7", name="Gutter Income", kind=AccountKind.INCOME, account_type="Income", code="260"),
            Account(id="8", name="Old Sales", kind=AccountKind.INCOME, account_type="Income", active=False),
            Account(id="2", name="Checking", kind=AccountKind.BANK, account_type="Bank"),
            Account(id="5", name="Merchant Fees", kind=AccountKind.EXPENSE, account_type="Expense"),
            # No bank, but the books let payments go into it (as Xero's EnablePaymentsToAccount).
            Account(
                id="4",
                name="Payments Clearing",
                kind=AccountKind.OTHER,
                account_type="Other",
                payments_allowed=True,
            ),
        ]


@pytest.fixture
def world(tables: SimpleNamespace, kms_key: str) -> SimpleNamespace:
    ConnectionModel(COMPANY, "quickbooks", connection_id="c1", status="connected", account_id="r1").save()
    provider = ChartProvider()
    docs, conns, runs = DocumentRepository(), ConnectionRepository(), RunRepository()
    queue = ListQueue()
    service = DocumentService(documents=docs, connections=conns, runs=runs, queue=queue)
    default: dict[str, str | None] = {"account": "1"}
    accounts = AccountMapping(connections=conns, documents=docs, provider_for=lambda _c: provider)
    services = ApiServices(
        documents=service,
        integrations=fake_integrations(
            conns,
            docs,
            kms_key,
            income_account_check=accounts.check_income_account,
            payment_account_set=accounts.set_payment_account,
        ),
        runs=runs,
        accounts=accounts,
    )

    def engine() -> InvoiceSync:
        return builders.invoice_sync(
            docs, conns, runs, provider, income_account_for=lambda _c, _p: default["account"]
        )

    service.put_customer(COMPANY, builders.customer())
    service.put_item(COMPANY, builders.item("i-1", name="Gutter cleaning"))
    service.put_item(COMPANY, builders.item("i-2", name="Trip charge", price="80.00"))
    return SimpleNamespace(
        provider=provider,
        docs=docs,
        service=service,
        engine=engine,
        default=default,
        accounts=accounts,
        call=Lambda(services),
        integrations=services.integrations,
    )


def job() -> SyncJob:
    return SyncJob(company_id=COMPANY, invoice_id="inv-1", provider="quickbooks")


def remote_accounts(world: SimpleNamespace) -> dict[str, str | None]:
    return {o.data["name"]: o.data["account"] for o in world.provider.objects["item"].values()}


def badge(world: SimpleNamespace, item_id: str) -> str | None:
    state = world.integrations.document_state(COMPANY, DocumentKind.ITEM, item_id, "quickbooks")
    return str(state["badge"])


# ---------------------------------------------------------------- the engine


def test_a_mapped_item_posts_to_its_account_the_others_to_the_default(world: SimpleNamespace) -> None:
    status, _, _ = world.call("PUT", f"{ITEMS}/items/i-1", {"account_id": "7"}, claims=admin())
    assert status == 200
    world.service.put_invoice(COMPANY, builders.invoice())
    report = world.engine().run(job())
    assert report.outcome == "synced", report.error
    assert remote_accounts(world) == {"Gutter cleaning": "7", "Trip charge": "1"}


def test_an_item_with_no_account_and_no_default_fails_its_invoice_naming_the_item(
    world: SimpleNamespace,
) -> None:
    world.default["account"] = None
    world.service.put_invoice(COMPANY, builders.invoice())
    report = world.engine().run(job())

    assert report.outcome == "failed"
    assert report.error == UNMAPPED
    assert world.provider.writes["create_item"] == 0 and world.provider.writes["create_invoice"] == 0
    status, state, _ = world.call("GET", "/invoices/inv-1/sync-status", claims=admin())
    assert status == 200 and state["badge"] == "Failed"
    assert state["error"]["message"] == UNMAPPED
    assert state["error"]["code"] == "no_income_account"
    assert "account-mapping/items/i-1" in state["error"]["fix"]

    # Mapping the item is the fix: the next sync goes through.
    world.call("PUT", f"{ITEMS}/items/i-1", {"account_id": "7"}, claims=admin())
    world.call("PUT", f"{ITEMS}/items/i-2", {"account_id": "1"}, claims=admin())
    assert world.engine().run(job()).outcome == "synced"
    assert remote_accounts(world) == {"Gutter cleaning": "7", "Trip charge": "1"}


def test_a_provider_without_income_accounts_per_item_is_never_asked_for_one(
    world: SimpleNamespace, request: pytest.FixtureRequest
) -> None:
    """Its items go without an account (no mapping, no default, no failure), and choosing one is
    refused as not supported, with nothing saved."""
    books = plain_books(less=Capability.INCOME_ACCOUNT_PER_ITEM)
    request.addfinalizer(REGISTRY.declare(books.declaration()))
    world.default["account"] = None
    world.service.put_invoice(COMPANY, builders.invoice())
    engine = builders.invoice_sync(
        world.docs,
        ConnectionRepository(),
        RunRepository(),
        books,
        income_account_for=lambda _c, _p: world.default["account"],
        declarations=lambda _provider: books.declaration(),
    )
    report = engine.run(job())

    assert report.outcome == "synced", report.error
    assert {o.data["name"]: o.data["account"] for o in books.objects["item"].values()} == {
        "Gutter cleaning": None,
        "Trip charge": None,
    }
    said = "An income account per item is not supported by Plain Books"
    for method, path, body in (
        ("GET", ITEMS, None),
        ("PUT", f"{ITEMS}/items/i-1", {"account_id": "7"}),
        ("POST", f"{ITEMS}/apply-to-unmapped", {"account_id": "7"}),
        ("PATCH", "/integrations/quickbooks/settings", {"default_income_account_id": "7"}),
    ):
        status, problem, _ = world.call(method, path, body, claims=admin())
        assert status == 422 and problem["detail"].startswith(said), (path, problem)
        assert "without an account" in problem["fix"]
    assert world.docs.get(COMPANY, DocumentKind.ITEM, "i-1").income_account("quickbooks") is None


def test_changing_the_mapping_makes_the_item_out_of_date_and_the_next_sync_updates_it(
    world: SimpleNamespace,
) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    assert world.engine().run(job()).outcome == "synced"
    assert badge(world, "i-1") == "Synced"

    world.call("PUT", f"{ITEMS}/items/i-1", {"account_id": "7"}, claims=admin())
    assert badge(world, "i-1") == "Out of Date"
    # The app sends the same item again: still Out of Date (the mapping is part of its content).
    again = world.service.put_item(COMPANY, builders.item("i-1", name="Gutter cleaning"))
    assert not again.changed
    assert badge(world, "i-1") == "Out of Date"

    assert world.engine().run(job()).outcome == "synced"
    assert world.provider.writes["update_item"] == 1 and world.provider.writes["create_item"] == 2
    assert remote_accounts(world)["Gutter cleaning"] == "7"
    assert badge(world, "i-1") == "Synced"
    # Mapping it to the account it already has changes nothing.
    status, body, _ = world.call("PUT", f"{ITEMS}/items/i-1", {"account_id": "7"}, claims=admin())
    assert status == 200 and body["changed"] is False
    assert badge(world, "i-1") == "Synced"


def test_an_unchanged_synced_item_needs_no_account_lookup(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.engine().run(job())
    world.default["account"] = None  # even with no default any more
    world.service.put_invoice(COMPANY, builders.invoice(memo="Gate code 1234"))
    assert world.engine().run(job()).outcome == "synced"


# ---------------------------------------------------------------- the API


def test_accounts_by_type_for_members_too(world: SimpleNamespace) -> None:
    status, income, _ = world.call("GET", "/integrations/quickbooks/accounts?type=income", claims=member())
    assert status == 200
    assert [(a["id"], a["name"]) for a in income] == [("1", "Services"), ("7", "Gutter Income")]
    status, bank, _ = world.call("GET", "/integrations/quickbooks/accounts?type=bank", claims=member())
    assert [(a["id"], a["kind"], a["classification"], a["type"]) for a in bank] == [
        ("2", "bank", "Asset", "Bank")
    ]
    status, assets, _ = world.call("GET", "/integrations/quickbooks/accounts?type=asset", claims=member())
    assert [a["id"] for a in assets] == ["2"]
    world.call("GET", "/integrations/quickbooks/accounts", claims=member())
    assert world.provider.chart_reads == 1, "the chart is read once a minute, not per request"
    status, problem, _ = world.call("GET", "/integrations/quickbooks/accounts?type=cheese", claims=admin())
    assert status == 422 and problem["fix"]


def test_the_mapping_lists_every_item_with_its_account_and_counts(world: SimpleNamespace) -> None:
    status, mapping, _ = world.call("GET", ITEMS, claims=member())
    assert status == 200
    assert mapping["counts"] == {"items": 2, "mapped": 0, "default": 0, "unmapped": 2}
    assert {i["source"] for i in mapping["items"]} == {"unmapped"}

    world.call(
        "PATCH", "/integrations/quickbooks/settings", {"default_income_account_id": "1"}, claims=admin()
    )
    world.call("PUT", f"{ITEMS}/items/i-1", {"account_id": "7"}, claims=admin())
    _, mapping, _ = world.call("GET", ITEMS, claims=member())
    assert mapping["counts"] == {"items": 2, "mapped": 1, "default": 1, "unmapped": 0}
    by_id = {i["item_id"]: i for i in mapping["items"]}
    assert by_id["i-1"] | {"out_of_date": False} == {
        "item_id": "i-1",
        "name": "Gutter cleaning",
        "source": "mapped",
        "account_id": "7",
        "account_name": "Gutter Income",
        "out_of_date": False,
    }
    assert by_id["i-2"]["source"] == "default" and by_id["i-2"]["account_name"] == "Services"
    assert mapping["default_income_account"] == {"id": "1", "name": "Services"}


def test_apply_to_unmapped_keeps_the_items_already_mapped(world: SimpleNamespace) -> None:
    world.service.put_item(COMPANY, builders.item("i-3", name="Downspout repair"))
    world.call("PUT", f"{ITEMS}/items/i-1", {"account_id": "7"}, claims=admin())
    status, body, _ = world.call("POST", f"{ITEMS}/apply-to-unmapped", {"account_id": "1"}, claims=admin())
    assert status == 200 and body["updated"] == 2
    assert body["counts"] == {"items": 3, "mapped": 3, "default": 0, "unmapped": 0}
    assert {i["item_id"]: i["account_id"] for i in body["items"]} == {"i-1": "7", "i-2": "1", "i-3": "1"}
    _, again, _ = world.call("POST", f"{ITEMS}/apply-to-unmapped", {"account_id": "1"}, claims=admin())
    assert again["updated"] == 0


@pytest.mark.parametrize(
    ("account_id", "said"),
    [
        ("99", "QuickBooks has no account with id '99'."),
        ("8", "QuickBooks account 'Old Sales' is inactive."),
        ("2", "QuickBooks account 'Checking' is a Bank account, not an income account"),
    ],
)
def test_unknown_inactive_or_non_income_accounts_are_refused(
    world: SimpleNamespace, account_id: str, said: str
) -> None:
    for method, path in (("PUT", f"{ITEMS}/items/i-1"), ("POST", f"{ITEMS}/apply-to-unmapped")):
        status, problem, headers = world.call(method, path, {"account_id": account_id}, claims=admin())
        assert status == 422 and headers["content-type"] == "application/problem+json"
        assert problem["detail"].startswith(said)
        assert "accounts?type=income" in problem["fix"]
    status, problem, _ = world.call(
        "PATCH",
        "/integrations/quickbooks/settings",
        {"default_income_account_id": account_id},
        claims=admin(),
    )
    assert status == 422 and problem["detail"].startswith(said)
    row = world.docs.get(COMPANY, DocumentKind.ITEM, "i-1")
    assert row.income_account("quickbooks") is None, "nothing saved"
    connection = ConnectionRepository().get(COMPANY, "quickbooks")
    assert connection is not None and connection.settings.default_income_account_id is None


def test_the_payment_account_is_chosen_in_account_mapping_from_the_accounts_that_take_payments(
    world: SimpleNamespace, request: pytest.FixtureRequest
) -> None:
    """Books that need the account payments go into: the card and the mapping say payments wait
    for it; an account that cannot take payments is refused naming those that can."""
    required = dataclasses.replace(world.provider.declaration(), payment_account_required=True)
    request.addfinalizer(REGISTRY.declare(required))
    status, card, _ = world.call("GET", "/integrations/quickbooks", claims=member())
    assert status == 200 and card["payment_account"]["required"] is True
    assert card["payment_account"]["waiting_for"]["message"] == (
        "QuickBooks needs the account payments go into, and none is chosen: payments wait until one is."
    )
    assert "account-mapping/payment-account" in card["payment_account"]["waiting_for"]["fix"]
    cards = {c["provider"]: c for c in world.call("GET", "/integrations", claims=member())[1]}
    assert cards["xero"]["payment_account"] is None, "books not connected: nothing waits yet"
    assert cards["square"]["payment_account"] is None, "a payments processor keeps no books"
    _, able, _ = world.call("GET", "/integrations/quickbooks/accounts?type=payments", claims=member())
    assert [(a["id"], a["name"]) for a in able] == [("2", "Checking"), ("4", "Payments Clearing")]

    route = f"{ITEMS}/payment-account"
    assert world.call("PUT", route, {"account_id": "2"}, claims=member())[0] == 403
    status, problem, _ = world.call("PUT", route, {"account_id": "1"}, claims=admin())
    assert status == 422 and problem["detail"] == (
        "QuickBooks account 'Services' is a Income account, which QuickBooks does not let payments go "
        "into: choose a bank account or one that accepts payments."
    )
    assert "'Checking' (2); 'Payments Clearing' (4)" in problem["fix"]
    connection = ConnectionRepository().get(COMPANY, "quickbooks")
    assert connection is not None and connection.settings.payment_account_id is None, "nothing saved"

    status, chosen, _ = world.call("PUT", route, {"account_id": "4"}, claims=admin())
    assert status == 200, chosen
    assert chosen == {
        "account_id": "4",
        "account_name": "Payments Clearing",
        "required": True,
        "waiting_for": None,
        "changed": True,
    }
    _, card, _ = world.call("GET", "/integrations/quickbooks", claims=member())
    assert card["payment_account"]["waiting_for"] is None and card["settings"]["payment_account_id"] == "4"
    _, mapping, _ = world.call("GET", ITEMS, claims=member())
    assert mapping["payment_account"]["account_name"] == "Payments Clearing"


def test_the_settings_patch_takes_the_payment_account_as_account_mapping_does(
    world: SimpleNamespace, request: pytest.FixtureRequest
) -> None:
    """PATCH /integrations/{provider}/settings with payment_account_id: the same check and save as
    PUT .../account-mapping/payment-account (one place), with the other settings of the patch."""
    required = dataclasses.replace(world.provider.declaration(), payment_account_required=True)
    request.addfinalizer(REGISTRY.declare(required))
    route = "/integrations/quickbooks/settings"
    status, problem, _ = world.call("PATCH", route, {"payment_account_id": "1"}, claims=admin())
    refused = world.call("PUT", f"{ITEMS}/payment-account", {"account_id": "1"}, claims=admin())[1]
    assert status == 422 and problem["detail"] == refused["detail"] and problem["fix"] == refused["fix"]
    connection = ConnectionRepository().get(COMPANY, "quickbooks")
    assert connection is not None and connection.settings.payment_account_id is None, "nothing saved"
    # An id as long as the PUT route takes (Wave's run past 76 characters) meets the same check.
    long_id = "QWNjb3VudDoxOTI3MjQ1NjQ4NzU2NTI3MjY1O0J1c2luZXNzOmUyMjA1NjRkLTk5MmEtNDk1OQ" + "x" * 40
    long_patch = world.call("PATCH", route, {"payment_account_id": long_id}, claims=admin())
    long_put = world.call("PUT", f"{ITEMS}/payment-account", {"account_id": long_id}, claims=admin())
    assert long_patch[0] == long_put[0] == 422 and long_patch[1]["detail"] == long_put[1]["detail"]

    body = {"payment_account_id": "4", "auto_sync_payments": False}
    status, card, _ = world.call("PATCH", route, body, claims=admin())
    assert status == 200, card
    assert card["settings"]["payment_account_id"] == "4" and card["settings"]["auto_sync_payments"] is False
    assert card["payment_account"]["waiting_for"] is None
    _, mapping, _ = world.call("GET", ITEMS, claims=member())
    assert mapping["payment_account"]["account_name"] == "Payments Clearing"


def test_where_items_name_their_account_by_code_one_without_a_code_is_refused(
    world: SimpleNamespace, request: pytest.FixtureRequest
) -> None:
    """Books whose items name their sales account by its code (as Xero's): an income account
    without one is refused at the door, for an item, the default and bulk alike."""
    by_code = dataclasses.replace(world.provider.declaration(), item_account_by_code=True)
    request.addfinalizer(REGISTRY.declare(by_code))
    said = (
        "QuickBooks account 'Services' has no code, and QuickBooks names the account an item's sales "
        "post to by its code."
    )
    for method, path, body in (
        ("PUT", f"{ITEMS}/items/i-1", {"account_id": "1"}),
        ("POST", f"{ITEMS}/apply-to-unmapped", {"account_id": "1"}),
        ("PATCH", "/integrations/quickbooks/settings", {"default_income_account_id": "1"}),
    ):
        status, problem, _ = world.call(method, path, body, claims=admin())
        assert status == 422, (path, problem)
        assert problem["detail"] == said
        assert "Give the account a code in QuickBooks" in problem["fix"]
    _, income, _ = world.call("GET", "/integrations/quickbooks/accounts?type=income", claims=member())
    assert [(a["id"], a["code"]) for a in income] == [("1", None), ("7", "260")]
    assert world.call("PUT", f"{ITEMS}/items/i-1", {"account_id": "7"}, claims=admin())[0] == 200


def test_writes_are_admin_only_and_bodies_are_checked(world: SimpleNamespace) -> None:
    assert world.call("PUT", f"{ITEMS}/items/i-1", {"account_id": "7"}, claims=member())[0] == 403
    assert world.call("POST", f"{ITEMS}/apply-to-unmapped", {"account_id": "7"}, claims=member())[0] == 403
    assert (
        world.call(
            "PATCH", "/integrations/quickbooks/settings", {"default_income_account_id": "7"}, claims=member()
        )[0]
        == 403
    )
    status, problem, _ = world.call("PUT", f"{ITEMS}/items/i-1", {"account": "7"}, claims=admin())
    assert status == 422 and problem["errors"]
    status, problem, _ = world.call("PUT", f"{ITEMS}/items/ghost", {"account_id": "7"}, claims=admin())
    assert status == 404 and "PUT /items/ghost" in problem["fix"]
    assert (
        world.call(
            "PATCH", "/integrations/quickbooks/settings", {"default_income_account_id": "7"}, claims=admin()
        )[0]
        == 200
    )


def test_another_company_sees_nothing_and_changes_nothing(world: SimpleNamespace) -> None:
    rival = admin("rival")
    for method, path, body in (
        ("GET", ITEMS, None),
        ("GET", "/integrations/quickbooks/accounts", None),
        ("PUT", f"{ITEMS}/items/i-1", {"account_id": "7"}),
        ("POST", f"{ITEMS}/apply-to-unmapped", {"account_id": "7"}),
    ):
        status, problem, _ = world.call(method, path, body, claims=rival)
        assert status == 404 and "not connected" in problem["detail"]
    assert world.docs.get(COMPANY, DocumentKind.ITEM, "i-1").income_account("quickbooks") is None


def test_a_payment_processor_has_no_account_mapping(world: SimpleNamespace) -> None:
    status, problem, _ = world.call("GET", "/integrations/square/account-mapping", claims=admin())
    assert status == 404 and "not an accounting system" in problem["detail"]
    body = {"account_id": "1"}
    status, _, _ = world.call("PUT", "/integrations/square/account-mapping/items/i-1", body, claims=admin())
    assert status == 404
