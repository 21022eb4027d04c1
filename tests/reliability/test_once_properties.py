"""Property tests of the exactly-once core: ``sync/once.py`` over the real ``store/intents.py``.

Several workers (threads) write the same intent, under a cooperative scheduler whose every choice
hypothesis makes: which worker runs next, when the clock jumps past the lease, and how each
attempt at the provider ends (answered; refused before anything happened; committed but the
answer lost; committed and then the worker died before it could record anything, lease held).
The intents table is the real one on moto server; the provider is a ledger that, like QuickBooks,
is not trusted to dedupe by request id.

Property: however the choices fall, the provider never holds two objects for one intent key; and
once the faults stop and every lease has run out, one more delivery of the message completes the
write, after which the provider holds exactly one object and every worker that returned a result
returned that one. A worker's unexpected error fails the example (``tests.threads``).

Model assumption: the lookup after doubt may be slow (retries, backoff), so the clock may jump
past the lease while live workers are looking up; the write re-checks its claim before it
performs. A write's calls end before its lease does (ExactlyOnce bounds them by it: see
``test_a_write_whose_retries_would_outlive_its_lease_ends_before_the_lease_does``), so the clock
never jumps between that re-check and the call's end. A worker that died keeps its
claim until the lease runs out, which the clock may then let happen.
"""

from __future__ import annotations

import functools
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from booksync.errors import ProviderError, TransientError, WriteInProgress
from booksync.providers.http import HttpClient, HttpSettings
from booksync.providers.port import RemoteObject
from booksync.store.intents import Claim, IntentBusy, IntentRepository, request_id_for
from booksync.store.models import IntentModel
from booksync.sync.once import ExactlyOnce, WriteResult
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import only_table
from tests.threads import running

pytestmark = [pytest.mark.reliability, pytest.mark.xdist_group("reliability")]

LEASE = 120.0
ENDINGS = ("answered", "refused", "answer_lost", "died_after_commit")
MAX_STEPS = 200


@pytest.fixture(scope="module")
def intents(moto_url: str) -> Iterator[None]:
    """One intents table (the only one these tests use) for the module: each test writes its own
    intent key, so they need not pay for a fresh set of every table each."""
    with only_table("intents_table"):
        yield


class Died(BaseException):
    """The worker's process is gone: it makes no further call of any kind."""


class Stopped(BaseException):
    """The example ended early (hypothesis stopped drawing): the workers leave without a verdict."""


@dataclass
class Books:
    """The provider's ledger: one list of created objects per intent key."""

    objects: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, key: str) -> str:
        with self.lock:
            remote_id = f"r{sum(len(v) for v in self.objects.values()) + 1}"
            self.objects.setdefault(key, []).append(remote_id)
            return remote_id

    def find(self, key: str) -> str | None:
        with self.lock:
            found = self.objects.get(key)
            return found[0] if found else None


class Scheduler:
    """Runs one worker at a time; each pauses at its yield points until it is picked again."""

    def __init__(self, draw: Any, workers: int) -> None:
        self.draw = draw
        self.now = 1_000.0
        self._cv = threading.Condition()
        self._turn: int | None = None
        self._paused: dict[int, str] = {}  # worker -> where it waits
        self._done: set[int] = set()
        self._holding: set[int] = set()  # live workers inside ``write``
        self._ending: dict[int, str] = {}
        self._stopped = False
        self.workers = workers

    # -- called by workers
    def pause(self, worker: int, where: str) -> str | None:
        with self._cv:
            self._paused[worker] = where
            if self._turn == worker:
                self._turn = None
            self._cv.notify_all()
            self._cv.wait_for(lambda: self._turn == worker or self._stopped)
            del self._paused[worker]
            if self._stopped:
                raise Stopped
            return self._ending.pop(worker, None)

    def finished(self, worker: int) -> None:
        with self._cv:
            self._done.add(worker)
            self._holding.discard(worker)
            if self._turn == worker:
                self._turn = None
            self._cv.notify_all()

    def holding(self, worker: int, holds: bool) -> None:
        with self._cv:
            if holds:
                self._holding.add(worker)
            else:
                self._holding.discard(worker)

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify_all()

    # -- the main loop (test thread): every choice is hypothesis's
    def run(self) -> None:
        for _ in range(MAX_STEPS):
            with self._cv:
                self._cv.wait_for(
                    lambda: self._turn is None and len(self._paused) + len(self._done) == self.workers
                )
                if len(self._done) == self.workers:
                    return
                runnable = sorted(self._paused)
                worker = self.draw(st.sampled_from(runnable))
                slow_lookups = all(self._paused.get(w) == "lookup" for w in self._holding)
                if slow_lookups and self.draw(st.booleans()):
                    self.now += LEASE + 1  # leases taken so far have run out
                if self._paused[worker] == "perform":
                    self._ending[worker] = self.draw(st.sampled_from(ENDINGS))
                self._turn = worker
                self._cv.notify_all()
        raise AssertionError("the workers did not finish within the step budget")


