"""Intent rows: an outside write is recorded (and claimed) before it is made."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pynamodb.exceptions import PutError, UpdateError

from booksync.store.models import IntentModel

INTENT_TTL_SECONDS = 90 * 86_400
_NAMESPACE = uuid.UUID("6f1c3b1e-6a8e-4d8e-9f39-2c7a3f9e5b10")


@dataclass(frozen=True)
class Claim:
    request_id: str
    attempts_before: int  # > 0: an earlier attempt may have reached the provider
    done_remote_id: str | None  # set when the intent was already completed


def request_id_for(intent_key: str) -> str:
    """A stable provider idempotency key (36 chars: within QuickBooks' 50 and batch's 36)."""
    return str(uuid.uuid5(_NAMESPACE, intent_key))


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class IntentBusy(Exception):
    """Another worker holds this intent's claim right now (until ``lease_until``, when known)."""

    def __init__(self, intent_key: str, lease_until: float | None = None) -> None:
        super().__init__(intent_key)
        self.lease_until = lease_until

    def lease_left(self, now: float) -> float:
        return max(0.0, self.lease_until - now) if self.lease_until is not None else 0.0

    def held_for(self, now: float, lease_seconds: float) -> float:
        """How long the holder has held the claim (its lease began ``lease_seconds`` before it ends)."""
        return max(0.0, lease_seconds - self.lease_left(now)) if self.lease_until is not None else 0.0


class IntentRepository:
    def claim(self, intent_key: str, *, owner: str, now: float, lease_seconds: float) -> Claim:
        """Claim the intent for one attempt, creating it on first use.

        Raises IntentBusy while another worker's claim is live.
        """
        request_id = request_id_for(intent_key)
        try:
            IntentModel(
                intent_key,
                request_id=request_id,
                state="pending",
                attempts=1,
                owner=owner,
                lease_until=now + lease_seconds,
                created_at=now,
                updated_at=now,
                ttl=int(now + INTENT_TTL_SECONDS),
            ).save(condition=IntentModel.intent_key.does_not_exist())
            return Claim(request_id=request_id, attempts_before=0, done_remote_id=None)
        except PutError as exc:
            if not _conditional_failed(exc):
                raise
        row = IntentModel(intent_key)
        try:
            row.update(
                actions=[
                    IntentModel.owner.set(owner),
                    IntentModel.lease_until.set(now + lease_seconds),
                    IntentModel.attempts.add(1),
                    IntentModel.updated_at.set(now),
                ],
                condition=(IntentModel.state == "pending") & (IntentModel.lease_until < now),
            )
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
            current = IntentModel.get(intent_key, consistent_read=True)
            if current.state == "done":
                return Claim(
                    request_id=current.request_id,
                    attempts_before=int(current.attempts),
                    done_remote_id=current.remote_id,
                )
            lease_until = float(current.lease_until) if current.lease_until is not None else None
            raise IntentBusy(intent_key, lease_until) from None
        return Claim(request_id=row.request_id, attempts_before=int(row.attempts) - 1, done_remote_id=None)

    def renew(self, intent_key: str, *, owner: str, now: float, lease_seconds: float) -> None:
        """Extend our live claim; IntentBusy if it lapsed and another worker took it meanwhile."""
        try:
            IntentModel(intent_key).update(
                actions=[IntentModel.lease_until.set(now + lease_seconds), IntentModel.updated_at.set(now)],
                condition=(IntentModel.owner == owner) & (IntentModel.state == "pending"),
            )
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
            raise IntentBusy(intent_key) from None

    def complete(self, intent_key: str, *, owner: str, remote_id: str, now: float) -> None:
        IntentModel(intent_key).update(
            actions=[
                IntentModel.state.set("done"),
                IntentModel.remote_id.set(remote_id),
                IntentModel.owner.remove(),
                IntentModel.lease_until.remove(),
                IntentModel.updated_at.set(now),
            ]
        )

    def release(self, intent_key: str, *, owner: str, now: float) -> None:
        """Give the claim back after a failed attempt so the next try need not wait out the lease."""
        try:
            IntentModel(intent_key).update(
                actions=[IntentModel.lease_until.set(now), IntentModel.owner.remove()],
                condition=(IntentModel.owner == owner) & (IntentModel.state == "pending"),
            )
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
