"""Notifications: one per failure type while it lasts, for the company's admins."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from booksync.store.models import NotificationModel

RESOLVED_TTL_SECONDS = 30 * 86_400


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class NotificationRepository:
    def raise_once(
        self, company_id: str, kind: str, *, title: str, message: str, fix: str | None, now: float
    ) -> bool:
        """Record a failure. True when this opened a new notification, False when one is already open."""
        row = NotificationModel(company_id, kind)
        try:
            # Still open: count it, keep the latest words, leave read/dismissed as the admin set them.
            row.update(
                actions=[
                    NotificationModel.occurrences.add(1),
                    NotificationModel.last_seen_at.set(now),
                    NotificationModel.message.set(message),
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
        ).save()
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