def worker_loop(
    n: int, key: str, sched: Scheduler, books: Books, intents: IntentRepository, results: dict[int, Any]
) -> None:
    """One worker: its message comes back until it succeeds (bounded), as SQS redelivers it."""
    alive = True

    class DeadAware(IntentRepository):
        def claim(self, *a: Any, **kw: Any) -> Any:
            if not alive:
                raise Died
            return super().claim(*a, **kw)

        def renew(self, *a: Any, **kw: Any) -> None:
            if not alive:
                raise Died
            super().renew(*a, **kw)

        def complete(self, *a: Any, **kw: Any) -> None:
            if not alive:
                raise Died
            super().complete(*a, **kw)

        def release(self, *a: Any, **kw: Any) -> None:
            if not alive:
                raise Died  # a dead process gives nothing back: its lease runs out instead
            super().release(*a, **kw)

    once = ExactlyOnce(
        DeadAware(), owner=f"w{n}", provider="quickbooks", lease_seconds=LEASE, clock=lambda: sched.now
    )

    def perform(request_id: str) -> RemoteObject:
        nonlocal alive
        ending = sched.pause(n, "perform")
        if ending == "refused":
            raise TransientError("503 before anything happened", provider="quickbooks")
        remote_id = books.create(key)
        if ending == "answer_lost":
            raise TransientError("reset after the commit", provider="quickbooks", uncertain=True)
        if ending == "died_after_commit":
            alive = False
            sched.holding(n, False)  # its claim stays in the table until the lease runs out
            raise Died
        return RemoteObject(id=remote_id)

    def lookup() -> RemoteObject | None:
        sched.pause(n, "lookup")
        found = books.find(key)
        return RemoteObject(id=found) if found else None

    try:
        for _attempt in range(6):
            sched.pause(n, "claim")
            sched.holding(n, True)
            try:
                results[n] = once.write(
                    key, perform=perform, lookup=lookup, fetch=lambda rid: RemoteObject(id=rid)
                )
                return
            except TransientError:
                continue  # the message comes back later
            finally:
                sched.holding(n, False)
    except Died:
        results[n] = "died"
    except Stopped:
        pass
    finally:
        sched.finished(n)


@settings(
    max_examples=int(os.environ.get("BOOKSYNC_ONCE_EXAMPLES", "60")),
    # make mutation: the first failing example kills the mutant; shrinking it only costs minutes.
    phases=[p for p in Phase if p is not Phase.shrink or os.environ.get("BOOKSYNC_ONCE_SHRINK") != "0"],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), workers=st.integers(min_value=1, max_value=4))
