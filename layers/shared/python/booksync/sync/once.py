"""Exactly-once outside writes: intent first, provider idempotency key, lookup after doubt.

A write is claimed in the intents table before it is sent. The provider receives an idempotency
key derived from the intent. If an earlier attempt may have reached the provider (a timeout, a
reset, a worker killed before it stored the answer), the object is looked up in the provider
before anything is created again; QuickBooks' requestid alone is not trusted to prevent that.

A write never outlives its claim: the provider calls that make it (retries and Retry-After waits
included) end before the claim's lease does, less ``LEASE_MARGIN`` of it, else a worker that took
the lapsed lease could write the same thing while the first write is still on its way. One that
would run past it fails retryably instead; the next attempt looks up before it writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from booksync.errors import WriteInProgress
from booksync.providers.http import calls_end_within
from booksync.providers.port import RemoteObject
from booksync.store.intents import IntentBusy, IntentRepository

R = TypeVar("R")


@dataclass(frozen=True)
class WriteResult(Generic[R]):
    remote: R  # what the provider holds: one object, or a batch's answers
    created: bool  # False: found by lookup or already done


class ExactlyOnce:
    # The part of the lease a write leaves unused at its end: the HTTP client caps each phase of a
    # request (pool, connect, write, read) by the time left, not their sum, and the workers' clocks
    # (which the lease is read by) may differ by a little.
    LEASE_MARGIN = 0.1

    def __init__(
        self,
        intents: IntentRepository,
        *,
        owner: str,
        provider: str,
        lease_seconds: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._intents = intents
        self._owner = owner
        self._provider = provider
        self._lease = lease_seconds
        self._clock = clock

    def write(
        self,
        intent_key: str,
        *,
        perform: Callable[[str], RemoteObject],
        lookup: Callable[[], RemoteObject | None],
        fetch: Callable[[str], RemoteObject | None],
    ) -> WriteResult[RemoteObject]:
        """One object: ``perform`` creates or changes it; ``fetch`` reads what an earlier attempt
        wrote (done earlier but gone from the provider since: the caller decides to recreate)."""
        return self.run(
            intent_key,
            perform=perform,
            lookup=lookup,
            done=lambda remote_id: fetch(remote_id) or RemoteObject(id=remote_id),
            remote_id=lambda remote: remote.id,
        )

    def run(
        self,
        intent_key: str,
        *,
        perform: Callable[[str], R],
        lookup: Callable[[], R | None],
        done: Callable[[str], R],
        remote_id: Callable[[R], str],
    ) -> WriteResult[R]:
        """The protocol for any write: claim the intent (or refuse while another worker holds it);
        an intent done earlier answers ``done(its remote id)``; after an earlier attempt, ``lookup``
        first (what it finds is the write's result), then ``perform`` with the intent's request id
        only while the claim is still ours; the intent is done with ``remote_id`` of the result."""
        claimed_at = self._clock()
        try:
            claim = self._intents.claim(
                intent_key, owner=self._owner, now=claimed_at, lease_seconds=self._lease
            )
        except IntentBusy as busy:
            now = self._clock()
            raise WriteInProgress(
                "Another worker is writing this record right now; it will be retried.",
                provider=self._provider,
                held_for=busy.held_for(now, self._lease),
                lease_left=busy.lease_left(now),
            ) from None
        if claim.done_remote_id is not None:
            return WriteResult(done(claim.done_remote_id), created=False)
        try:
            if claim.attempts_before > 0:
                found = lookup()
                if found is not None:
                    self._intents.complete(
                        intent_key, owner=self._owner, remote_id=remote_id(found), now=self._clock()
                    )
                    return WriteResult(found, created=False)
                # The lookup may have been slow (retries, backoff): write only while the claim is
                # still ours, or a worker that took the lapsed lease could write the same thing.
                claimed_at = self._clock()
                self._intents.renew(intent_key, owner=self._owner, now=claimed_at, lease_seconds=self._lease)
            write_ends = claimed_at + self._lease * (1 - self.LEASE_MARGIN)
            with calls_end_within(lambda: write_ends - self._clock(), what="this write's claim"):
                result = perform(claim.request_id)
        except IntentBusy:
            raise WriteInProgress(
                "Another worker took over this record's write; it will be retried.", provider=self._provider
            ) from None
        except BaseException:
            self._intents.release(intent_key, owner=self._owner, now=self._clock())
            raise
        self._intents.complete(intent_key, owner=self._owner, remote_id=remote_id(result), now=self._clock())
        return WriteResult(result, created=True)
