"""The sync_invoice queue consumer's logic: one message, one job, one outcome.

- A malformed message raises: it comes back, and after five receives it waits in the dead-letter
  queue (with an alarm) instead of being dropped.
- A 429 delays the message by its Retry-After instead of burning a receive.
- Work for a connection that needs reconnection is parked (acknowledged, still pending) and
  resumed by the sweep once the user reconnects.
- Powertools idempotency on ``sync`` (keyed by job_id) makes a redelivered message a no-op; the
  intents behind the engine make even a re-run after a Lambda timeout write nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import ValidationError

from booksync.errors import InvalidRequest, RateLimited, WriteInProgress
from booksync.sync.engine import InvoiceSync, SyncReport
from booksync.sync.jobs import SyncJob, parse_job

logger = logging.getLogger(__name__)


class MessageDelayer(Protocol):
    def delay(self, receipt_handle: str, seconds: float) -> None: ...


def parse_message(body: str) -> SyncJob:
    try:
        return parse_job(body)
    except (ValueError, ValidationError) as exc:
        raise InvalidRequest(
            f"The sync job message is not valid: {exc}",
            fix="Send messages shaped as docs/architecture.md says "
            "(job_id, company_id, invoice_id, kind, provider, trigger).",
        ) from None


def report_dict(report: SyncReport) -> dict[str, Any]:
    return {
        "invoice_id": report.invoice_id,
        "outcome": report.outcome,
        "run_id": report.run_id,
        "counts": dict(report.counts),
        "remote_invoice_id": report.remote_invoice_id,
        "error": report.error,
    }


class SyncWorker:
    def __init__(
        self,
        engine: InvoiceSync,
        queue: MessageDelayer,
        *,
        idempotent: Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]] | None = None,
    ) -> None:
        self._engine = engine
        self._queue = queue
        self._sync = idempotent(self._run) if idempotent else self._run

    def _run(self, job: dict[str, Any]) -> dict[str, Any]:
        return report_dict(self._engine.run(SyncJob.model_validate(job)))

    def handle(self, body: str, receipt_handle: str) -> dict[str, Any]:
        job = parse_message(body)
        try:
            result = self._sync(job=job.model_dump(mode="json"))
        except (RateLimited, WriteInProgress) as exc:
            self._queue.delay(receipt_handle, exc.retry_after)
            raise
        logger.info("sync job done", extra=result)
        return result


class PowertoolsIdempotency:
    """Powertools idempotency keyed by the job id (a first line of defence only)."""

    def __init__(self, table_name: str) -> None:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        self.config = IdempotencyConfig(
            event_key_jmespath="job_id", expires_after_seconds=3600, raise_on_no_idempotency_key=True
        )
        self._persistence = DynamoDBPersistenceLayer(table_name=table_name)
        self._decorator = idempotent_function

    def register_lambda_context(self, context: Any) -> None:
        """So an in-progress record expires with the invocation that wrote it."""
        self.config.register_lambda_context(context)

    def __call__(self, fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        wrapped: Callable[..., dict[str, Any]] = self._decorator(
            data_keyword_argument="job", persistence_store=self._persistence, config=self.config
        )(fn)
        return wrapped