def test_no_interleaving_or_failure_point_creates_twice(
    intents: None, data: st.DataObject, workers: int
) -> None:
    key = f"acme#quickbooks#invoice#{uuid.uuid4().hex}#create#0"
    books = Books()
    sched = Scheduler(data.draw, workers)
    results: dict[int, Any] = {}
    workers_of = [
        functools.partial(worker_loop, n, key, sched, books, IntentRepository(), results)
        for n in range(workers)
    ]
    with running(*workers_of):
        try:
            sched.run()
        finally:
            sched.stop()  # a no-op once all finished; otherwise hypothesis ended the example early
    # The faults are over and every lease has run out: SQS delivers the message once more.
    last = ExactlyOnce(
        IntentRepository(),
        owner="last",
        provider="quickbooks",
        lease_seconds=LEASE,
        clock=lambda: sched.now + LEASE + 1,
    ).write(
        key,
        perform=lambda _rid: RemoteObject(id=books.create(key)),
        lookup=lambda: RemoteObject(id=found) if (found := books.find(key)) else None,
        fetch=lambda rid: RemoteObject(id=rid),
    )
    created = books.objects.get(key, [])
    assert created == [last.remote.id], f"exactly one object for one intent, the one reported: {created}"
    answers = {r.remote.id for r in results.values() if r != "died"}
    assert answers <= {last.remote.id}, f"a worker reported an object the provider does not hold: {answers}"


def write_at(key: str, now: float, owner: str) -> Any:
    """One delivery of the write by ``owner`` at ``now``: its result, or the WriteInProgress it
    raises while another owner holds the claim (the provider would create "r1")."""
    once = ExactlyOnce(
        IntentRepository(), owner=owner, provider="quickbooks", lease_seconds=LEASE, clock=lambda: now
    )
    return once.write(
        key, perform=lambda _rid: RemoteObject(id="r1"), lookup=lambda: None, fetch=lambda rid: None
    )


def retry_after(key: str, now: float) -> float:
    """The Retry-After a rival's write at ``now`` is refused with (the key is held)."""
    with pytest.raises(WriteInProgress) as busy:
        write_at(key, now, owner="rival")
    return busy.value.retry_after


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # A holder that took the claim a second ago is most likely alive and about to finish (two
        # invoices' jobs writing one payment that covers both): its rival retries in 5 s, not
        # after the whole lease (the demo waits 60 s for its queue to drain).
        pytest.param(1_001.0, 5.0, id="taken-a-moment-ago"),
        # A worker that died holding the claim keeps it until its lease ends: a message retried
        # sooner would only spend its receives (the dead-letter queue takes it after 5).
        pytest.param(1_030.0, LEASE - 30 + 1, id="held-a-while-waits-just-past-the-lease"),
        # A live holder's write ends well within its lease; the floor still applies near its end.
        pytest.param(1_119.0, 5.0, id="near-the-lease-end-the-floor"),
    ],
)
def test_a_busy_write_is_retried_when_its_holder_may_be_done(
    intents: None, now: float, expected: float
) -> None:
    key = f"acme#quickbooks#invoice#{uuid.uuid4().hex}#create#0"
    IntentRepository().claim(key, owner="holder", now=1_000.0, lease_seconds=LEASE)
    assert retry_after(key, now) == expected


def test_a_dead_holders_lease_is_waited_out_within_the_dead_letter_limit(intents: None) -> None:
    """Refused at once by a claim a dead worker just took, a message that comes back each time its
    Retry-After says is written on its 3rd receive at the latest (faults share the queue's
    maxReceiveCount of 5 with it)."""
    key = f"acme#quickbooks#invoice#{uuid.uuid4().hex}#create#0"
    IntentRepository().claim(key, owner="dead", now=1_000.0, lease_seconds=LEASE)
    now = 1_000.0
    for receive in range(1, 6):
        try:
            result = write_at(key, now, owner=f"r{receive}")
        except WriteInProgress as busy:
            now += busy.retry_after
            continue
        assert result.remote.id == "r1"
        assert receive <= 3
        break
    else:
        pytest.fail(f"still busy after 5 receives (t+{now - 1_000.0:.0f} s)")


