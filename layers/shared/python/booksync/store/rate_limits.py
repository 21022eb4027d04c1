"""``RateLimiter`` over DynamoDB: each connection's limit state is one row of the Intents table,
changed only by a write conditional on the version it was read at, so ten Lambdas admitting
requests for one provider company at once never admit more than its limits allow together.

A change reads the row (consistently), applies ``LimitState``'s rule and writes it back on
condition that nobody wrote it meanwhile; a lost race reads again. Rows carry a TTL past the end
of the provider's day, so an idle company's row goes by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pynamodb.exceptions import DoesNotExist, PutError

from booksync.store.models import RateLimitModel
from booksync.sync.limiter import Limits
from booksync.sync.rate_limits import Admission, LimitState

T = TypeVar("T")
# Lost races in a row before giving up (each lost race means another process's change went in).
MAX_RACES = 50


class LimitContended(Exception):
    """Other processes kept changing the row: not expected under any provider's limits."""


class DynamoRateLimiter:
    def admit(
        self, key: str, limits: Limits, *, now: float, batch: bool, slot: str, lease_until: float
    ) -> Admission:
        return self._change(
            key,
            limits,
            now,
            lambda state: state.admit(limits, now=now, batch=batch, slot=slot, lease_until=lease_until),
            write_if=lambda admission: admission.slot is not None,
        )

    def release(self, key: str, limits: Limits, slot: str, *, now: float) -> None:
        self._change(key, limits, now, lambda state: state.release(slot, now=now), write_if=lambda _: True)

    def state(self, key: str) -> LimitState:
        """As stored now (tests and reports)."""
        try:
            return LimitState.loads(RateLimitModel.get(key, consistent_read=True).state)
        except DoesNotExist:
            return LimitState()

    def _change(
        self,
        key: str,
        limits: Limits,
        now: float,
        change: Callable[[LimitState], T],
        *,
        write_if: Callable[[T], bool],
    ) -> T:
        for _ in range(MAX_RACES):
            try:
                row: RateLimitModel | None = RateLimitModel.get(key, consistent_read=True)
            except DoesNotExist:
                row = None
            state = LimitState.loads(row.state if row is not None else None)
            result = change(state)
            if not write_if(result):
                return result  # nothing admitted: the row stays as it was
            version = int(row.version) if row is not None else 0
            condition = (
                RateLimitModel.key.does_not_exist() if row is None else RateLimitModel.version == version
            )
            try:
                RateLimitModel(
                    key, version=version + 1, state=state.dumps(), ttl=int(state.expires_at(limits, now))
                ).save(condition=condition)
            except PutError as exc:
                if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                    raise
                continue
            return result
        raise LimitContended(key)
