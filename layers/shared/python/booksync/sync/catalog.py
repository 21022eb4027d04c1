"""Bulk catalog sync: every customer and item not in sync, through the provider's batch API
where it declares batch writes (``Capability.BATCH_WRITES``), else one record a request through
its adapter (``providers/one_by_one.py``, a "batch" of one): the walk below is the same for both
(``registry.catalog_writer`` chooses).

One invocation works page by page (300 documents: ten batch requests of 30) from the cursor in
the run's row, with as many requests in flight and per minute as the provider allows and no
more (``sync/limiter.py``). Before its deadline it stops taking slots, lets what is in flight
land, saves the cursor and its counts, and queues the next step of the chain.

Nothing is written twice:
- each document is looked up (by e-mail, then by cleaned name, inactive included) before it is
  created, and what exists is linked;
- each batch is written through the invoice engine's exactly-once protocol (``sync/once.py``):
  recorded as an intent before it is sent, keyed by each document's push count and content, and
  the version it updates where the provider declares versions (``Capability.VERSIONS``); after
  an uncertain outcome (a lost answer, a reset, a worker killed) the intent shows an earlier
  attempt, and the batch's documents are looked up again before anything is re-sent;
- a duplicate-name refusal is answered by looking the object up by name and linking it
  when it surely is ours;
- two documents never share one remote object: a claim per object is taken before a link is
  stored, and a document whose cleaned name is held by another document's (or a stranger's)
  record is created under a name of its own, said in the run's notes and its sync record.
A document that this run already linked in an earlier invocation is neither sent nor counted
again (its link's ``synced_at`` is after the run started).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from booksync import observability
from booksync.documents import Customer, DocumentKind, Item
from booksync.errors import (
    BooksyncError,
    ConnectionDown,
    DailyLimitReached,
    DuplicateName,
    NeedsReconnection,
    OrganisationNotChosen,
    ProviderError,
    RateLimited,
    Rejected,
    TransientError,
    WriteInProgress,
    error_entry,
)
from booksync.providers.bulk import CatalogAnswer, CatalogProvider, CatalogWrite, Gate, OutOfTime
from booksync.providers.declaration import AnyDeclaration, Capability, Limits
from booksync.providers.port import ItemRefs, RemoteObject
from booksync.providers.profile import provider_label
from booksync.providers.registry import declaration
from booksync.store.catalog_runs import CatalogRunStore, documents_page
from booksync.store.claims import LinkClaims, LinkScope
from booksync.store.connections import ConnectionRepository, ConnectionStatus, held, organisation_not_chosen
from booksync.store.documents import DELETED, DocumentRepository
from booksync.store.intents import IntentRepository
from booksync.store.models import (
    ConnectionModel,
    DocumentModel,
    RunErrorMap,
    SyncRunModel,
    link_generation,
    link_pushes,
    new_link,
    refused_link,
)
from booksync.store.runs import add_note
from booksync.sync.accounts import NoIncomeAccount, item_income_account
from booksync.sync.catalog_jobs import CatalogJob, CatalogKind
from booksync.sync.jobs import JobQueue, SyncJob
from booksync.sync.limiter import Limiter
from booksync.sync.naming import name_link, namesake_item, own_name
from booksync.sync.once import ExactlyOnce
from booksync.sync.records import SYNCABLE

logger = logging.getLogger(__name__)

PAGE_SIZE = 300
BATCH_ATTEMPTS = 3
# Longer than a lookup plus one batch request, the limiter's wait for a slot included.
BATCH_LEASE_SECONDS = 120
PARKED_BY = (NeedsReconnection.code, ConnectionDown.code, DailyLimitReached.code, OrganisationNotChosen.code)
# The most invocations (steps) one run may chain. A step syncs up to ~5,600 documents (280 s at
# Intuit's 20 per second), so 200 steps is over a million: only a run that makes no progress
# (or a bug) reaches it. SyncCatalogFunction allows its own recursion (template.yaml
# RecursiveLoop: Allow) because of this cap; Lambda alone would stop the chain after ~16 hops.
MAX_STEPS = 200
# A step stops taking work this long before its invocation's deadline (what is in flight lands).
RESERVE_SECONDS = 20.0
KINDS: Mapping[str, DocumentKind] = {"customers": DocumentKind.CUSTOMER, "items": DocumentKind.ITEM}

CatalogFactory = Callable[[ConnectionModel, Gate, Callable[[], float | None]], CatalogProvider]
IncomeAccount = Callable[[ConnectionModel], str | None]


@dataclass
class CatalogReport:
    run_id: str
    status: str  # succeeded | failed | continued | parked | skipped
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, str | None]] = field(default_factory=list)


@dataclass
class _Doc:
    row: DocumentModel
    document: Customer | Item  # as sent: under a name of its own when ``distinct``
    remote: RemoteObject | None = None  # set: update this object
    refs: ItemRefs | None = None  # items: the income account to send
    own: str = ""  # the document's own name
    distinct: bool = False  # its cleaned name is another record's: it has a name of its own
    was_distinct: bool = False


class StepCapReached(BooksyncError):
    """A run used its last step without finishing: it stops instead of queueing another."""

    code = "step_cap_reached"


@dataclass(frozen=True)
class CatalogParts:
    """What a catalog run works with, by name: its stores, the provider's catalog and limits, the
    queues its next step and the invoices not in sync go to, its clock and its sizes. A
    ``CatalogSync`` holds one; each step's walk reads it."""

    documents: DocumentRepository
    connections: ConnectionRepository
    intents: IntentRepository
    runs: CatalogRunStore
    claims: LinkClaims
    catalog_for: CatalogFactory
    income_account_for: IncomeAccount
    requeue: Callable[[CatalogJob], None]
    invoices: JobQueue
    limits_for: Callable[[str], Limits]
    declarations: Callable[[str], AnyDeclaration]
    clock: Callable[[], float]
    owner: str  # this process's name on the run's intents
    page_size: int
    max_steps: int