class Ledger:
    """A provider for one intent: what it created, and every call ``ExactlyOnce`` made to it."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.calls: list[str] = []

    def perform(self, _request_id: str) -> RemoteObject:
        self.calls.append("perform")
        self.created.append(f"r{len(self.created) + 1}")
        return RemoteObject(id=self.created[-1])

    def lookup(self) -> RemoteObject | None:
        self.calls.append("lookup")
        return RemoteObject(id=self.created[0]) if self.created else None


def test_a_write_looks_up_only_after_doubt_and_a_failed_attempt_gives_its_claim_back(
    intents: None,
) -> None:
    """The first attempt creates without a lookup (a lookup is a provider call). It commits, but its
    answer is lost: the attempt gives its claim back, so the next delivery, a moment later, need not
    wait out the lease; being in doubt, it looks up first and links what the first one created."""
    key = f"acme#quickbooks#invoice#{uuid.uuid4().hex}#create#0"
    ledger = Ledger()

    def answer_lost(request_id: str) -> RemoteObject:
        ledger.perform(request_id)
        raise TransientError("reset after the commit", provider="quickbooks", uncertain=True)

    first = ExactlyOnce(
        IntentRepository(), owner="w1", provider="quickbooks", lease_seconds=LEASE, clock=lambda: 1_000.0
    )
    with pytest.raises(TransientError):
        first.write(key, perform=answer_lost, lookup=ledger.lookup, fetch=lambda rid: None)
    assert ledger.calls == ["perform"]

    retry = ExactlyOnce(
        IntentRepository(), owner="w2", provider="quickbooks", lease_seconds=LEASE, clock=lambda: 1_001.0
    )
    result = retry.write(key, perform=ledger.perform, lookup=ledger.lookup, fetch=lambda rid: None)
    assert ledger.calls == ["perform", "lookup"]
    assert result == WriteResult(RemoteObject(id="r1"), created=False)
    assert ledger.created == ["r1"]


def test_a_write_done_before_answers_with_the_object_as_the_provider_has_it_now(
    intents: None,
) -> None:
    """A write that was done is not performed again: its result is the object as fetched (its
    version may have moved since), or only its id once the provider no longer has it (the caller
    decides whether to recreate it)."""
    key = f"acme#quickbooks#invoice#{uuid.uuid4().hex}#create#0"
    ledger = Ledger()
    once = ExactlyOnce(
        IntentRepository(), owner="w1", provider="quickbooks", lease_seconds=LEASE, clock=lambda: 1_000.0
    )

    def write(fetch: Any) -> WriteResult:
        return once.write(key, perform=ledger.perform, lookup=ledger.lookup, fetch=fetch)

    assert write(lambda rid: None) == WriteResult(RemoteObject(id="r1"), created=True)
    now = RemoteObject(id="r1", version="3", name="INV-1")
    assert write(lambda rid: now if rid == "r1" else None) == WriteResult(now, created=False)
    assert write(lambda rid: None) == WriteResult(RemoteObject(id="r1"), created=False)
    assert ledger.calls == ["perform"]


def test_a_write_whose_lease_lapsed_during_its_lookup_and_was_taken_is_not_performed(
    intents: None,
) -> None:
    """w1, in doubt, looks up slowly; its lease runs out meanwhile and w2 takes the claim and writes.
    w1 must not write as well: it is told another worker took over (retried later), and gives back
    nothing that is no longer its own."""
    key = f"acme#quickbooks#invoice#{uuid.uuid4().hex}#create#0"
    IntentRepository().claim(key, owner="died", now=1_000.0, lease_seconds=LEASE)
    ledger = Ledger()
    taken: dict[str, WriteResult] = {}

    def slow_lookup() -> RemoteObject | None:
        ledger.calls.append("lookup")  # w1's query finds nothing, but its answer comes back late...
        late = 1_000.0 + 3 * LEASE  # ...after w1's lease has run out and w2 took the claim
        w2 = ExactlyOnce(
            IntentRepository(), owner="w2", provider="quickbooks", lease_seconds=LEASE, clock=lambda: late
        )
        taken["w2"] = w2.write(key, perform=ledger.perform, lookup=ledger.lookup, fetch=lambda rid: None)
        return None

    w1 = ExactlyOnce(
        IntentRepository(),
        owner="w1",
        provider="quickbooks",
        lease_seconds=LEASE,
        clock=lambda: 1_000.0 + LEASE + 1,
    )
    with pytest.raises(WriteInProgress, match="took over"):
        w1.write(key, perform=ledger.perform, lookup=slow_lookup, fetch=lambda rid: None)
    assert ledger.created == ["r1"]
    assert taken["w2"] == WriteResult(RemoteObject(id="r1"), created=True)


def intent_row(key: str) -> dict[str, Any]:
    row = IntentModel.get(key, consistent_read=True)
    names = ("state", "attempts", "owner", "lease_until", "remote_id", "updated_at", "ttl")
    return {name: getattr(row, name) for name in names}


def test_each_claim_of_an_intent_knows_how_many_attempts_came_before_it(intents: None) -> None:
    """The count tells a claim whether an earlier attempt may have reached the provider, and the
    catalog's batches key each attempt by it (``{key}#{attempts_before}``): it must be exact. The
    row outlives any redelivery: DynamoDB deletes it 90 days after it was first claimed."""
    key = f"acme#quickbooks#invoice#{uuid.uuid4().hex}#create#0"
    repo = IntentRepository()
    for attempt, now in enumerate((1_000.0, 1_001.0, 1_002.0)):
        claim = repo.claim(key, owner=f"w{attempt}", now=now, lease_seconds=LEASE)
        assert claim == Claim(request_id=request_id_for(key), attempts_before=attempt, done_remote_id=None)
        expected = {
            "state": "pending",
            "attempts": attempt + 1,
            "owner": f"w{attempt}",
            "lease_until": now + LEASE,
        }
        assert intent_row(key) | expected == intent_row(key)
        repo.release(key, owner=f"w{attempt}", now=now)
    assert intent_row(key)["ttl"] == 1_000 + 90 * 86_400
    repo.complete(key, owner="w2", remote_id="r1", now=1_003.0)
    assert intent_row(key) | {
        "state": "done",
        "remote_id": "r1",
        "owner": None,
        "lease_until": None,
    } == intent_row(key)
    done = repo.claim(key, owner="w3", now=1_004.0, lease_seconds=LEASE)
    assert done == Claim(request_id=request_id_for(key), attempts_before=3, done_remote_id="r1")


def test_a_lease_is_its_holders_until_its_last_instant_and_only_its_holder_renews_or_releases_it(
    intents: None,
) -> None:
    key = f"acme#quickbooks#invoice#{uuid.uuid4().hex}#create#0"
    repo = IntentRepository()
    repo.claim(key, owner="holder", now=1_000.0, lease_seconds=LEASE)
    with pytest.raises(IntentBusy) as busy:
        repo.claim(key, owner="rival", now=1_000.0 + LEASE, lease_seconds=LEASE)
    assert busy.value.lease_until == 1_000.0 + LEASE
    for rival in ("a-rival", "z-rival"):  # named before and after the holder: owners are not ordered
        repo.release(key, owner=rival, now=1_010.0)  # not the rival's to give back
        with pytest.raises(IntentBusy):
            repo.renew(key, owner=rival, now=1_010.0, lease_seconds=LEASE)
    assert intent_row(key)["owner"] == "holder" and intent_row(key)["lease_until"] == 1_000.0 + LEASE
    repo.renew(key, owner="holder", now=1_100.0, lease_seconds=LEASE)
    assert intent_row(key)["lease_until"] == 1_100.0 + LEASE
    with pytest.raises(IntentBusy):
        repo.claim(key, owner="rival", now=1_000.0 + LEASE + 1, lease_seconds=LEASE)  # the old end
    assert repo.claim(key, owner="rival", now=1_100.0 + LEASE + 0.5, lease_seconds=LEASE).attempts_before == 1


@pytest.mark.parametrize(
    ("now", "lease_until", "held_for", "lease_left"),
    [
        pytest.param(1_000.5, 1_120.0, 0.5, 119.5, id="taken-half-a-second-ago"),
        pytest.param(1_100.0, 1_120.0, 100.0, 20.0, id="near-its-end"),
        pytest.param(1_130.0, 1_120.0, LEASE, 0.0, id="run-out"),
        pytest.param(1_000.0, 1_125.0, 0.0, 125.0, id="a-longer-lease-than-ours"),
        pytest.param(1_000.0, None, 0.0, 0.0, id="end-unknown"),
    ],
)
def test_a_busy_claim_says_how_long_it_was_held_and_how_long_it_has_left(
    now: float, lease_until: float | None, held_for: float, lease_left: float
) -> None:
    busy = IntentBusy("key", lease_until)
    assert (busy.held_for(now, LEASE), busy.lease_left(now)) == (held_for, lease_left)


class SlowThrottling:
    """A provider at its slowest within the HTTP client's timeouts: each attempt takes the whole
    connect and read time it is given (the clock moves by as much) and is answered 429 with a
    Retry-After of 10 s; an attempt whose read time was cut short is given up (a read timeout)."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.attempts: list[tuple[float, float]] = []  # (began, ended) per attempt

    def __call__(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions["timeout"]
        began = self.clock[0]
        self.clock[0] += timeout["connect"] + timeout["read"]
        self.attempts.append((began, self.clock[0]))
        if timeout["read"] < HttpSettings().read_timeout:
            raise httpx.ReadTimeout("the answer did not come in time", request=request)
        return httpx.Response(429, headers={"Retry-After": "10"})


def test_a_write_whose_retries_would_outlive_its_lease_ends_before_the_lease_does(intents: None) -> None:
    """The HTTP client's slowest write (three attempts, each a 5 s connect and a 30 s answer of 429,
    with two Retry-After waits of 10 s) takes 125 s: past the lease (120 s), when a rival may take
    the lapsed claim, look up, find nothing yet and create the same object while the first write
    is still on its way. Under its claim the write's calls end before the lease does, however long
    the invocation has left (the catalog's function runs 300 s): its last attempt is cut short, it
    fails retryably, gives its claim back, and the next attempt looks up before it writes."""
    key = f"acme#quickbooks#item#{uuid.uuid4().hex}#create#0"
    clock = [1_000.0]
    provider = SlowThrottling(clock)
    client = HttpClient(
        provider="quickbooks",
        label="QuickBooks",
        transport=httpx.MockTransport(provider),
        deadline=lambda: 1_300.0 - clock[0],
        sleep=lambda seconds: clock.__setitem__(0, clock[0] + seconds),
        rand=lambda: 1.0,
    )

    def perform(request_id: str) -> RemoteObject:
        client.request(
            "POST", "https://quickbooks.test/v3/item", params={"requestid": request_id}, content=b"{}"
        )
        raise AssertionError("a 429 is never an answer to link")

    once = ExactlyOnce(
        IntentRepository(), owner="w1", provider="quickbooks", lease_seconds=LEASE, clock=lambda: clock[0]
    )
    with pytest.raises(ProviderError) as failed:
        once.write(key, perform=perform, lookup=lambda: None, fetch=lambda rid: None)
    assert [ended <= 1_000.0 + LEASE for _began, ended in provider.attempts] == [True] * 3, provider.attempts
    assert isinstance(failed.value, TransientError) and failed.value.uncertain  # retried, in doubt
    # Given back at once: the next delivery need not wait out the lease, and is in doubt.
    assert (
        IntentRepository().claim(key, owner="w2", now=clock[0] + 1, lease_seconds=LEASE).attempts_before == 1
    )


def test_the_lease_margin_covers_what_the_http_clients_time_caps_do_not_add_up() -> None:
    """The client caps each phase of a request by the time left, so the pool wait and the connect
    before the read may overrun the end it was given by as much as their own timeouts."""
    http = HttpSettings()
    assert http.pool_timeout + http.connect_timeout < LEASE * ExactlyOnce.LEASE_MARGIN
