"""Sync history: one row per run (manual, automatic, sweep, catalog)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from pynamodb.expressions.update import Action

from booksync.store.models import RunErrorMap, SyncRunModel

RUN_TTL_SECONDS = 180 * 86_400
MAX_RUN_ERRORS = 200  # a DynamoDB item holds 400 KB; history shows the first ones and a count


def progress_actions(counts: Mapping[str, int], errors: list[dict[str, str | None]]) -> list[Action]:
    return [
        SyncRunModel.counts.set(dict(counts)),
        SyncRunModel.errors.set([RunErrorMap(**e) for e in errors[:MAX_RUN_ERRORS]]),
    ]


def finish_actions(
    *, status: str, counts: Mapping[str, int], errors: list[dict[str, str | None]], now: float
) -> list[Action]:
    return [
        SyncRunModel.status.set(status),
        *progress_actions(counts, errors),
        SyncRunModel.finished_at.set(now),
    ]


def new_run_id(now: float | None = None) -> str:
    """Sortable by start time, unique without coordination."""
    millis = int((now if now is not None else time.time()) * 1000)
    return f"{millis:013d}-{os.urandom(4).hex()}"


class RunRepository:
    def start(
        self,
        company_id: str,
        *,
        provider: str,
        kind: str,
        trigger: str,
        subject: str | None,
        now: float,
        run_id: str | None = None,
        status: str = "running",
    ) -> SyncRunModel:
        row = SyncRunModel(
            company_id,
            run_id or new_run_id(now),
            provider=provider,
            kind=kind,
            trigger=trigger,
            subject=subject,
            status=status,
            counts={},
            errors=[],
            started_at=now,
            ttl=int(now + RUN_TTL_SECONDS),
        )
        row.save()
        return row

    def get(self, company_id: str, run_id: str) -> SyncRunModel | None:
        try:
            return SyncRunModel.get(company_id, run_id, consistent_read=True)
        except SyncRunModel.DoesNotExist:
            return None

    def resume(self, company_id: str, run_id: str, now: float) -> SyncRunModel | None:
        row = self.get(company_id, run_id)
        if row is not None:
            row.update(actions=[SyncRunModel.status.set("running")])
        return row

    def finish(
        self,
        row: SyncRunModel,
        *,
        status: str,
        counts: Mapping[str, int],
        errors: list[dict[str, str | None]],
        now: float,
    ) -> None:
        row.update(actions=finish_actions(status=status, counts=counts, errors=errors, now=now))

    def recent(self, company_id: str, limit: int = 50) -> list[SyncRunModel]:
        return list(SyncRunModel.query(company_id, scan_index_forward=False, limit=limit))


def add_note(company_id: str, run_id: str, note: dict[str, str | None]) -> None:
    """Append one note to a run's history (atomic: concurrent workers of one run keep theirs)."""
    SyncRunModel(company_id, run_id).update(
        actions=[SyncRunModel.notes.set((SyncRunModel.notes | []).append([RunErrorMap(**note)]))]
    )
