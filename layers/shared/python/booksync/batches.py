"""The SQS batch processor every queue-consuming function uses: each failed message is logged once.

Powertools' ``BatchProcessor`` reports a failed record by id (the message comes back after its
visibility timeout, and goes to the dead-letter queue after the queue's ``maxReceiveCount``) but
keeps the record's exception to its debug log: a message that failed left no trace of why.
:class:`SqsBatch` writes it where logs are read, once per failed record, with the message's id,
how many times it was received and the job's ``company_id`` / ``run_id`` when its body names them
(ids only: a webhook's payload is not logged). A failure a retry fixes (a provider error marked
retryable: a 429, a 5xx, a write in progress; or the job still running in another invocation) is
a warning; any other is an error.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

# The body's keys said with a failure: the ids a job message carries, never a payload.
NAMED = ("company_id", "run_id")


class SqsBatch(BatchProcessor):
    def __init__(self, logger: Logger) -> None:
        # Every failed message is reported by id, so a wholly failed batch (a throttled burst)
        # need not also count as a function error.
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self._log = logger

    def failure_handler(self, record: SQSRecord, exception: ExceptionInfo) -> FailureResponse:
        error = exception[1]
        say = self._log.warning if _retried(error) else self._log.error
        say(
            "queue message failed; it comes back after its visibility timeout",
            exc_info=error,  # with its traceback
            extra={
                "message_id": record.get("messageId"),
                "receive_count": (record.get("attributes") or {}).get("ApproximateReceiveCount"),
                **_named(record.body),
            },
        )
        return super().failure_handler(record, exception)


def _retried(error: BaseException | None) -> bool:
    """A failure the message's next delivery fixes: a provider error marked retryable, or the job
    still running in another invocation (Powertools' idempotency)."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    return bool(getattr(error, "retryable", False)) or isinstance(error, IdempotencyAlreadyInProgressError)


def _named(body: str) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(message, dict):
        return {}
    return {key: message[key] for key in NAMED if isinstance(message.get(key), str)}
