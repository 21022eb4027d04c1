"""``RateLimiter`` over DynamoDB: each connection's limit state is one row of the Intents table,
changed only by a write conditional on the version it was read at, so ten Lambdas admitting
requests for one provider company at once never admit more than its limits allow together.

Taking a slot reads the row (consistently), applies ``LimitState``'s rule and writes it back on
condition that nobody wrote it meanwhile; a lost race reads again. Giving one back is one write
and no read: the slot and when its answer came are appended to the row's ``released`` list (the
row must exist: it was written when the slot was taken), and its version moves, so a concurrent
admission that read the row before reads again. The next admission folds what was released into
the state (``LimitState.release``, at each slot's own time) and writes the state without the list.
Uncontended, a slot costs three requests (read, write; append); two admissions racing still lose
and read again, but a release never does. Rows carry a TTL past the end of the provider's day, so
an idle company's row goes by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

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
        """One conditional append, no read. A row that is gone (its TTL passed: nothing in it
        matters any more) has nothing to give back."""
        try:
            # Through the table connection: Model.update would ask for the whole row back.
            RateLimitModel._get_connection().update_item(
                key,
                actions=[
                    RateLimitModel.released.set((RateLimitModel.released | []).append([f"{slot} {now!r}"])),
                    RateLimitModel.version.add(1),
                ],
                condition=RateLimitModel.key.exists(),
                return_values="NONE",
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise

    def state(self, key: str) -> LimitState:
        """As stored now, what was given back included (tests and reports)."""
        try:
            return _stored(RateLimitModel.get(key, consistent_read=True))
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
            state = _stored(row) if row is not None else LimitState()
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


def _stored(row: RateLimitModel) -> LimitState:
    """The row's state with the slots given back since it was written folded in."""
    state = LimitState.loads(row.state)
    for entry in row.released or ():
        slot, _, at = str(entry).partition(" ")
        state.release(slot, now=float(at))
    return state
