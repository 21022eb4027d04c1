"""Webhook event rows: each provider event is acted on once (conditional put on its id).

Providers redeliver (Intuit retries for days until it gets a 200) and SQS delivers at least
once, so the consumer claims each event id before acting. The rows expire after 14 days, well
past Intuit's retry schedule and the 7 days design.md asks for.
"""

from __future__ import annotations

from pynamodb.exceptions import PutError

from booksync.store.models import WebhookEventModel

EVENT_TTL_SECONDS = 14 * 86_400
# A claim left "processing" this long belongs to a consumer that died: it may be taken over.
STALE_CLAIM_SECONDS = 300


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class WebhookEventRepository:
    def claim(self, row: WebhookEventModel, *, now: float) -> bool:
        """Take the event for processing; False if it was done (or is being done) already."""
        row.state = "processing"
        row.received_at = now
        row.ttl = int(now + EVENT_TTL_SECONDS)
        try:
            row.save(
                condition=WebhookEventModel.event_key.does_not_exist()
                | (
                    (WebhookEventModel.state == "processing")
                    & (WebhookEventModel.received_at < now - STALE_CLAIM_SECONDS)
                )
            )
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def finish(self, row: WebhookEventModel, *, outcome: str, detail: str | None) -> None:
        row.update(
            actions=[
                WebhookEventModel.state.set("done"),
                WebhookEventModel.outcome.set(outcome),
                WebhookEventModel.detail.set(detail) if detail else WebhookEventModel.detail.remove(),
            ]
        )

    def release(self, row: WebhookEventModel) -> None:
        """Give the claim back after a failure, so the redelivery is acted on."""
        row.delete(condition=WebhookEventModel.state == "processing")

    def get(self, event_key: str) -> WebhookEventModel | None:
        try:
            return WebhookEventModel.get(event_key, consistent_read=True)
        except WebhookEventModel.DoesNotExist:
            return None
