"""A provider that lets only some of its accounts be connected to an app (Wave: businesses on its
paid plans, in USD or CAD) refuses a consent for that reason: the integration's card says why and
what to do (Integrations over moto's tables and KMS, the fake OAuth server):
- a consent whose accounts the provider lets none be connected (``NotConnectable``) connects
  nothing and claims nothing; the card, Not Connected, gives the reason; a later consent that
  connects clears it;
- a refused reconnect of a connection that needs one says why on it; one that works is left alone;
- a consent refused on the provider's own screen (the redirect's ``error``) says, for a provider
  that declares what an account must be, those requirements on the card; for others nothing is
  stored, as before."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from types import SimpleNamespace

import pytest
from booksync.errors import InvalidRequest, NotConnectable
from booksync.integrations import Integrations
from booksync.providers.declaration import Capability
from booksync.providers.port import Organisation, TokenSet
from booksync.providers.profile import ProviderProfile
from booksync.providers.registry import REGISTRY, declaration
from booksync.store.connections import ConnectionRepository, ConnectionStatus
from booksync.store.documents import DocumentRepository

from tests.fakes.integrations import complete_connect, fake_integrations, state_of
from tests.fakes.oauth import FakeOAuth

PROVIDER = "wave"
REQUIREMENTS = "Only businesses on a paid plan, in USD or CAD, can be connected."
BUSINESS = Organisation(id="biz-1", name="Acme Plumbing", ids={"business": "biz-1"})


@pytest.fixture(autouse=True)
def picky_provider() -> Iterator[None]:
    """An accounting provider that declares what an account must be to be connected."""
    books = declaration("quickbooks")
    undo = REGISTRY.declare(
        dataclasses.replace(
            books,
            name=PROVIDER,
            profile=ProviderProfile(
                label="Wave", name_rules="Wave limits names", connect_requirements=REQUIREMENTS
            ),
            capabilities=books.capabilities | {Capability.ORGANISATION_CHOICE},
            account_on_redirect=None,
        )
    )
    yield
    undo()


class PickyOAuth(FakeOAuth):
    """Its consent reaches accounts; while ``refusing``, it lets none of them be connected."""

    name = PROVIDER

    def __init__(self) -> None:
        super().__init__(organisations=(BUSINESS,))
        self.refusing = True

    def list_organisations(self, tokens: TokenSet) -> Sequence[Organisation]:
        if self.refusing:
            raise NotConnectable(
                "None of the businesses can be connected: Euro Ltd (its currency is EUR).",
                provider=PROVIDER,
                fix="Connect a USD or CAD business on a paid plan.",
            )
        return super().list_organisations(tokens)


@pytest.fixture
def world(tables: SimpleNamespace, kms_key: str) -> SimpleNamespace:
    oauth = PickyOAuth()
    connections = ConnectionRepository()
    service = fake_integrations(connections, DocumentRepository(), kms_key, oauth=oauth)
    return SimpleNamespace(oauth=oauth, connections=connections, service=service)


def connect(
    service: Integrations,
    provider: str = PROVIDER,
    *,
    error: str | None = None,
    description: str | None = None,
) -> object:
    url = service.start_connect(company_id="acme", user_id="acme-admin", provider=provider)
    if error is not None:
        return service.accept_callback(
            provider=provider,
            state=state_of(url),
            code=None,
            account_id=None,
            error=error,
            error_description=description,
        )
    return complete_connect(
        service,
        provider=provider,
        state=state_of(url),
        code="code-1",
        account_id="realm-1" if provider == "quickbooks" else None,
        company_id="acme",
        user_id="acme-admin",
    )


def test_a_consent_whose_accounts_none_can_be_connected_says_why_on_the_card(world: SimpleNamespace) -> None:
    with pytest.raises(NotConnectable) as refused:
        connect(world.service)
    assert "EUR" in refused.value.message and "USD or CAD" in refused.value.fix
    card = world.service.describe("acme", PROVIDER)
    assert (card["status_label"], card["actions"]) == ("Not Connected", ["connect"])
    assert card["needs_reconnection_reason"] == f"{refused.value.message} {refused.value.fix}"
    row = world.connections.get("acme", PROVIDER)
    assert row is not None and row.token_ciphertext is None and row.account_id is None
    assert world.connections.account_owner(PROVIDER, BUSINESS.id) is None
    # The user upgrades the business in the provider and connects again: the reason is gone.
    world.oauth.refusing = False
    connect(world.service)
    card = world.service.describe("acme", PROVIDER)
    assert (card["status_label"], card["account_id"], card["needs_reconnection_reason"]) == (
        "Connected",
        BUSINESS.id,
        None,
    )


def test_a_refused_reconnect_says_why_on_a_broken_connection_and_leaves_a_working_one_alone(
    world: SimpleNamespace,
) -> None:
    world.oauth.refusing = False
    connect(world.service)
    world.oauth.refusing = True
    with pytest.raises(NotConnectable):
        connect(world.service)
    card = world.service.describe("acme", PROVIDER)  # the connection it had still works
    assert (card["status_label"], card["account_id"], card["needs_reconnection_reason"]) == (
        "Connected",
        BUSINESS.id,
        None,
    )
    row = world.connections.get("acme", PROVIDER)
    assert row is not None
    world.connections.mark_broken(
        row, status=ConnectionStatus.NEEDS_RECONNECTION, code="invalid_grant", message="x"
    )
    with pytest.raises(NotConnectable):
        connect(world.service)
    card = world.service.describe("acme", PROVIDER)
    assert card["status_label"] == "Needs Reconnection" and "EUR" in card["needs_reconnection_reason"]


def test_a_consent_refused_on_the_providers_screen_says_what_an_account_must_be(
    world: SimpleNamespace,
) -> None:
    said = "business_plan_required: Acme Plumbing is on the Starter plan\r\n"
    with pytest.raises(InvalidRequest) as refused:
        connect(world.service, error="access_denied", description=said)
    assert REQUIREMENTS in refused.value.message
    card = world.service.describe("acme", PROVIDER)
    assert card["status_label"] == "Not Connected"
    reason = card["needs_reconnection_reason"]
    assert reason.startswith(
        "Wave did not grant access (access_denied: business_plan_required: Acme Plumbing is on the "
        "Starter plan). "
    )
    assert REQUIREMENTS in reason and "\r" not in reason
    # A provider that declares no requirements stores nothing for a refused consent, as before.
    with pytest.raises(InvalidRequest):
        connect(world.service, "quickbooks", error="access_denied")
    assert world.connections.get("acme", "quickbooks") is None
