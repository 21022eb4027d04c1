"""Catalog sync jobs: the SyncCatalogQueue message and how a run is requested.

The message only names the run and the step of its chain; the cursor lives in the run's row
(``store/catalog_runs.py``), so a message can be redelivered or duplicated without harm.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from booksync.errors import InvalidRequest
from booksync.providers.registry import REGISTRY, AccountingProviderName, declaration
from booksync.sync.jobs import queued_message

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from booksync.integrations import Connected
    from booksync.store.catalog_runs import ParkedRuns
    from booksync.store.connections import ConnectionRepository
    from booksync.store.runs import RunRepository

CatalogKind = Literal["customers", "items", "invoices"]
# first_sync: started when a company first connects (the wizard's catalog sync).
CatalogTrigger = Literal["manual", "connect", "auto", "first_sync"]
CATALOG_TRIGGERS: tuple[str, ...] = get_args(CatalogTrigger)
PARKED_LOOKBACK_SECONDS = 30 * 86_400
KIND_ORDER: tuple[CatalogKind, ...] = ("customers", "items", "invoices")


class CatalogJob(BaseModel):
    """The body of a SyncCatalogQueue message (docs/architecture.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)
    company_id: str = Field(min_length=1, max_length=128)
    provider: AccountingProviderName  # a message queued before it was named: ``queued_message``
    run_id: str = Field(min_length=1, max_length=64)
    kinds: tuple[CatalogKind, ...] = Field(min_length=1)
    step: int = Field(default=0, ge=0)
    trigger: CatalogTrigger = "manual"


def parse_catalog_job(body: str) -> CatalogJob:
    try:
        return CatalogJob.model_validate(queued_message(body))
    except (ValueError, ValidationError) as exc:
        raise InvalidRequest(
            f"The catalog job message is not valid: {exc}",
            fix="Send messages shaped as docs/architecture.md says (company_id, run_id, kinds, step).",
        ) from None


class SqsCatalogQueue:
    def __init__(self, queue_url: str, sqs: SQSClient | None = None) -> None:
        self._url = queue_url
        self._sqs = sqs

    def enqueue(self, job: CatalogJob) -> None:
        if self._sqs is None:
            import boto3

            self._sqs = boto3.client("sqs")
        self._sqs.send_message(QueueUrl=self._url, MessageBody=job.model_dump_json())


class CatalogJobQueue(Protocol):
    def enqueue(self, job: CatalogJob) -> None: ...


class CatalogRequests:
    """``POST /integrations/{provider}/sync``: a run row, then one message; 202 with the run id."""

    def __init__(
        self,
        *,
        runs: RunRepository,
        connections: ConnectionRepository,
        queue: CatalogJobQueue,
        clock: Callable[[], float] = time.time,
        parked: ParkedRuns | None = None,
        has_documents: Callable[[str, CatalogKind], bool] | None = None,
    ) -> None:
        self._parked = parked
        self._has_documents = has_documents
        self._runs = runs
        self._connections = connections
        self._queue = queue
        self._clock = clock

    def request(
        self,
        company_id: str,
        provider: str,
        kinds: Sequence[CatalogKind],
        *,
        trigger: CatalogTrigger = "manual",
    ) -> str:
        declared = declaration(provider)
        if declared.kind != "accounting":  # e.g. square: a payments connection, not the books
            raise InvalidRequest(
                f"{declared.label} is not an accounting system; the catalog syncs to the company's books.",
                fix="Sync the company's accounting connection: POST /integrations/<provider>/sync, "
                f"provider one of: {', '.join(REGISTRY.names('accounting'))}.",
            )
        connection = self._connections.get(company_id, provider)
        if connection is None:
            raise InvalidRequest(
                f"{declared.label} is not connected.", fix="Connect it in Settings > Integrations first."
            )
        ordered = tuple(kind for kind in KIND_ORDER if kind in set(kinds))
        if not ordered:
            raise InvalidRequest(
                "Nothing to sync.", fix='Send {"kinds": ["customers", "items", "invoices"]}.'
            )
        run = self._runs.start(
            company_id,
            provider=provider,
            kind="catalog",
            trigger=trigger,
            subject=",".join(ordered),
            now=self._clock(),
            status="queued",
        )
        self._queue.enqueue(
            CatalogJob(
                company_id=company_id,
                provider=provider,
                run_id=str(run.run_id),
                kinds=ordered,
                trigger=trigger,
            )
        )
        return str(run.run_id)

    # -- after a connection ------------------------------------------------------------------
    def after_connect(self, connected: Connected) -> None:
        """The callback's follow-up: resume what the broken connection parked; on a company's
        first connection, sync the catalog it already has."""
        self.resume_parked(connected.company_id, connected.provider)
        if connected.first:
            self.first_sync(connected.company_id, connected.provider)

    def resume_parked(self, company_id: str, provider: str) -> list[str]:
        """Re-enqueue each catalog run parked by a broken connection, from its saved cursor."""
        if self._parked is None:
            return []
        # Run ids start with their start time in milliseconds (store/runs.py, new_run_id).
        since = f"{int((self._clock() - PARKED_LOOKBACK_SECONDS) * 1000):013d}"
        resumed: list[str] = []
        for row in self._parked.parked(company_id, provider, since_run_id=since):
            # The message first, then the status: a failed send leaves the run parked for the
            # next reconnection, and a duplicate message is harmless (the run's row admits one
            # claim of a step).
            kinds = tuple(k for k in KIND_ORDER if k in str(row.subject or "").split(","))
            self._queue.enqueue(
                CatalogJob(
                    company_id=company_id,
                    provider=row.provider,
                    run_id=str(row.run_id),
                    kinds=kinds or KIND_ORDER,
                    # The next step of its chain: the parked step's claim is spent.
                    step=int(row.step or 0) + 1,
                    trigger=cast(CatalogTrigger, row.trigger if row.trigger in CATALOG_TRIGGERS else "auto"),
                )
            )
            self._parked.take(row)
            resumed.append(str(row.run_id))
        return resumed

    def resume_left_parked(self) -> list[str]:
        """The sweep's share: resume the parked runs of every connection that works again but
        whose reconnection did not resume them (its send failed, or it reconnected elsewhere),
        and those parked by a daily limit once the provider's next day has begun."""
        from booksync.store.connections import ConnectionStatus, held

        if self._parked is None:
            return []
        resumed: list[str] = []
        for provider in REGISTRY.names("accounting"):
            for company_id in sorted(self._parked.parked_companies(provider)):
                connection = self._connections.get(company_id, provider)
                if (
                    connection is not None
                    and connection.status == ConnectionStatus.CONNECTED
                    and not held(connection, self._clock())  # its daily limit: resumed the next day
                ):
                    resumed += self.resume_parked(company_id, provider)
        return resumed

    def first_sync(self, company_id: str, provider: str) -> str | None:
        """The catalog sync after a first connection: the kinds whose auto-sync is on and that
        the company has documents of; None when there is nothing to sync, or while several
        accounting systems are connected (which keeps the books is not known: nothing is pushed
        to either, and each integration says why; a Sync Now names one)."""
        connection = self._connections.get(company_id, provider)
        if connection is None or self._has_documents is None:
            return None
        if len(self._connections.accounting_connections(company_id)) > 1:
            return None
        wanted = {
            "customers": connection.settings.auto_sync_customers,
            "items": connection.settings.auto_sync_items,
        }
        kinds: list[CatalogKind] = [
            kind for kind in ("customers", "items") if wanted[kind] and self._has_documents(company_id, kind)
        ]
        if not kinds:
            return None
        return self.request(company_id, provider, kinds, trigger="first_sync")