class CatalogSync:
    def __init__(
        self,
        *,
        documents: DocumentRepository,
        connections: ConnectionRepository,
        intents: IntentRepository,
        runs: CatalogRunStore,
        catalog_for: CatalogFactory,
        income_account_for: IncomeAccount,
        requeue: Callable[[CatalogJob], None],
        invoices: JobQueue,
        limits_for: Callable[[str], Limits],
        clock: Callable[[], float] = time.time,
        reserve_seconds: float = RESERVE_SECONDS,
        page_size: int = PAGE_SIZE,
        owner: str | None = None,
        claims: LinkClaims | None = None,
        max_steps: int = MAX_STEPS,
        declarations: Callable[[str], AnyDeclaration] = declaration,
    ) -> None:
        self.parts = CatalogParts(
            documents=documents,
            connections=connections,
            intents=intents,
            runs=runs,
            claims=claims or LinkClaims(),
            catalog_for=catalog_for,
            income_account_for=income_account_for,
            requeue=requeue,
            invoices=invoices,
            limits_for=limits_for,
            declarations=declarations,
            clock=clock,
            owner=owner or uuid.uuid4().hex,
            page_size=page_size,
            max_steps=max_steps,
        )
        self._reserve = reserve_seconds

    def run(self, job: CatalogJob, remaining_seconds: Callable[[], float]) -> CatalogReport:
        now = self.parts.clock()
        row = self.parts.runs.claim(
            job.company_id, job.run_id, step=job.step, now=now, lease_until=now + remaining_seconds()
        )
        if row is None:  # a newer step holds the run, or it is finished: this message is stale
            return CatalogReport(run_id=job.run_id, status="skipped")
        deadline = now + remaining_seconds() - self._reserve
        walk = _Walk(self.parts, job, row, deadline)
        counts_before, errors_before = Counter(walk.counts), list(walk.errors)
        report = walk.run()
        # This step's share: a run's counts and errors accumulate over its steps.
        observability.documents_synced(report.counts - counts_before)
        if report.status == "parked":
            observability.sync_parked()
        else:
            observability.sync_failed(error["code"] for error in report.errors if error not in errors_before)
        return report


