"""Notifications: one per failure type while it lasts, for the company's admins."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from booksync.store.models import NotificationModel

RESOLVED_TTL_SECONDS = 30 * 86_400


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class NotificationRepository:
    def raise_once(
        self,
        company_id: str,
        kind: str,
        *,
        title: str,
        message: str,
        fix: str | None,
        now: float,
        subjects: Iterable[str] = (),
    ) -> bool:
        """Record a failure (of ``subjects``, the documents that failed, when it is theirs). True
        when this opened a new notification, False when one is already open."""
        row = NotificationModel(company_id, kind)
        failing = set(subjects)
        try:
            # Still open: count it, keep the latest words, leave read/dismissed as the admin set them.
            row.update(
                actions=[
                    NotificationModel.occurrences.add(1),
                    NotificationModel.last_seen_at.set(now),
                    NotificationModel.message.set(message),
                    *([NotificationModel.subjects.add(failing)] if failing else []),
                ],
                condition=NotificationModel.kind.exists() & NotificationModel.resolved_at.does_not_exist(),
            )
            return False
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
        NotificationModel(
            company_id,
            kind,
            title=title,
            message=message,
            fix=fix,
            occurrences=1,
            first_seen_at=now,
            last_seen_at=now,
            read=False,
            dismissed=False,
            subjects=failing or None,
        ).save()
        return True

    def settle(self, company_id: str, kind: str, subject: str, now: float) -> bool:
        """``subject`` (a document) no longer fails: the open notification of ``kind`` stops
        counting it, and resolves itself when no document it reports fails any more. True when
        it resolved. (One raised before subjects were kept resolves with the first one settled.)"""
        row = NotificationModel(company_id, kind)
        try:
            row.update(
                actions=[NotificationModel.subjects.delete({subject})],
                condition=NotificationModel.kind.exists()
                & NotificationModel.resolved_at.does_not_exist()
                & (
                    NotificationModel.subjects.contains(subject) | NotificationModel.subjects.does_not_exist()
                ),
            )
            if row.subjects:
                return False  # others still fail
            row.update(
                actions=[
                    NotificationModel.resolved_at.set(now),
                    NotificationModel.ttl.set(int(now + RESOLVED_TTL_SECONDS)),
                ],
                condition=NotificationModel.subjects.does_not_exist()
                & NotificationModel.resolved_at.does_not_exist(),
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False  # not open, not this document's, or another failure joined it meanwhile
            raise
        return True

    def resolve(self, company_id: str, kind_prefix: str, now: float) -> int:
        """Close the open notifications whose kind starts with ``kind_prefix`` (the failure ended)."""
        closed = 0
        for row in NotificationModel.query(company_id, NotificationModel.kind.startswith(kind_prefix)):
            if row.resolved_at is None:
                row.update(
                    actions=[
                        NotificationModel.resolved_at.set(now),
                        NotificationModel.ttl.set(int(now + RESOLVED_TTL_SECONDS)),
                    ]
                )
                closed += 1
        return closed

    def for_company(self, company_id: str, *, include_dismissed: bool = False) -> list[NotificationModel]:
        rows = list(NotificationModel.query(company_id, consistent_read=True))
        rows = [r for r in rows if include_dismissed or not r.dismissed]
        return sorted(rows, key=lambda r: -float(r.last_seen_at))

    def mark(
        self, company_id: str, kind: str, *, read: bool | None = None, dismissed: bool | None = None
    ) -> bool:
        actions: list[Action] = []
        if read is not None:
            actions.append(NotificationModel.read.set(read))
        if dismissed is not None:
            actions.append(NotificationModel.dismissed.set(dismissed))
        try:
            NotificationModel(company_id, kind).update(
                actions=actions, condition=NotificationModel.kind.exists()
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True
