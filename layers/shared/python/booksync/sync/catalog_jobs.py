"""Catalog sync jobs: the SyncCatalogQueue message and how a run is requested.

The message only names the run and the step of its chain; the cursor lives in the run's row
(``store/catalog_runs.py``), so a message can be redelivered or duplicated without harm.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from booksync.errors import InvalidRequest

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from booksync.store.connections import ConnectionRepository
    from booksync.store.runs import RunRepository

CatalogKind = Literal["customers", "items", "invoices"]
KIND_ORDER: tuple[CatalogKind, ...] = ("customers", "items", "invoices")


class CatalogJob(BaseModel):
    """The body of a SyncCatalogQueue message (docs/architecture.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)
    company_id: str = Field(min_length=1, max_length=128)
    provider: Literal["quickbooks", "xero", "freshbooks", "wave"] = "quickbooks"
    run_id: str = Field(min_length=1, max_length=64)
    kinds: tuple[CatalogKind, ...] = Field(min_length=1)
    step: int = Field(default=0, ge=0)
    trigger: Literal["manual", "connect", "auto"] = "manual"


def parse_catalog_job(body: str) -> CatalogJob:
    try:
        return CatalogJob.model_validate(json.loads(body))
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
    ) -> None:
        self._runs = runs
        self._connections = connections
        self._queue = queue
        self._clock = clock

    def request(self, company_id: str, provider: str, kinds: Sequence[CatalogKind]) -> str:
        connection = self._connections.get(company_id, provider)
        if connection is None:
            raise InvalidRequest(
                f"{provider} is not connected.", fix="Connect it in Settings > Integrations first."
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
            trigger="manual",
            subject=",".join(ordered),
            now=self._clock(),
            status="queued",
        )
        self._queue.enqueue(
            CatalogJob(company_id=company_id, provider=provider, run_id=str(run.run_id), kinds=ordered)
        )
        return str(run.run_id)