class _Walk:
    """One invocation's share of a catalog run."""

    def __init__(self, parts: CatalogParts, job: CatalogJob, row: SyncRunModel, deadline: float) -> None:
        self.parts = parts
        self.job = job
        self.row = row
        self.deadline = deadline
        cursor: dict[str, Any] = dict(row.cursor or {})
        self.kind: str = str(cursor.get("kind") or job.kinds[0])
        self.after: str | None = cursor.get("after")
        self.limiter = Limiter(
            parts.limits_for(job.provider),
            recent_batches=cursor.get("batches") or (),
            recent_requests=cursor.get("requests") or (),
            clock=parts.clock,
        )
        self.counts: Counter[str] = Counter({k: int(v) for k, v in (row.counts or {}).items()})
        self.errors: list[dict[str, str | None]] = [_error_dict(e) for e in (row.errors or [])]
        self.started_at = float(row.started_at)
        self._lock = threading.Lock()
        self._income: tuple[str | None] | None = None
        self._declared = declaration(job.provider)
        self.connection: ConnectionModel | None = None
        self.catalog: CatalogProvider | None = None
        self.declared = parts.declarations(job.provider)

    # -- the walk --------------------------------------------------------------------------------
    def run(self) -> CatalogReport:
        connection = self.parts.connections.get(self.job.company_id, self.job.provider)
        if connection is not None and connection.status == ConnectionStatus.CHOOSE_ORGANISATION:
            return self._park(organisation_not_chosen(self.job.provider, "the catalog sync"))
        if connection is None or connection.status != ConnectionStatus.CONNECTED:
            down = connection is not None and connection.status == ConnectionStatus.CONNECTION_DOWN
            broken = ConnectionDown if down else NeedsReconnection
            return self._park(
                broken(
                    f"{provider_label(self.job.provider)} is not connected; the catalog sync waits for it.",
                    provider=self.job.provider,
                )
            )
        self.connection = connection
        now = self.parts.clock()
        if held(connection, now):  # the provider's daily limit is reached: not a request until then
            return self._park(
                DailyLimitReached(
                    str(
                        connection.held_reason
                        or f"{provider_label(self.job.provider)}'s daily limit is reached."
                    ),
                    provider=self.job.provider,
                    resume_at=float(connection.held_until),
                    now=now,
                )
            )
        # Resumed after a reconnection (or the next day): why it was parked is over.
        self.errors = [e for e in self.errors if not (e["document"] == "catalog" and e["code"] in PARKED_BY)]
        try:
            for kind in self.job.kinds[self.job.kinds.index(self.kind) :]:
                if self.kind != kind:
                    self.kind, self.after = kind, None
                if kind == "invoices":
                    self._queue_invoices()
                else:
                    if self.catalog is None:
                        self.catalog = self.parts.catalog_for(connection, self.limiter, lambda: self.deadline)
                    self._pages(KINDS[kind])
        except OutOfTime:
            return self._continue()
        except (NeedsReconnection, ConnectionDown, DailyLimitReached) as exc:
            if isinstance(exc, ConnectionDown) and not self.parts.connections.mark_down(
                connection, message=exc.message
            ):
                return self._continue()  # reconnected since: the run goes on with the new connection
            if isinstance(exc, DailyLimitReached):
                self.parts.connections.hold_until(
                    self.job.company_id, self.job.provider, exc.resume_at, exc.message
                )
            return self._park(exc)
        except BooksyncError as exc:
            self.errors.append(error_entry("catalog", exc))
            return self._finish("failed")
        self.parts.connections.record_sync(self.job.company_id, self.job.provider, self.parts.clock())
        return self._finish("failed" if self.errors else "succeeded")

    def _pages(self, kind: DocumentKind) -> None:
        while True:
            if self.parts.clock() >= self.deadline:
                raise OutOfTime("deadline")
            rows, next_after = documents_page(
                self.job.company_id, kind, after=self.after, limit=self.parts.page_size
            )
            self._page(kind, rows)
            self.after = next_after
            self._checkpoint()
            if next_after is None:
                return

    def _checkpoint(self) -> None:
        self.parts.runs.checkpoint(
            self.row, step=self.job.step, cursor=self._cursor(), counts=self.counts, errors=self.errors
        )

    def _cursor(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "after": self.after,
            "batches": self.limiter.recent_batches(),
            "requests": self.limiter.recent_requests(),
        }

    def _continue(self) -> CatalogReport:
        """Out of time: save where we are and queue the next step of the chain, unless the run
        has used its last step (its row keeps the step it is at)."""
        if self.job.step + 1 >= self.parts.max_steps:
            self.errors.append(
                error_entry(
                    "catalog",
                    StepCapReached(
                        f"The catalog sync stopped after {self.parts.max_steps} steps without finishing; "
                        "what it synced is kept.",
                        fix="Start the sync again: documents already in sync are skipped, so it goes on "
                        "from where it stopped. If it stops again, contact support.",
                    ),
                )
            )
            logger.error(
                "catalog sync reached its step cap",
                extra={"run_id": self.job.run_id, "step": self.job.step, "counts": dict(self.counts)},
            )
            return self._finish("failed")
        self._checkpoint()
        self.parts.requeue(
            self.job.model_copy(update={"step": self.job.step + 1, "job_id": uuid.uuid4().hex})
        )
        logger.info(
            "catalog sync continues in a new invocation",
            extra={"run_id": self.job.run_id, "step": self.job.step + 1, "counts": dict(self.counts)},
        )
        return CatalogReport(
            run_id=self.job.run_id, status="continued", counts=self.counts, errors=self.errors
        )

    def _park(self, exc: NeedsReconnection | ConnectionDown | DailyLimitReached) -> CatalogReport:
        """The connection broke, or its daily limit is reached: keep the cursor and stop,
        unfinished. Reconnecting (or the sweep, once the provider's next day begins) re-enqueues
        the run (``CatalogRequests.resume_parked``) and it continues from here."""
        self.errors.append(
            {
                "document": "catalog",
                "code": exc.code,
                "message": f"{exc.message} The catalog sync is parked where it stopped.",
                "fix": "Nothing to do: the sync continues by itself from where it stopped tomorrow."
                if isinstance(exc, DailyLimitReached)
                else exc.fix
                if isinstance(exc, OrganisationNotChosen)
                else "Reconnect the integration: the sync continues by itself from where it stopped.",
            }
        )
        self.parts.runs.park(
            self.row, step=self.job.step, cursor=self._cursor(), counts=self.counts, errors=self.errors
        )
        logger.warning(
            "catalog sync parked",
            extra={"run_id": self.job.run_id, "code": exc.code, "counts": dict(self.counts)},
        )
        return CatalogReport(run_id=self.job.run_id, status="parked", counts=self.counts, errors=self.errors)

    def _finish(self, status: str) -> CatalogReport:
        self.parts.runs.finish(
            self.row,
            step=self.job.step,
            status=status,
            counts=self.counts,
            errors=self.errors,
            now=self.parts.clock(),
        )
        return CatalogReport(run_id=self.job.run_id, status=status, counts=self.counts, errors=self.errors)

    # -- one page ------------------------------------------------------------------------------
    def _page(self, kind: DocumentKind, rows: Sequence[DocumentModel]) -> None:
        fresh: list[_Doc] = []
        changed: list[_Doc] = []
        for row in rows:
            link = row.link(self.job.provider)
            doc = self._doc(row, bool(link is not None and link.distinct_name))
            if (
                link is not None
                and link.remote_id
                and not link.claimed
                and not self.parts.claims.claim_stored(
                    self._scope, kind, row, link, self.parts.documents, now=self.parts.clock()
                )
            ):
                link = None  # linked before claims to an object another document holds: its own now
            if link is not None and link.remote_id and link.pushed_hash == row.content_hash:
                if float(link.synced_at or 0) < self.started_at:
                    self._count("unchanged")
                continue  # already linked by this run in an earlier invocation: counted then
            if link is not None and link.remote_id:
                doc.remote = RemoteObject(id=link.remote_id, version=link.version)
                changed.append(doc)
            else:
                fresh.append(doc)
        writes = self._existing(kind, fresh) + self._refreshed(kind, changed)
        chunks = [
            writes[i : i + self._catalog.batch_size] for i in range(0, len(writes), self._catalog.batch_size)
        ]
        if not chunks:
            return
        with ThreadPoolExecutor(max_workers=self.limiter.limits.max_concurrent) as pool:
            outcomes = list(pool.map(lambda chunk: self._chunk(kind, chunk), chunks))
        if any(isinstance(o, OutOfTime) for o in outcomes):
            raise OutOfTime("deadline")
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    def _doc(self, row: DocumentModel, distinct: bool) -> _Doc:
        document: Customer | Item = self.parts.documents.parse(row)
        doc = _Doc(row, document, own=own_name(document), was_distinct=distinct)
        if distinct:
            self._make_distinct(doc)
        return doc

    def _make_distinct(self, doc: _Doc) -> None:
        """Its cleaned name is held by another record: send it under a name of its own."""
        doc.document = self._catalog.distinct(self.parts.documents.parse(doc.row))
        doc.distinct = True

    @property
    def _catalog(self) -> CatalogProvider:
        assert self.catalog is not None
        return self.catalog

    def _existing(self, kind: DocumentKind, fresh: list[_Doc]) -> list[_Doc]:
        """Link what the provider already has and no other document holds (a claim per remote
        object); what is left needs creating (or reactivating). What was found (by name, e-mail
        or SKU) but is held by another document is not ours, which says nothing of the name:
        ours is created under it, and a DuplicateName answer alone asks for another name."""
        rest: list[_Doc] = []
        linked: list[tuple[_Doc, RemoteObject, str]] = []
        found = self._find(kind, [d.document for d in fresh])
        for doc in fresh:
            remote = found.get(doc.document.id)
            if remote is None or not self._hold(kind, doc, remote.id):
                if remote is not None and not doc.distinct and namesake_item(remote, doc.document):
                    self._make_distinct(doc)  # another document's item holds this very name
                rest.append(doc)
            elif remote.active:
                linked.append((doc, remote, "linked"))
            else:  # inactive still holds the name: bring it back with our data
                doc.remote = remote
                rest.append(doc)
        self._link_all(linked)
        return rest

    def _hold(self, kind: DocumentKind, doc: _Doc, remote_id: str) -> bool:
        """Two documents never share one remote object (design.md): the first claim wins."""
        return self.parts.claims.claim(self._scope, kind, remote_id, doc.row.doc_id, now=self.parts.clock())

    @property
    def _scope(self) -> LinkScope:
        assert self.connection is not None
        return LinkScope.of(self.connection)

    def _refreshed(self, kind: DocumentKind, changed: list[_Doc]) -> list[_Doc]:
        """Edited since the last push: update with the current version, or recreate if gone."""
        if not changed:
            return []
        current = self._catalog.current(kind.value, [d.remote.id for d in changed if d.remote])
        out: list[_Doc] = []
        gone: list[_Doc] = []
        for doc in changed:
            remote = current.get(doc.remote.id) if doc.remote else None
            if remote is None:
                link = doc.row.link(self.job.provider)
                if link is not None:
                    link.generation = int(link.generation or 0) + 1
                doc.remote = None
                gone.append(doc)
            else:
                doc.remote = remote
                out.append(doc)
        return out + self._existing(kind, gone)

    def _find(self, kind: DocumentKind, documents: Sequence[Customer | Item]) -> Mapping[str, RemoteObject]:
        if not documents:
            return {}
        if kind == DocumentKind.CUSTOMER:
            return self._catalog.find_customers([d for d in documents if isinstance(d, Customer)])
        return self._catalog.find_items([d for d in documents if isinstance(d, Item)])

    # -- one batch request -----------------------------------------------------------------------
    def _chunk(self, kind: DocumentKind, chunk: list[_Doc]) -> BaseException | None:
        """Runs in a worker thread; returns (not raises) what stops the walk."""
        try:
            self._send(kind, chunk)
        except (OutOfTime, BooksyncError) as exc:
            return exc
        except Exception as exc:  # a bug or a store failure: the message comes back
            logger.exception("catalog batch failed", extra={"run_id": self.job.run_id})
            return exc
        return None

    def _send(self, kind: DocumentKind, chunk: list[_Doc]) -> None:
        if kind == DocumentKind.ITEM:
            chunk = self._accounted(chunk)
            if not chunk:
                return
        once = ExactlyOnce(
            self.parts.intents,
            owner=self.parts.owner,
            provider=self.job.provider,
            lease_seconds=BATCH_LEASE_SECONDS,
            clock=self.parts.clock,
        )
        doubt = False  # an earlier attempt may have reached the provider
        for _ in range(BATCH_ATTEMPTS):
            if doubt:
                chunk = self._still_to_write(kind, chunk)
                if not chunk:
                    return
            try:
                sent, answers = self._batch(once, kind, chunk)
            except (WriteInProgress, DailyLimitReached):
                raise  # another worker holds this batch, or the day is spent: the walk stops
            except TransientError as exc:
                logger.warning(
                    "catalog batch answer lost; looking up before retrying", extra={"error": exc.message}
                )
                doubt = True
                continue
            except RateLimited as exc:
                if self.parts.clock() + exc.retry_after > self.deadline:
                    raise OutOfTime("throttled past the deadline") from None
                time.sleep(exc.retry_after)
                continue
            chunk, doubt = self._answered(kind, sent, answers), True
            if not chunk:
                return
        for doc in chunk:
            self._refused(
                doc,
                TransientError(
                    f"{provider_label(self.job.provider)} did not confirm this {doc.row.kind} "
                    f"after {BATCH_ATTEMPTS} tries.",
                    provider=self.job.provider,
                    fix="Press Sync Now again; nothing will be created twice.",
                ),
            )

    def _batch(
        self, once: ExactlyOnce, kind: DocumentKind, chunk: list[_Doc]
    ) -> tuple[list[_Doc], Mapping[str, CatalogAnswer]]:
        """One batch request, exactly once: the documents it was for and their answers."""
        pending = chunk

        def narrowed() -> Mapping[str, CatalogAnswer] | None:
            """After an earlier attempt: link what it wrote; None while some is left to send."""
            nonlocal pending
            pending = self._still_to_write(kind, pending)
            return None if pending else {}

        def send(_request_id: str) -> Mapping[str, CatalogAnswer]:
            writes = [
                CatalogWrite(key=d.row.doc_id, document=d.document, remote=d.remote, refs=d.refs)
                for d in pending
            ]
            # Keyed by what it sends: a retry of this very batch repeats its idempotency key, and
            # one the lookup narrowed is another request (a provider may replay a key's first
            # answer, which would then answer for other documents).
            return self._catalog.write_many(writes, idempotency_key=self._intent_key(kind, pending))

        result = once.run(
            self._intent_key(kind, chunk),
            perform=send,
            lookup=narrowed,
            # Sent and done before, its links not all stored: link what it wrote; the rest, with
            # no answer here, is tried again.
            done=lambda _answered: narrowed() or {},
            remote_id=lambda answers: f"{len(answers)} objects",
        )
        return pending, result.remote

    def _still_to_write(self, kind: DocumentKind, chunk: list[_Doc]) -> list[_Doc]:
        """What an earlier attempt created is linked, not created again; updates go out again with
        the version as it stands now (a stale one is refused), or recreate what is gone."""
        return self._existing(kind, [d for d in chunk if d.remote is None]) + self._refreshed(
            kind, [d for d in chunk if d.remote is not None]
        )

    def _answered(
        self, kind: DocumentKind, chunk: list[_Doc], answers: Mapping[str, CatalogAnswer]
    ) -> list[_Doc]:
        """Link what was written; recover duplicates; return what must be tried again."""
        duplicates: list[_Doc] = []
        again: list[_Doc] = []
        linked: list[tuple[_Doc, RemoteObject, str]] = []
        for doc in chunk:
            answer = answers.get(doc.row.doc_id)
            if answer is not None and answer.remote is not None:
                if doc.remote is not None or self._hold(kind, doc, answer.remote.id):
                    linked.append((doc, answer.remote, "updated" if doc.remote is not None else "created"))
                else:  # found and linked to another document meanwhile: ours needs its own
                    self._make_distinct(doc)
                    again.append(doc)
            elif answer is not None and isinstance(answer.error, DuplicateName) and doc.remote is not None:
                # An update onto a name another record holds: never relinked to that record.
                if doc.distinct:
                    self._refused(doc, _held(self.job.provider, doc))
                else:
                    self._make_distinct(doc)
                    again.append(doc)
            elif answer is not None and isinstance(answer.error, DuplicateName):
                duplicates.append(doc)
            elif answer is not None and isinstance(answer.error, Rejected):
                self._refused(doc, answer.error)
            else:  # no answer for it, or a retryable fault: look it up, then try again
                again.append(doc)
        if duplicates:
            # The name is held: by ours (an earlier attempt's), by another document's object,
            # or by a record that is not surely ours. Only the first is linked.
            found = self._find(kind, [d.document for d in duplicates])
            for doc in duplicates:
                remote = found.get(doc.document.id)
                if remote is not None and self._hold(kind, doc, remote.id):
                    linked.append((doc, remote, "linked"))
                elif not doc.distinct:
                    self._make_distinct(doc)
                    again.append(doc)
                else:
                    self._refused(doc, _held(self.job.provider, doc))
        self._link_all(linked)
        return again

    def _intent_key(self, kind: DocumentKind, chunk: Sequence[_Doc]) -> str:
        provider = self.job.provider
        # Each document's part holds its link's push count, which only grows, so no edit history
        # (A->B->A->B) meets an earlier batch's key, versions or none; and the version it updates
        # where the provider keeps versions (a retry after a conflict is another write).
        parts = sorted(
            f"{d.row.doc_id}:{d.remote.id if d.remote else 'new'}:{self._version(d)}:"
            f"{link_generation(d.row.link(provider))}:{link_pushes(d.row.link(provider))}:"
            f"{d.row.content_hash}{':distinct' * d.distinct}"
            for d in chunk
        )
        digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
        return f"{self.job.company_id}#{self.job.provider}#catalog#{kind.value}#{digest}"

    def _version(self, doc: _Doc) -> str:
        """The version an update applies to, in its key; none where the provider keeps none."""
        if doc.remote is None or not self.declared.supports(Capability.VERSIONS):
            return ""
        return str(doc.remote.version)

    def _accounted(self, chunk: list[_Doc]) -> list[_Doc]:
        """Each item's income account (the engine's resolution); an item with none is refused
        on its own, naming it, and the rest of the batch goes out."""
        ready: list[_Doc] = []
        for doc in chunk:
            try:
                account = item_income_account(
                    doc.row, str(getattr(doc.document, "name", "")), self._declared, self._income_account
                )
            except NoIncomeAccount as exc:
                self._refused(doc, exc)
                continue
            doc.refs = ItemRefs(income_account_id=account)
            ready.append(doc)
        return ready

    def _income_account(self) -> str | None:
        with self._lock:
            if self._income is None:
                assert self.connection is not None
                self._income = (self.parts.income_account_for(self.connection),)
            return self._income[0]

    # -- results ---------------------------------------------------------------------------------
    def _link_all(self, linked: Sequence[tuple[_Doc, RemoteObject, str]]) -> None:
        """Store the links (only the link attribute: an edit landing meanwhile is kept), count them,
        and say under which name the provider holds each document when it is not its own."""
        if not linked:
            return
        now = self.parts.clock()
        for doc, remote, counted_as in linked:
            link = new_link(
                remote_id=remote.id,
                version=remote.version,
                pushed_hash=doc.row.content_hash,
                synced_at=now,
                outcome="synced",
                generation=link_generation(doc.row.link(self.job.provider)),
                pushes=link_pushes(doc.row.link(self.job.provider)) + 1,
                claimed=True,
            )
            note = name_link(
                link,
                remote,
                kind=doc.row.kind,
                doc_id=doc.row.doc_id,
                own=doc.own,
                distinct=doc.distinct,
                provider=self.job.provider,
                was_distinct=doc.was_distinct,
            )
            self.parts.documents.save_link(doc.row, self.job.provider, link)
            self._count(counted_as)
            if note is not None:
                self._count("renamed")
                add_note(self.job.company_id, self.job.run_id, note)

    def _refused(self, doc: _Doc, exc: ProviderError) -> None:
        link = refused_link(doc.row.link(self.job.provider), exc)
        link.pushes = link_pushes(link) + 1  # its batch is done: the next try is a push of its own
        self.parts.documents.save_link(doc.row, self.job.provider, link)
        with self._lock:
            self.counts["failed"] += 1
            self.errors.append(error_entry(f"{doc.row.kind} {doc.row.doc_id}", exc))

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    # -- invoices --------------------------------------------------------------------------------
    def _queue_invoices(self) -> None:
        """Each SENT invoice not in sync goes to the invoice queue (its customer and items are
        linked by now, so each costs the invoice and its payments only)."""
        jobs = [
            SyncJob(
                company_id=self.job.company_id,
                invoice_id=row.doc_id,
                provider=self.job.provider,
                trigger="manual",
            )
            for row in self.parts.documents.sent_since(self.job.company_id, 0)
            if _invoice_out_of_sync(row, self.job.provider)
        ]
        self.parts.invoices.enqueue(jobs)
        with self._lock:
            self.counts["invoices_queued"] += len(jobs)


def _held(provider: str, doc: _Doc) -> Rejected:
    label = provider_label(provider)
    return Rejected(
        f"{label} holds the name {own_name(doc.document)!r} for another record, and booksync could "
        f"not give this {doc.row.kind} a name of its own.",
        provider=provider,
        fix=f"Rename the {doc.row.kind} in your app or the other record in {label}, then sync again.",
    )


def _invoice_out_of_sync(row: DocumentModel, provider: str) -> bool:
    if row.status == DELETED or row.status not in {s.value for s in SYNCABLE}:
        return False
    link = row.link(provider)
    return link is None or link.pushed_hash != row.content_hash


def _error_dict(error: RunErrorMap) -> dict[str, str | None]:
    return {"document": error.document, "code": error.code, "message": error.message, "fix": error.fix}


__all__ = ["CatalogKind", "CatalogReport", "CatalogSync"]
