"""The token keep-alive's rules (``sync/keepalive.py``) over in-memory connections and
notifications: which grants it refreshes, what a failed refresh tells the company, and when it
warns that a grant will lapse. The refresh-index read itself: tests/integration/test_store_ports_dynamodb.py."""

from __future__ import annotations

from collections.abc import Callable

from booksync.errors import NeedsReconnection, TransientError
from booksync.store.connections import ConnectionStatus
from booksync.store.models import ConnectionModel
from booksync.sync.keepalive import KeepAlive, KeepAliveReport

from tests.fakes.store import InMemoryConnections, InMemoryNotifications

NOW = 1_800_000_000.0
DAY = 86_400.0


def connection(
    company_id: str,
    *,
    provider: str = "quickbooks",
    due_at: float = NOW - 1,
    status: str = ConnectionStatus.CONNECTED,
    expires_in_days: float = 90,
) -> ConnectionModel:
    return ConnectionModel(
        company_id,
        provider,
        connection_id=f"conn-{company_id}",
        status=status,
        refresh_due_at=due_at,
        refresh_expires_at=NOW + expires_in_days * DAY,
    )


class Refresher:
    """Refreshes one connection's grant, or fails as its provider would."""

    def __init__(self, row: ConnectionModel, log: list[str], fail: Exception | None) -> None:
        self._row, self._log, self._fail = row, log, fail

    def keep_alive(self) -> None:
        self._log.append(str(self._row.company_id))
        if self._fail is not None:
            raise self._fail


def keeper(
    connections: InMemoryConnections,
    notifications: InMemoryNotifications,
    log: list[str],
    failures: dict[str, Exception] | None = None,
    providers: tuple[str, ...] = ("quickbooks",),
) -> KeepAlive:
    fails = failures or {}
    refresher_for: Callable[[ConnectionModel], Refresher] = lambda row: Refresher(  # noqa: E731
        row, log, fails.get(str(row.company_id))
    )
    return KeepAlive(
        connections=connections,
        notifications=notifications,
        refresher_for=refresher_for,
        providers=providers,
        warning_seconds=14 * DAY,
        clock=lambda: NOW,
    )


def test_only_connected_grants_whose_refresh_is_due_are_refreshed() -> None:
    connections = InMemoryConnections(
        connection("due"),
        connection("later", due_at=NOW + 60),
        connection("broken", status=ConnectionStatus.NEEDS_RECONNECTION),
        connection("square", provider="square"),
    )
    log: list[str] = []
    report = keeper(connections, InMemoryNotifications(), log).run()
    assert log == ["due"]
    assert (report.refreshed, report.skipped, report.failed, report.warned) == (1, 1, 0, 0)


def test_a_revoked_grant_counts_as_failed_and_asks_the_company_to_reconnect_once() -> None:
    connections = InMemoryConnections(connection("gone"))
    notifications = InMemoryNotifications()
    revoked = {"gone": NeedsReconnection("invalid_grant", provider="quickbooks")}
    for _ in range(2):
        report = keeper(connections, notifications, [], revoked).run()
        assert (report.refreshed, report.failed) == (0, 1)
    raised = notifications.raised[("gone", "quickbooks:needs_reconnection")]
    assert raised["occurrences"] == 2
    assert raised["fix"] == "Reconnect the integration (Settings > Integrations > Reconnect)."
    assert "QuickBooks" in raised["title"]


def test_a_passing_fault_is_reported_but_raises_no_notification() -> None:
    connections = InMemoryConnections(connection("flaky"), connection("fine"))
    notifications = InMemoryNotifications()
    failures: dict[str, Exception] = {"flaky": TransientError("Intuit answered 503.", provider="quickbooks")}
    report = keeper(connections, notifications, [], failures).run()
    assert (report.refreshed, report.failed) == (1, 1)
    assert report.errors == ["flaky/quickbooks: Intuit answered 503."]
    assert notifications.raised == {}


def test_a_grant_ending_within_the_warning_window_warns_with_the_days_left() -> None:
    connections = InMemoryConnections(connection("ending", expires_in_days=3.5), connection("far"))
    notifications = InMemoryNotifications()
    report = keeper(connections, notifications, []).run()
    assert report == KeepAliveReport(refreshed=2, warned=1)
    (key,) = notifications.raised
    assert key == ("ending", "quickbooks:refresh_expiring")
    assert notifications.raised[key]["message"] == (
        "The QuickBooks authorization for this company ends in 3 day(s) and cannot be extended."
    )


def test_a_refresh_token_that_lapses_only_when_idle_is_not_said_to_end() -> None:
    """Xero's declaration: its refresh tokens lapse after 60 days unused and each refresh extends
    them; the warning says so instead of "cannot be extended" (QuickBooks' hard end, above)."""
    connections = InMemoryConnections(connection("idle", provider="xero", expires_in_days=3.5))
    notifications = InMemoryNotifications()
    report = keeper(connections, notifications, [], providers=("xero",)).run()
    assert report == KeepAliveReport(refreshed=1, warned=1)
    raised = notifications.raised[("idle", "xero:refresh_expiring")]
    assert raised["message"] == (
        "The Xero authorization for this company lapses if it is not used for 3 more day(s); "
        "every refresh extends it."
    )
    assert "cannot be extended" not in raised["message"] and "lapses if it goes unused" in raised["title"]


def test_each_provider_the_registry_names_is_read_and_no_other() -> None:
    connections = InMemoryConnections(connection("qb"), connection("sq", provider="square"))
    log: list[str] = []
    keeper(connections, InMemoryNotifications(), log, providers=("square",)).run()
    assert log == ["sq"]
