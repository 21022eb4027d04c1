"""The sync-run row of a resumable catalog job: its cursor, its progress and who holds it.

The row, not the queue message, is the job's memory: a message only says "run R, step N".
A step is claimed with a conditional update, so a redelivered older message (its successor
already queued) or a duplicate of a step still being worked on stops at once instead of
running a second chain beside the first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from booksync.documents import DocumentKind
from booksync.store.models import DocumentModel, SyncRunModel
from booksync.store.runs import finish_actions, progress_actions


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _save_cursor(
    row: SyncRunModel,
    *,
    step: int,
    cursor: Mapping[str, Any],
    counts: Mapping[str, int],
    errors: list[dict[str, str | None]],
    also: Sequence[Action] = (),
) -> None:
    """The cursor and progress (and ``also``), only while ``step`` still owns the run."""
    row.update(
        actions=[SyncRunModel.cursor.set(dict(cursor)), *progress_actions(counts, errors), *also],
        condition=SyncRunModel.step == step,
    )


class ParkedRuns:
    """Catalog runs parked because the connection broke: unfinished, their cursor saved.

    A reconnection finds its company's by a consistent query of the recent runs (run ids sort
    by start time), filtered on kind and status. The sweep, which must find the runs a failed
    reconnection step left behind in any company, reads the sparse parked-index instead of
    scanning.
    """

    def park(
        self,
        row: SyncRunModel,
        *,
        step: int,
        cursor: Mapping[str, Any],
        counts: Mapping[str, int],
        errors: list[dict[str, str | None]],
    ) -> None:
        """Stop without finishing: the run keeps its cursor and waits for the reconnection."""
        parking = [
            SyncRunModel.status.set("parked"),
            SyncRunModel.lease_until.remove(),
            SyncRunModel.parked_key.set(row.provider),
        ]
        _save_cursor(row, step=step, cursor=cursor, counts=counts, errors=errors, also=parking)

    def parked(self, company_id: str, provider: str, *, since_run_id: str) -> list[SyncRunModel]:
        return list(
            SyncRunModel.query(
                company_id,
                SyncRunModel.run_id >= since_run_id,
                filter_condition=(SyncRunModel.kind == "catalog")
                & (SyncRunModel.provider == provider)
                & (SyncRunModel.status == "parked")
                & SyncRunModel.finished_at.does_not_exist(),
                consistent_read=True,
            )
        )

    def parked_companies(self, provider: str) -> set[str]:
        """Every company with a catalog run parked on ``provider``, from the sparse index (its
        entries may lag or outlive the park by a moment: ``parked`` re-reads consistently)."""
        return {row.company_id for row in SyncRunModel.parked_index.query(provider)}

    def take(self, row: SyncRunModel) -> bool:
        """Show a parked run queued again once its message is sent; False when a worker (or
        another reconnection) already moved it on."""
        try:
            row.update(
                actions=[SyncRunModel.status.set("queued"), SyncRunModel.parked_key.remove()],
                condition=(SyncRunModel.status == "parked") & SyncRunModel.finished_at.does_not_exist(),
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True


class CatalogRunStore(ParkedRuns):
    def get(self, company_id: str, run_id: str) -> SyncRunModel | None:
        try:
            return SyncRunModel.get(company_id, run_id, consistent_read=True)
        except SyncRunModel.DoesNotExist:
            return None

    def claim(
        self, company_id: str, run_id: str, *, step: int, now: float, lease_until: float
    ) -> SyncRunModel | None:
        """Hold the run for ``step``; None when a newer step owns it, it is finished or another
        worker holds this step's lease."""
        row = SyncRunModel(company_id, run_id)
        newer_or_same = (
            SyncRunModel.step.does_not_exist()
            | (SyncRunModel.step < step)
            | ((SyncRunModel.step == step) & (SyncRunModel.lease_until < now))
        )
        try:
            row.update(
                actions=[
                    SyncRunModel.step.set(step),
                    SyncRunModel.lease_until.set(lease_until),
                    SyncRunModel.status.set("running"),
                    # A duplicate message may move a parked run on before its resumer takes it.
                    SyncRunModel.parked_key.remove(),
                ],
                condition=SyncRunModel.run_id.exists()
                & SyncRunModel.finished_at.does_not_exist()
                & newer_or_same,
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return None
            raise
        return self.get(company_id, run_id)

    def checkpoint(
        self,
        row: SyncRunModel,
        *,
        step: int,
        cursor: Mapping[str, Any],
        counts: Mapping[str, int],
        errors: list[dict[str, str | None]],
    ) -> None:
        """Progress for sync history and the cursor the next invocation starts from."""
        _save_cursor(row, step=step, cursor=cursor, counts=counts, errors=errors)

    def finish(
        self,
        row: SyncRunModel,
        *,
        step: int,
        status: str,
        counts: Mapping[str, int],
        errors: list[dict[str, str | None]],
        now: float,
    ) -> None:
        row.update(
            actions=[
                *finish_actions(status=status, counts=counts, errors=errors, now=now),
                SyncRunModel.lease_until.remove(),
                SyncRunModel.parked_key.remove(),
            ],
            condition=SyncRunModel.step == step,
        )


def documents_page(
    company_id: str, kind: DocumentKind, *, after: str | None, limit: int
) -> tuple[list[DocumentModel], str | None]:
    """Up to ``limit`` documents of ``kind`` in key order after the doc_key ``after``; and the
    doc_key to continue after (None when there are no more)."""
    start = {"company_id": {"S": company_id}, "doc_key": {"S": after}} if after else None
    result = DocumentModel.query(
        company_id,
        DocumentModel.doc_key.startswith(f"{kind.value}#"),
        consistent_read=True,
        limit=limit,
        last_evaluated_key=start,
    )
    rows = list(result)
    more = result.last_evaluated_key is not None and len(rows) == limit
    return rows, (rows[-1].doc_key if rows and more else None)
