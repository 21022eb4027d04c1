"""Connect with and without PKCE (Integrations over moto's tables and KMS, the fake OAuth server):
a PKCE client's consent URL carries the S256 challenge of a verifier kept in the one-time state
row, and the callback hands that verifier to the code exchange; a code-flow client gets neither.
Integrations asks only the client whether it uses PKCE (Square against its sandbox, in PKCE mode:
tests/integration/test_square_connection.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from booksync.integrations import Connected, Integrations
from booksync.providers.oauth_common import code_challenge
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.store.models import OAuthStateModel

from tests.fakes.integrations import connect_realm, fake_integrations, state_of
from tests.fakes.oauth import FakeOAuth


def integrations(oauth: FakeOAuth, kms_key: str) -> Integrations:
    return fake_integrations(ConnectionRepository(), DocumentRepository(), kms_key, oauth=oauth)


def finish(service: Integrations, state: str) -> Connected:
    """The provider's redirect with a code for realm-1, confirmed by the user who started it."""
    return connect_realm(service, state, realm="realm-1", company_id="acme", user_id="u1")


def test_a_code_flow_client_sends_no_challenge_and_keeps_no_verifier(
    tables: SimpleNamespace, kms_key: str
) -> None:
    oauth = FakeOAuth(uses_pkce=False)
    service = integrations(oauth, kms_key)
    url = service.start_connect(company_id="acme", user_id="u1", provider="quickbooks")
    state = state_of(url)
    assert oauth.challenges == [None]
    assert OAuthStateModel.get(state).code_verifier is None
    finish(service, state)
    assert oauth.verifiers == [None]


def test_a_pkce_client_gets_the_challenge_and_the_callback_hands_back_its_verifier(
    tables: SimpleNamespace, kms_key: str
) -> None:
    oauth = FakeOAuth(uses_pkce=True)
    service = integrations(oauth, kms_key)
    state = state_of(service.start_connect(company_id="acme", user_id="u1", provider="quickbooks"))
    verifier = OAuthStateModel.get(state).code_verifier
    assert verifier is not None and 43 <= len(verifier) <= 128
    assert oauth.challenges == [code_challenge(verifier)]
    other = state_of(service.start_connect(company_id="acme", user_id="u1", provider="quickbooks"))
    assert OAuthStateModel.get(other).code_verifier != verifier  # one verifier per attempt
    connected = finish(service, state)
    assert oauth.verifiers == [verifier]
    assert connected.account_id == "realm-1"
    with pytest.raises(OAuthStateModel.DoesNotExist):
        OAuthStateModel.get(state)  # the verifier went with its one-time state
