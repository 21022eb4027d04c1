"""The DynamoDB adapters behind the ports the domain code declares (``integrations.OAuthStates``,
``sync.keepalive.DueConnections``, ``onboarding.wizard.WizardConnections``), one test each against
moto; the domain's rules run over the in-memory ones (tests/fakes/store.py) in
tests/unit/test_oauth_state_rules.py, test_keepalive_rules.py and test_wizard_state_rules.py."""

from __future__ import annotations

from booksync.security.vault import SealedTokens
from booksync.store.connections import ConnectionRepository
from booksync.store.models import ConnectionModel, OAuthStateModel
from booksync.store.oauth_states import OAuthStateRepository

from tests.conftest import only_table

SEALED = SealedTokens(encrypted_key=b"key", nonce=b"nonce", ciphertext=b"code")


def test_an_oauth_state_is_sealed_once_and_spent_once_with_its_consent(moto_url: str) -> None:
    states = OAuthStateRepository()
    with only_table("oauth_states_table"):
        states.create(
            OAuthStateModel(
                "s1",
                company_id="co",
                provider="quickbooks",
                user_id="u",
                redirect_uri="https://x/cb",
                ttl=2_000_000_000,
            )
        )
        row = states.get("s1")
        assert row is not None and states.get("nope") is None
        assert states.seal_code(row, consent_hash="h1", sealed=SEALED, account_id="realm")
        assert not states.seal_code(row, consent_hash="h2", sealed=SEALED, account_id=None)
        sealed = states.get("s1")
        assert sealed is not None
        assert (sealed.consent_hash, sealed.account_id, sealed.code_ciphertext) == ("h1", "realm", b"code")
        assert not states.spend(sealed, consent_hash="h2")
        assert states.spend(sealed, consent_hash="h1")
        assert not states.spend(sealed) and states.get("s1") is None


def test_connections_due_a_refresh_their_wizard_and_settings(moto_url: str) -> None:
    connections = ConnectionRepository()
    with only_table("connections_table"):
        for company, provider, due in (
            ("a", "quickbooks", 100),
            ("b", "quickbooks", 300),
            ("c", "square", 100),
        ):
            ConnectionModel(company, provider, connection_id=f"{company}-1", refresh_due_at=due).save()
        ConnectionModel("d", "quickbooks", connection_id="d-1").save()  # nothing to refresh
        assert [row.company_id for row in connections.refresh_due("quickbooks", 200)] == ["a"]
        row = connections.get("a", "quickbooks")
        assert row is not None
        connections.save_wizard(row, {"opened_at": 5, "customers": {"status": "open"}})
        connections.update_settings(row, {"auto_sync_items": False})
        fresh = connections.get("a", "quickbooks")
        assert fresh is not None and fresh.wizard == {"opened_at": 5, "customers": {"status": "open"}}
        assert fresh.settings is not None and fresh.settings.auto_sync_items is False
        assert fresh.connection_id == "a-1"
