"""What one sync job reports: how it ended, what it counted, and the documents refused or not
supported on their own while the rest of the invoice synced."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


class Outcome:
    SYNCED = "synced"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    DELETED = "deleted"
    # The provider cannot do it (its declaration says so): said on the document and in history,
    # never retried nor notified.
    NOT_SUPPORTED = "not_supported"


@dataclass
class SyncReport:
    invoice_id: str
    outcome: str
    run_id: str | None
    counts: Counter[str] = field(default_factory=Counter)
    remote_invoice_id: str | None = None
    error: str | None = None
    # Documents refused on their own (a payment) while the rest of the invoice synced.
    failures: list[dict[str, str | None]] = field(default_factory=list)
    # Documents the provider cannot take (a payment where it has none): the run's notes.
    unsupported: list[dict[str, str | None]] = field(default_factory=list)
    # Documents that wait for an admin's setting (a payment for the account it goes into): left
    # pending, said on them, in history (the run is parked) and in one notification.
    held: list[dict[str, str | None]] = field(default_factory=list)
