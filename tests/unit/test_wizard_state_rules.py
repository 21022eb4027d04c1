"""The post-connection wizard's progress (``onboarding/wizard.py``) over in-memory connection
rows: opened once per connection, steps skipped or done, the summary, and who has no wizard. The
imports themselves run against DynamoDB in tests/integration/test_onboarding_wizard.py."""

from __future__ import annotations

import pytest
from booksync.errors import NotFoundError, OrganisationNotChosen
from booksync.onboarding.wizard import Wizard
from booksync.providers.port import ProviderDirectory
from booksync.store.connections import ConnectionStatus
from booksync.store.documents import DocumentRepository
from booksync.store.models import ConnectionModel, ConnectionSettingsMap

from tests.fakes.store import InMemoryConnections

COMPANY, PROVIDER = "co-1", "quickbooks"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def no_directory(connection: ConnectionModel) -> ProviderDirectory:
    raise AssertionError(f"the wizard's progress reads no provider ({connection.provider})")


def wizard(*rows: ConnectionModel) -> tuple[Wizard, InMemoryConnections, Clock]:
    connections, clock = InMemoryConnections(*rows), Clock()
    # The documents' adapter is never called on these paths (it would need DynamoDB).
    built = Wizard(
        connections=connections, documents=DocumentRepository(), directory_for=no_directory, clock=clock
    )
    return built, connections, clock


def row(provider: str = PROVIDER, status: str = ConnectionStatus.CONNECTED) -> ConnectionModel:
    return ConnectionModel(COMPANY, provider, connection_id="conn-1", status=status, connected_at=1.0)


def test_a_connection_opens_its_wizard_once_and_a_reconnect_keeps_its_progress() -> None:
    steps, connections, clock = wizard(row())
    steps.open(COMPANY, PROVIDER)
    opened = connections.rows[(COMPANY, PROVIDER)].wizard
    assert opened is not None and opened["opened_at"] == clock.now
    steps.skip(COMPANY, PROVIDER, "customers")
    clock.now += 3600
    steps.open(COMPANY, PROVIDER)  # a reconnect
    assert steps.state(COMPANY, PROVIDER)["steps"]["customers"]["status"] == "skipped"
    assert connections.rows[(COMPANY, PROVIDER)].wizard["opened_at"] == opened["opened_at"]


def test_a_payment_processor_gets_no_wizard() -> None:
    steps, connections, _ = wizard(row("square"))
    steps.open(COMPANY, "square")
    assert connections.rows[(COMPANY, "square")].wizard is None
    with pytest.raises(NotFoundError, match="no post-connection wizard"):
        steps.state(COMPANY, "square")


def test_the_next_step_follows_what_was_skipped_and_a_skip_is_kept_once() -> None:
    steps, connections, clock = wizard(row())
    steps.open(COMPANY, PROVIDER)
    assert steps.state(COMPANY, PROVIDER)["next"] == f"/integrations/{PROVIDER}/wizard/customers"
    first = steps.skip(COMPANY, PROVIDER, "customers")
    assert first["next"] == f"/integrations/{PROVIDER}/wizard/items"
    clock.now += 60
    again = steps.skip(COMPANY, PROVIDER, "customers")
    assert again["steps"]["customers"]["updated_at"] == first["steps"]["customers"]["updated_at"]
    steps.skip(COMPANY, PROVIDER, "items")
    assert steps.state(COMPANY, PROVIDER)["next"] == f"/integrations/{PROVIDER}/wizard/summary"
    assert connections.rows[(COMPANY, PROVIDER)].wizard["items"]["status"] == "skipped"


def test_the_summary_is_finished_once_no_step_is_open_and_shows_the_auto_sync_settings() -> None:
    connected = row()
    connected.settings = ConnectionSettingsMap(auto_sync_payments=False)
    steps, _, _ = wizard(connected)
    steps.open(COMPANY, PROVIDER)
    steps.skip(COMPANY, PROVIDER, "customers")
    summary = steps.summary(COMPANY, PROVIDER)
    assert summary["finished"] is False
    assert summary["auto_sync"] == {"invoices": True, "payments": False, "customers": True, "items": True}
    assert summary["auto_sync_on"] is False
    steps.skip(COMPANY, PROVIDER, "items")
    assert steps.summary(COMPANY, PROVIDER)["finished"] is True


def test_a_connection_not_made_or_waiting_for_its_organisation_has_no_wizard_yet() -> None:
    steps, _, _ = wizard(row(status=ConnectionStatus.DISCONNECTED))
    with pytest.raises(NotFoundError, match="is not connected") as refused:
        steps.state(COMPANY, PROVIDER)
    assert refused.value.fix == f"Connect it first: POST /integrations/{PROVIDER}/connect."
    with pytest.raises(NotFoundError):
        wizard()[0].summary(COMPANY, PROVIDER)
    choosing, _, _ = wizard(row(status=ConnectionStatus.CHOOSE_ORGANISATION))
    with pytest.raises(OrganisationNotChosen):
        choosing.skip(COMPANY, PROVIDER, "items")
