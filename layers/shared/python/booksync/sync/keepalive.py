"""Token keep-alive: refresh tokens older than a day, and warn before a grant lapses.

Intuit's refresh tokens roll over 100 days from last use and end after 5 years whatever is done;
Square's PKCE-flow refresh tokens end 90 days after they are issued (the code flow's never do).
A company that syncs rarely would otherwise find its connection dead. The connections whose
refresh is due are read from the sparse ``refresh-index`` (never a scan).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from booksync.errors import BooksyncError, NeedsReconnection
from booksync.providers.profile import provider_label
from booksync.providers.registry import declaration
from booksync.store.connections import ConnectionStatus
from booksync.store.models import ConnectionModel

logger = logging.getLogger(__name__)


class Refresher(Protocol):
    def keep_alive(self) -> None: ...


class DueConnections(Protocol):
    """Connection rows, and those whose refresh is due (``store.connections``)."""

    def refresh_due(self, provider: str, now: float) -> Iterable[ConnectionModel]: ...

    def get(self, company_id: str, provider: str) -> ConnectionModel | None: ...


class Notifier(Protocol):
    """A company's notifications, one per kind while it lasts (``store.notifications``)."""

    def raise_once(
        self, company_id: str, kind: str, *, title: str, message: str, fix: str | None, now: float
    ) -> bool: ...


@dataclass
class KeepAliveReport:
    refreshed: int = 0
    failed: int = 0
    warned: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


class KeepAlive:
    def __init__(
        self,
        *,
        connections: DueConnections,
        notifications: Notifier,
        refresher_for: Callable[[ConnectionModel], Refresher],
        providers: tuple[str, ...],  # those whose refresh tokens lapse unless used (registry)
        warning_seconds: float = 14 * 86_400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._connections = connections
        self._notifications = notifications
        self._refresher_for = refresher_for
        self._providers = providers
        self._warning = warning_seconds
        self._clock = clock

    def run(self) -> KeepAliveReport:
        report = KeepAliveReport()
        now = self._clock()
        for provider in self._providers:
            for row in self._connections.refresh_due(provider, now):
                self._one(row, report)
        return report

    def _one(self, row: ConnectionModel, report: KeepAliveReport) -> None:
        if row.status != ConnectionStatus.CONNECTED:
            report.skipped += 1
            return
        try:
            self._refresher_for(row).keep_alive()
            report.refreshed += 1
        except NeedsReconnection:
            report.failed += 1  # the token source marked it and cleared the refresh token
            self._notify_reconnect(row)
            return
        except BooksyncError as exc:
            report.failed += 1
            report.errors.append(f"{row.company_id}/{row.provider}: {exc.message}")
            logger.warning(
                "keep-alive refresh failed", extra={"company_id": row.company_id, "error": exc.code}
            )
            return
        self._warn_if_expiring(row, report)

    def _warn_if_expiring(self, row: ConnectionModel, report: KeepAliveReport) -> None:
        fresh = self._connections.get(row.company_id, row.provider)
        expires = fresh.refresh_expires_at if fresh is not None else None
        if expires is None or float(expires) - self._clock() > self._warning:
            return
        days = max(0, int((float(expires) - self._clock()) // 86_400))
        label = provider_label(row.provider)
        if declaration(row.provider).refresh_lapse_when_idle:  # a lapse when unused, not an end
            title = f"{label}'s authorization lapses if it goes unused"
            message = (
                f"The {label} authorization for this company lapses if it is not used for {days} "
                "more day(s); every refresh extends it."
            )
            fix = (
                f"Nothing to do while booksync keeps refreshing it; if {label} stops accepting it, "
                f"reconnect {label} (Settings > Integrations > Reconnect)."
            )
        else:
            title = f"{label} will need to be reconnected soon"
            message = (
                f"The {label} authorization for this company ends in {days} day(s) and cannot be extended."
            )
            fix = f"Reconnect {label} (Settings > Integrations > Reconnect) before then."
        self._notifications.raise_once(
            row.company_id,
            f"{row.provider}:refresh_expiring",
            title=title,
            message=message,
            fix=fix,
            now=self._clock(),
        )
        report.warned += 1

    def _notify_reconnect(self, row: ConnectionModel) -> None:
        label = provider_label(row.provider)
        self._notifications.raise_once(
            row.company_id,
            f"{row.provider}:needs_reconnection",
            title=f"{label} needs to be reconnected",
            message=f"{label} no longer accepts this company's authorization.",
            fix="Reconnect the integration (Settings > Integrations > Reconnect).",
            now=self._clock(),
        )
