"""Whose connection is it (Integrations over moto's tables and KMS, the fake OAuth server):
- a consent connects only the user and company that started it, whoever's browser brings it back;
- one QuickBooks realm belongs to one company, and its webhooks act for that company only;
- a connection link's state is checked before it is spent, and outside values that become keys
  are bounded before any read."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from booksync.errors import AccountTaken, ConsentNotYours, InvalidRequest
from booksync.integrations import Connected, Integrations
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.links import LinkRepository
from booksync.store.models import ConnectionModel, DocumentModel, LinkMap, OAuthStateModel
from booksync.store.runs import RunRepository
from booksync.store.webhook_events import WebhookEventRepository
from booksync.webhooks.events import ChangeEventProcessor
from booksync.webhooks.port import ChangeEvent, WebhookOperation
from booksync.webhooks.quickbooks import FEED

from tests.dynamo_limits import enforce
from tests.fakes.integrations import fake_integrations
from tests.fakes.oauth import FakeOAuth


def state_of(url: str) -> str:
    return url.split("state=")[1].split("&", maxsplit=1)[0]


@pytest.fixture
def service(tables: SimpleNamespace, kms_key: str) -> Integrations:
    return fake_integrations(ConnectionRepository(), DocumentRepository(), kms_key, oauth=FakeOAuth())


def start(service: Integrations, company: str = "acme", user: str = "u1") -> str:
    return state_of(service.start_connect(company_id=company, user_id=user, provider="quickbooks"))


def test_a_state_sent_to_another_providers_callback_is_not_spent(service: Integrations) -> None:
    state = start(service)
    with pytest.raises(InvalidRequest, match="started for quickbooks") as refused:
        service.accept_callback(provider="square", state=state, code="c-1", account_id=None)
    assert "redirect URI" in (refused.value.fix or "")
    consent = service.accept_callback(provider="quickbooks", state=state, code="c-1", account_id="r-1")
    connected = service.confirm_connect(
        company_id="acme", user_id="u1", provider="quickbooks", consent=consent
    )
    assert (connected.company_id, connected.account_id) == ("acme", "r-1")


@pytest.mark.parametrize(("state", "realm"), [("s" * 3_000, "r-1"), (None, "9" * 3_000)])
def test_a_callback_key_too_long_for_dynamodb_is_refused_before_any_read(
    service: Integrations, monkeypatch: pytest.MonkeyPatch, state: str | None, realm: str
) -> None:
    real = start(service)
    enforce(monkeypatch)
    with pytest.raises(InvalidRequest, match="over 200 characters"):
        service.accept_callback(provider="quickbooks", state=state or real, code="c", account_id=realm)


def test_a_consent_key_too_long_for_dynamodb_is_refused_before_any_read(
    service: Integrations, monkeypatch: pytest.MonkeyPatch
) -> None:
    enforce(monkeypatch)
    with pytest.raises(InvalidRequest, match="already used or is unknown"):
        service.confirm_connect(
            company_id="acme", user_id="u1", provider="quickbooks", consent="s" * 3_000 + ".x"
        )


# -- a consent connects whoever started it, and nobody else (item 5) -----------------------------


def test_the_callback_connects_nothing_until_the_user_who_started_it_confirms(service: Integrations) -> None:
    state = start(service)
    consent = service.accept_callback(provider="quickbooks", state=state, code="c-1", account_id="r-1")
    assert ConnectionRepository().get("acme", "quickbooks") is None
    with pytest.raises(InvalidRequest, match="already used"):  # a replayed redirect
        service.accept_callback(provider="quickbooks", state=state, code="c-1", account_id="r-1")
    stored = OAuthStateModel.get(state)
    assert stored.code_ciphertext is not None and b"c-1" not in stored.code_ciphertext  # sealed
    assert consent.split(".", 1)[1] not in str(stored.consent_hash)  # only its digest is kept
    connected = service.confirm_connect(
        company_id="acme", user_id="u1", provider="quickbooks", consent=consent
    )
    assert (connected.company_id, connected.account_id) == ("acme", "r-1")
    with pytest.raises(InvalidRequest, match="already used"):
        service.confirm_connect(company_id="acme", user_id="u1", provider="quickbooks", consent=consent)


@pytest.mark.parametrize(("company", "user"), [("rival", "rival-admin"), ("acme", "u2")])
def test_a_consent_link_finished_by_another_account_connects_nothing_ever(
    service: Integrations, company: str, user: str
) -> None:
    """acme's admin u1 sends the consent link to someone else, who approves their own books: the
    browser that comes back is theirs, and their app confirms as them."""
    consent = service.accept_callback(provider="quickbooks", state=start(service), code="c", account_id="r-9")
    with pytest.raises(ConsentNotYours, match="started by another account") as refused:
        service.confirm_connect(company_id=company, user_id=user, provider="quickbooks", consent=consent)
    assert "Start the connection again from your own account" in refused.value.fix
    connections = ConnectionRepository()
    assert connections.get(company, "quickbooks") is None and connections.get("acme", "quickbooks") is None
    assert connections.account_owner("quickbooks", "r-9") is None
    with pytest.raises(InvalidRequest, match="already used"):  # spent: not even its starter can use it now
        service.confirm_connect(company_id="acme", user_id="u1", provider="quickbooks", consent=consent)


def test_a_wrong_consent_secret_is_refused_without_spending_the_real_one(service: Integrations) -> None:
    consent = service.accept_callback(provider="quickbooks", state=start(service), code="c", account_id="r-1")
    state = consent.split(".", 1)[0]
    for wrong in (f"{state}.guess", state, f"{state}."):
        with pytest.raises(InvalidRequest, match="already used or is unknown"):
            service.confirm_connect(company_id="acme", user_id="u1", provider="quickbooks", consent=wrong)
    assert service.confirm_connect(company_id="acme", user_id="u1", provider="quickbooks", consent=consent)


# -- one provider account, one company (item 6) ---------------------------------------------------


def connect(service: Integrations, company: str, realm: str) -> Connected:
    user = f"{company}-admin"
    state = start(service, company, user)
    consent = service.accept_callback(provider="quickbooks", state=state, code="c", account_id=realm)
    return service.confirm_connect(company_id=company, user_id=user, provider="quickbooks", consent=consent)


def test_a_realm_one_company_connected_is_refused_to_another_until_it_is_disconnected(
    service: Integrations,
) -> None:
    connections = ConnectionRepository()
    connect(service, "acme", "r-1")
    with pytest.raises(AccountTaken, match="already connected to another booksync company") as taken:
        connect(service, "rival", "r-1")
    assert "disconnect it there first" in taken.value.fix
    assert "acme" not in taken.value.message  # another company's name is not told
    assert connections.get("rival", "quickbooks") is None
    assert [row.company_id for row in connections.owner_connections("quickbooks", "r-1")] == ["acme"]
    connect(service, "acme", "r-1")  # its own realm again: a reconnect
    service.disconnect(company_id="acme", provider="quickbooks")
    assert connect(service, "rival", "r-1").company_id == "rival"
    assert connections.account_owner("quickbooks", "r-1") == "rival"


def test_a_callback_naming_another_realm_than_the_one_approved_connects_nothing(
    tables: SimpleNamespace, kms_key: str
) -> None:
    oauth = FakeOAuth()
    service = fake_integrations(ConnectionRepository(), DocumentRepository(), kms_key, oauth=oauth)
    oauth.approve("c-own", "r-own")
    consent = service.accept_callback(
        provider="quickbooks", state=start(service), code="c-own", account_id="r-9"
    )
    with pytest.raises(InvalidRequest, match=r"not given for the account the callback names \(r-9\)"):
        service.confirm_connect(company_id="acme", user_id="u1", provider="quickbooks", consent=consent)
    connections = ConnectionRepository()
    assert connections.get("acme", "quickbooks") is None
    assert connections.account_owner("quickbooks", "r-9") is None
    oauth.approve("c-9", "r-9")
    consent = service.accept_callback(
        provider="quickbooks", state=start(service), code="c-9", account_id="r-9"
    )
    connected = service.confirm_connect(
        company_id="acme", user_id="u1", provider="quickbooks", consent=consent
    )
    assert connected.account_id == "r-9"


def before_claims(company: str, realm: str, *, at: float, status: str = "connected") -> None:
    """A connection as booksync stored it before it claimed accounts (no claim row)."""
    ConnectionModel(
        company,
        "quickbooks",
        connection_id=f"c-{company}",
        account_id=realm,
        account_key=f"quickbooks#{realm}",
        connected_at=at,
        status=status,
    ).save()


def test_a_realm_connected_before_claims_stays_with_the_company_that_connected_it_first(
    service: Integrations,
) -> None:
    connections = ConnectionRepository()
    before_claims("old-gone", "r-1", at=1.0, status="disconnected")  # gave it up: no say
    before_claims("acme", "r-1", at=20.0)
    before_claims("beta", "r-1", at=30.0)  # a second company that connected it back then
    with pytest.raises(AccountTaken, match="already connected to another booksync company"):
        connect(service, "rival", "r-1")
    assert connections.get("rival", "quickbooks") is None
    assert connections.account_owner("quickbooks", "r-1") == "acme"
    assert [row.company_id for row in connections.owner_connections("quickbooks", "r-1")] == ["acme"]
    with pytest.raises(AccountTaken):  # beta connected it later than acme
        connect(service, "beta", "r-1")
    assert connect(service, "acme", "r-1").company_id == "acme"


def test_a_realm_only_disconnected_companies_connected_before_claims_is_free(service: Integrations) -> None:
    before_claims("acme", "r-1", at=1.0, status="disconnected")
    assert connect(service, "rival", "r-1").company_id == "rival"
    assert ConnectionRepository().account_owner("quickbooks", "r-1") == "rival"


def test_reconnecting_to_another_realm_frees_the_first(service: Integrations) -> None:
    connect(service, "acme", "r-1")
    connect(service, "acme", "r-2")
    assert connect(service, "rival", "r-1").account_id == "r-1"
    with pytest.raises(AccountTaken):
        connect(service, "rival", "r-2")


def test_quickbooks_webhooks_act_only_for_the_company_that_owns_the_realm(service: Integrations) -> None:
    connect(service, "acme", "r-1")
    # A second company's row for the same realm, as two connections made before claims left it.
    ConnectionModel(
        "rival", "quickbooks", connection_id="c9", account_id="r-1", account_key="quickbooks#r-1"
    ).save()
    for company in ("acme", "rival"):
        DocumentModel(
            company,
            "customer#c-1",
            kind="customer",
            doc_id="c-1",
            body={},
            content_hash="h",
            updated_at=1,
            link_quickbooks=LinkMap(remote_id="42", outcome="synced", pushed_hash="h", synced_at=1),
        ).save()
    processor = ChangeEventProcessor(
        provider="quickbooks",
        label="QuickBooks",
        feed=FEED,
        events=WebhookEventRepository(),
        connections=ConnectionRepository(),
        links=LinkRepository("quickbooks"),
        runs=RunRepository(),
    )
    event = ChangeEvent(
        event_id="e-1", account_id="r-1", entity="Customer", entity_id="42", operation=WebhookOperation.DELETE
    )
    assert processor.handle(event) == "recreate"
    links = {c: DocumentModel.get(c, "customer#c-1").link("quickbooks") for c in ("acme", "rival")}
    assert links["acme"] is not None and links["acme"].remote_id is None  # recreated on the next sync
    assert links["rival"] is not None and links["rival"].remote_id == "42"  # not its realm's owner
