"""The connect flow's one-time states (``Integrations`` over ``OAuthStates``) with in-memory
states and a cipher without KMS: what a callback and a confirmation may do with a state, and
what each refusal says. The whole flow against DynamoDB and KMS: tests/integration/test_api.py;
the states' table: tests/integration/test_store_ports_dynamodb.py."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from booksync.errors import ConsentNotYours, InvalidRequest
from booksync.integrations import STATE_TTL_SECONDS, Integrations
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository

from tests.fakes.oauth import FakeOAuth
from tests.fakes.store import ContextCipher, InMemoryOAuthStates

COMPANY, USER, PROVIDER = "co-1", "user-1", "quickbooks"
USED = "already used or is unknown"


class Flow:
    def __init__(self, *, pkce: bool = False) -> None:
        self.now = 1_800_000_000.0
        self.states = InMemoryOAuthStates()
        self.oauth = FakeOAuth(uses_pkce=pkce)
        # The repositories' adapters are never called before a consent is confirmed.
        self.service = Integrations(
            connections=ConnectionRepository(),
            documents=DocumentRepository(),
            cipher=ContextCipher(),
            oauth_for=lambda _provider: self.oauth,
            redirect_uri_for=lambda provider: f"https://api.example.com/oauth/{provider}/callback",
            clock=lambda: self.now,
            states=self.states,
        )

    def start(self, user: str = USER) -> str:
        url = self.service.start_connect(company_id=COMPANY, user_id=user, provider=PROVIDER)
        return parse_qs(urlparse(url).query)["state"][0]

    def callback(self, state: str, *, provider: str = PROVIDER, error: str | None = None) -> str:
        return self.service.accept_callback(
            provider=provider, state=state, code="code-1", account_id="realm-1", error=error
        )


def test_a_state_waits_with_its_verifier_and_expires_after_its_ttl() -> None:
    flow = Flow(pkce=True)
    state = flow.start()
    stored = flow.states.rows[state]
    assert (stored["company_id"], stored["user_id"], stored["provider"]) == (COMPANY, USER, PROVIDER)
    assert stored["code_verifier"] is not None and flow.oauth.challenges[-1] is not None
    flow.now += STATE_TTL_SECONDS + 1
    with pytest.raises(InvalidRequest, match="expired"):
        flow.callback(state)


def test_the_code_is_sealed_on_the_state_once() -> None:
    flow = Flow()
    state = flow.start()
    consent = flow.callback(state)
    assert consent.startswith(f"{state}.")
    sealed = flow.states.rows[state]
    assert sealed["account_id"] == "realm-1" and b"code-1" in sealed["code_ciphertext"]
    with pytest.raises(InvalidRequest, match=USED):
        flow.callback(state)


def test_a_state_back_at_another_providers_callback_is_refused_and_kept_for_its_own() -> None:
    flow = Flow()
    state = flow.start()
    with pytest.raises(InvalidRequest, match="started for quickbooks") as refused:
        flow.callback(state, provider="square")
    assert "/oauth/square/callback" in refused.value.fix
    assert state in flow.states.rows
    flow.callback(state)


def test_a_refused_consent_spends_its_state() -> None:
    flow = Flow()
    state = flow.start()
    with pytest.raises(InvalidRequest, match="did not grant access"):
        flow.callback(state, error="access_denied")
    assert flow.states.rows == {}
    with pytest.raises(InvalidRequest, match=USED):
        flow.callback(state)


def test_a_consent_confirmed_by_another_user_connects_nothing_and_is_spent() -> None:
    flow = Flow()
    consent = flow.callback(flow.start())
    with pytest.raises(ConsentNotYours, match="started by another account"):
        flow.service.confirm_connect(company_id=COMPANY, user_id="user-2", provider=PROVIDER, consent=consent)
    assert flow.states.rows == {} and flow.oauth.exchanges == 0
    with pytest.raises(InvalidRequest, match=USED):
        flow.service.confirm_connect(company_id=COMPANY, user_id=USER, provider=PROVIDER, consent=consent)


def test_a_consent_with_another_secret_is_refused_and_leaves_the_state_for_the_right_one() -> None:
    flow = Flow()
    consent = flow.callback(flow.start())
    state = consent.partition(".")[0]
    with pytest.raises(InvalidRequest, match=USED):
        flow.service.confirm_connect(
            company_id=COMPANY, user_id=USER, provider=PROVIDER, consent=f"{state}.not-the-secret"
        )
    assert state in flow.states.rows
