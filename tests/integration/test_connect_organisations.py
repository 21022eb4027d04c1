"""A consent that grants several organisations (as Xero's connections list its tenants) leaves the
connection waiting for an admin's choice (Integrations over moto's tables and KMS, the fake OAuth
server offering two organisations):
- the connection lists them (names and ids, never a token), claims none, and nothing syncs;
- the choice claims the organisation as a consent's one account is, keeps the provider's ids as a
  map, and starts what a connection starts (first sync, resumed work);
- a wrong id is refused naming the choices; one another company holds is refused as a connect is;
- with one organisation the flow is as it was; a row stored before ids were kept reads its own."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from booksync.documents import DocumentKind
from booksync.errors import AccountTaken, InvalidRequest, OrganisationNotChosen
from booksync.integrations import Connected, Integrations
from booksync.providers.declaration import Capability
from booksync.providers.port import Organisation, ProviderDirectory
from booksync.providers.profile import ProviderProfile
from booksync.providers.registry import REGISTRY, declaration
from booksync.store.connections import ConnectionRepository, ConnectionStatus, provider_ids
from booksync.store.documents import DocumentRepository
from booksync.store.models import ConnectionModel
from booksync.store.notifications import NotificationRepository
from booksync.store.runs import RunRepository
from booksync.sync.jobs import SyncJob
from booksync.sync.records import DocumentService

from tests import builders
from tests.fakes.integrations import complete_connect, connect_realm, fake_integrations, state_of
from tests.fakes.oauth import FakeOAuth
from tests.fakes.provider import FakeProvider
from tests.integration.test_invoice_sync_engine import ListQueue

NORTH = Organisation(
    id="tenant-north", name="North Plumbing Ltd", ids={"tenant": "tenant-north", "connection": "conn-n"}
)
SOUTH = Organisation(
    id="tenant-south", name="South Heating Ltd", ids={"tenant": "tenant-south", "connection": "conn-s"}
)


PROVIDER = "xero"


@pytest.fixture(autouse=True)
def several_per_consent() -> Iterator[None]:
    """An accounting provider whose consent may grant several organisations, as Xero's (declared
    for these tests: QuickBooks' parts, Xero's name, its organisation choice)."""
    books = declaration("quickbooks")
    undo = REGISTRY.declare(
        dataclasses.replace(
            books,
            name=PROVIDER,
            profile=ProviderProfile(label="Xero", name_rules="Xero limits names", account_id_key="tenant"),
            capabilities=books.capabilities | {Capability.ORGANISATION_CHOICE},
            account_on_redirect=None,
        )
    )
    yield
    undo()


def xero_oauth(*organisations: Organisation) -> FakeOAuth:
    oauth = FakeOAuth(organisations=organisations)
    oauth.name = PROVIDER
    return oauth


@pytest.fixture
def world(tables: SimpleNamespace, kms_key: str) -> SimpleNamespace:
    oauth = xero_oauth(NORTH, SOUTH)
    connections = ConnectionRepository()
    seen: list[Connected] = []
    service = fake_integrations(
        connections, DocumentRepository(), kms_key, oauth=oauth, on_connected=[seen.append]
    )
    return SimpleNamespace(oauth=oauth, connections=connections, service=service, hooks=seen)


def connect(service: Integrations, company: str = "acme") -> Connected:
    url = service.start_connect(company_id=company, user_id=f"{company}-admin", provider=PROVIDER)
    return complete_connect(
        service,
        provider=PROVIDER,
        state=state_of(url),
        code=f"code-{company}",
        account_id=None,
        company_id=company,
        user_id=f"{company}-admin",
    )


def test_a_consent_for_two_organisations_waits_for_a_choice_and_claims_none(world: SimpleNamespace) -> None:
    done = connect(world.service)
    assert done.status == ConnectionStatus.CHOOSE_ORGANISATION and done.account_id is None
    assert done.organisations == (
        {"id": "tenant-north", "name": "North Plumbing Ltd"},
        {"id": "tenant-south", "name": "South Heating Ltd"},
    )
    assert world.hooks == []  # no first sync, no wizard, no resumed work yet
    for org in (NORTH, SOUTH):
        assert world.connections.account_owner(PROVIDER, org.id) is None
    shown = world.service.describe("acme", PROVIDER)
    assert (shown["status"], shown["status_label"]) == ("choose_organisation", "Choose Organisation")
    assert shown["actions"] == ["choose_organisation", "disconnect"]
    assert shown["organisations"] == list(done.organisations)
    assert shown["account_id"] is None and shown["account_ids"] == {}
    assert "none is chosen yet" in shown["waiting_for"]
    assert "POST /integrations/xero/organisation" in shown["waiting_for"]
    row = world.connections.get("acme", PROVIDER)
    assert row is not None and row.token_ciphertext is not None  # the tokens wait, sealed
    kept = repr(row.organisations)
    assert "at-" not in kept and "rt-" not in kept  # names and ids only, never a token


def test_the_choice_claims_the_organisation_and_keeps_its_ids_as_a_map(world: SimpleNamespace) -> None:
    connect(world.service)
    shown = world.service.choose_organisation(
        company_id="acme", provider=PROVIDER, organisation_id="tenant-south"
    )
    assert (shown["status"], shown["account_id"]) == ("connected", "tenant-south")
    assert shown["account_ids"] == {"tenant": "tenant-south", "connection": "conn-s"}
    assert shown["organisations"] == [] and shown["waiting_for"] is None
    assert world.connections.account_owner(PROVIDER, "tenant-south") == "acme"
    assert world.connections.account_owner(PROVIDER, "tenant-north") is None
    assert [(c.account_id, c.first) for c in world.hooks] == [("tenant-south", True)]
    row = world.connections.get("acme", PROVIDER)
    assert row is not None and row.organisations is None
    assert world.connections.find_by_account(PROVIDER, "tenant-south")[0].company_id == "acme"
    # Chosen once: there is nothing left to choose.
    with pytest.raises(InvalidRequest, match="no organisation waiting to be chosen \\(it is Connected\\)"):
        world.service.choose_organisation(
            company_id="acme", provider=PROVIDER, organisation_id="tenant-north"
        )
    # Disconnecting gives the chosen organisation's connection up, by its ids.
    world.service.disconnect(company_id="acme", provider=PROVIDER)
    assert world.oauth.disconnected == [{"tenant": "tenant-south", "connection": "conn-s"}]


def test_a_wrong_organisation_id_is_refused_naming_the_choices(world: SimpleNamespace) -> None:
    connect(world.service)
    with pytest.raises(InvalidRequest) as refused:
        world.service.choose_organisation(company_id="acme", provider=PROVIDER, organisation_id="tenant-west")
    assert "'tenant-west' is not one of the organisations" in refused.value.message
    assert "North Plumbing Ltd (tenant-north)" in refused.value.message
    assert "South Heating Ltd (tenant-south)" in refused.value.message
    assert "tenant-north, tenant-south" in refused.value.fix
    row = world.connections.get("acme", PROVIDER)
    assert row is not None and row.status == ConnectionStatus.CHOOSE_ORGANISATION and world.hooks == []


def test_an_organisation_another_company_holds_is_refused_and_the_choice_stays_open(
    world: SimpleNamespace,
) -> None:
    connect(world.service, "rival")
    world.service.choose_organisation(company_id="rival", provider=PROVIDER, organisation_id="tenant-north")
    connect(world.service, "acme")
    with pytest.raises(AccountTaken, match="already connected to another booksync company"):
        world.service.choose_organisation(
            company_id="acme", provider=PROVIDER, organisation_id="tenant-north"
        )
    assert world.connections.account_owner(PROVIDER, "tenant-north") == "rival"
    row = world.connections.get("acme", PROVIDER)
    assert row is not None and row.status == ConnectionStatus.CHOOSE_ORGANISATION
    shown = world.service.choose_organisation(
        company_id="acme", provider=PROVIDER, organisation_id="tenant-south"
    )
    assert shown["status"] == "connected"


WEST = Organisation(
    id="tenant-west", name="West Roofing Ltd", ids={"tenant": "tenant-west", "connection": "conn-w"}
)


def test_a_reconnection_keeps_the_chosen_organisation_while_its_consent_still_grants_it(
    world: SimpleNamespace,
) -> None:
    connect(world.service)
    world.service.choose_organisation(company_id="acme", provider=PROVIDER, organisation_id="tenant-north")
    # Reconnected (the grant had died): the consent grants both again, so nothing is asked.
    world.oauth.organisations = (
        SOUTH,
        dataclasses.replace(NORTH, ids={**NORTH.ids, "connection": "conn-n2"}),
    )
    again = connect(world.service)
    assert (again.status, again.account_id, again.first) == ("connected", "tenant-north", False)
    shown = world.service.describe("acme", PROVIDER)
    assert shown["account_ids"] == {"tenant": "tenant-north", "connection": "conn-n2"}  # Xero's ids now
    assert world.connections.account_owner(PROVIDER, "tenant-north") == "acme"
    assert [(c.account_id, c.first) for c in world.hooks] == [("tenant-north", True), ("tenant-north", False)]


def test_a_reconnection_whose_consent_no_longer_grants_the_choice_asks_again_and_frees_it_once_chosen(
    world: SimpleNamespace,
) -> None:
    connect(world.service)
    world.service.choose_organisation(company_id="acme", provider=PROVIDER, organisation_id="tenant-north")
    world.oauth.organisations = (SOUTH, WEST)
    again = connect(world.service)  # the old organisation stays claimed while choosing
    assert again.status == ConnectionStatus.CHOOSE_ORGANISATION and again.first is False
    assert world.connections.account_owner(PROVIDER, "tenant-north") == "acme"
    world.service.choose_organisation(company_id="acme", provider=PROVIDER, organisation_id="tenant-south")
    assert world.connections.account_owner(PROVIDER, "tenant-north") is None
    assert [(c.account_id, c.first) for c in world.hooks] == [("tenant-north", True), ("tenant-south", False)]


def test_connecting_again_after_a_disconnect_asks_for_the_organisation_again(world: SimpleNamespace) -> None:
    connect(world.service)
    world.service.choose_organisation(company_id="acme", provider=PROVIDER, organisation_id="tenant-north")
    world.service.disconnect(company_id="acme", provider=PROVIDER)
    assert connect(world.service).status == ConnectionStatus.CHOOSE_ORGANISATION


def test_disconnecting_while_choosing_revokes_the_grant_alone(world: SimpleNamespace) -> None:
    connect(world.service)
    world.service.disconnect(company_id="acme", provider=PROVIDER)
    assert world.oauth.disconnected == [{}] and len(world.oauth.revoked) == 1
    with pytest.raises(InvalidRequest, match="it is Not Connected"):
        world.service.choose_organisation(
            company_id="acme", provider=PROVIDER, organisation_id="tenant-north"
        )


def test_one_organisation_connects_at_once_with_its_ids(tables: SimpleNamespace, kms_key: str) -> None:
    seen: list[Connected] = []
    service = fake_integrations(
        ConnectionRepository(),
        DocumentRepository(),
        kms_key,
        oauth=xero_oauth(NORTH),
        on_connected=[seen.append],
    )
    done = connect(service)
    assert (done.status, done.account_id, done.organisations) == ("connected", "tenant-north", ())
    shown = service.describe("acme", PROVIDER)
    assert shown["account_ids"] == {"tenant": "tenant-north", "connection": "conn-n"}
    assert [c.account_id for c in seen] == ["tenant-north"]


def test_a_row_stored_before_ids_were_kept_reads_its_account_under_the_providers_key(
    tables: SimpleNamespace,
) -> None:
    ConnectionModel("acme", "quickbooks", connection_id="c1", status="connected", account_id="9130").save()
    row = ConnectionRepository().get("acme", "quickbooks")
    assert row is not None and row.account_ids is None
    assert provider_ids(row) == {"realm": "9130"}


def test_work_waits_for_the_choice_and_says_why(world: SimpleNamespace, tables: SimpleNamespace) -> None:
    docs, runs, queue = DocumentRepository(), RunRepository(), ListQueue()
    service = DocumentService(documents=docs, connections=world.connections, runs=runs, queue=queue)
    connect(world.service)
    service.put_customer("acme", builders.customer())
    service.put_item("acme", builders.item("i-1"))
    service.put_item("acme", builders.item("i-2", name="Trip charge", price="80.00"))
    service.put_invoice("acme", builders.invoice())
    assert queue.jobs == []  # auto-sync waits: nothing is queued for a connection not chosen yet
    badge = world.service.document_state("acme", DocumentKind.INVOICE, "inv-1", PROVIDER)
    assert badge["badge"] == "Blocked" and badge["error"]["code"] == "choose_organisation"
    assert "none is chosen yet; this invoice waits until one is" in badge["error"]["message"]
    provider, notifications = FakeProvider(), NotificationRepository()
    engine = builders.invoice_sync(docs, world.connections, runs, provider, notifications=notifications)
    report = engine.run(SyncJob(company_id="acme", invoice_id="inv-1", provider=PROVIDER))
    assert report.outcome == "blocked"
    assert "none is chosen yet; the invoice waits until one is" in (report.error or "")
    assert sum(provider.writes.values()) == 0
    [told] = notifications.for_company("acme")
    assert told.title == "Choose which Xero organisation to connect"
    from booksync.onboarding.wizard import Wizard

    with pytest.raises(OrganisationNotChosen, match="the post-connection wizard waits"):
        Wizard(connections=world.connections, documents=docs, directory_for=_no_directory).state(
            "acme", PROVIDER
        )
    world.service.choose_organisation(company_id="acme", provider=PROVIDER, organisation_id="tenant-north")
    assert engine.run(SyncJob(company_id="acme", invoice_id="inv-1", provider=PROVIDER)).outcome == "synced"


def _no_directory(_row: ConnectionModel) -> ProviderDirectory:
    raise AssertionError("the wizard reads no provider before an organisation is chosen")


def test_a_provider_that_declares_no_choice_connects_nothing_when_offered_several(
    tables: SimpleNamespace, kms_key: str
) -> None:
    oauth = FakeOAuth(organisations=[NORTH, SOUTH])  # QuickBooks: one company per consent
    service = fake_integrations(ConnectionRepository(), DocumentRepository(), kms_key, oauth=oauth)
    url = service.start_connect(company_id="acme", user_id="acme-admin", provider="quickbooks")
    with pytest.raises(InvalidRequest, match="granted 2 accounts for one consent"):
        connect_realm(service, state_of(url), realm="9130", company_id="acme", user_id="acme-admin")
    assert ConnectionRepository().get("acme", "quickbooks") is None
