"""One SQS queue with a client created on first use (a handler that never sends pays nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsQueue:
    def __init__(self, queue_url: str, sqs: SQSClient | None = None) -> None:
        self._url = queue_url
        self._sqs = sqs

    @property
    def sqs(self) -> SQSClient:
        if self._sqs is None:
            import boto3

            self._sqs = boto3.client("sqs")
        return self._sqs

    def send_all(self, bodies: Sequence[str], *, what: str) -> None:
        """Send every message (in batches of 10) or raise naming how many of ``what`` failed: a
        message is never silently dropped."""
        for start in range(0, len(bodies), 10):
            batch = bodies[start : start + 10]
            answer = self.sqs.send_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(batch)],
            )
            failed = answer.get("Failed", [])
            if failed:
                reasons = ", ".join(f"{f.get('Code')}: {f.get('Message', '')}" for f in failed)
                raise RuntimeError(f"{len(failed)} {what}(s) could not be queued ({reasons}).")
