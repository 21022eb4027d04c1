"""Sync jobs and the queue that carries them (SQS in AWS and in the local stack)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from booksync.providers.registry import AccountingProviderName
from booksync.queues import SqsQueue

Trigger = Literal["auto", "manual", "sweep"]
# What a job pushes: an invoice (with its customer, items, payments and refunds), or a customer
# alone (auto_sync_customers: a new or changed customer syncs without waiting for an invoice).
JobKind = Literal["invoice", "customer"]


class SyncJob(BaseModel):
    """The body of a SyncInvoiceQueue message (docs/architecture.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)
    company_id: str = Field(min_length=1, max_length=128)
    # The id of the document the job pushes: the invoice's, or the customer's for kind "customer".
    invoice_id: str = Field(min_length=1, max_length=100)
    kind: JobKind = "invoice"
    provider: AccountingProviderName  # a message queued before it was named: ``queued_message``
    trigger: Trigger = "auto"
    run_id: str | None = None

    @property
    def document(self) -> str:
        """The job's document as people read it (``invoice inv-1``, ``customer c-1``)."""
        return f"{self.kind} {self.invoice_id}"


class JobQueue(Protocol):
    def enqueue(self, jobs: Sequence[SyncJob]) -> None: ...


class SqsJobQueue(SqsQueue):
    def enqueue(self, jobs: Sequence[SyncJob]) -> None:
        """Send every job or raise: a job is never silently dropped."""
        self.send_all([job.model_dump_json() for job in jobs], what="sync job")

    def delay(self, receipt_handle: str, seconds: float) -> None:
        """Make a received message visible again only after ``seconds`` (a 429's Retry-After)."""
        self.sqs.change_message_visibility(
            QueueUrl=self._url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(1, min(int(seconds) + 1, 43_200)),
        )


# Messages queued before jobs named their provider were all QuickBooks' (the only books then):
# they parse as such. Only parsing fills it in: a job made now names its provider.
_QUEUED_BEFORE_PROVIDERS = "quickbooks"


def queued_message(body: str) -> Any:
    """A queue message's JSON, with the provider of one queued before jobs named it."""
    message = json.loads(body)
    if isinstance(message, dict):
        message.setdefault("provider", _QUEUED_BEFORE_PROVIDERS)
    return message


def parse_job(body: str) -> SyncJob:
    return SyncJob.model_validate(queued_message(body))
