"""What every webhook queue consumer does around its provider's own work.

Each event is acted on once: claimed on its WebhookEvents row, acted on, and finished with the
outcome; a failure gives the claim back so the redelivery is acted on. A delivery that is not a
provider event is kept on a row of its own (keyed by a digest of the body, so a redelivery of the
same bytes is one row) for a person to read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

from booksync.store.models import WebhookEventModel

MALFORMED_KEPT_CHARS = 2_000


class EventClaims(Protocol):
    def claim(self, row: WebhookEventModel, *, now: float) -> bool: ...

    def finish(self, row: WebhookEventModel, *, outcome: str, detail: str | None) -> None: ...

    def release(self, row: WebhookEventModel) -> None: ...


def act_once(
    events: EventClaims, row: WebhookEventModel, act: Callable[[], tuple[str, str | None]], *, now: float
) -> str | None:
    """The outcome of ``act`` (outcome, detail), recorded on ``row``; None when the event was
    claimed already (a duplicate). Whatever ``act`` raises releases the claim and propagates."""
    if not events.claim(row, now=now):
        return None
    try:
        outcome, detail = act()
    except BaseException:
        events.release(row)
        raise
    events.finish(row, outcome=outcome, detail=detail)
    return outcome


def keep_malformed(events: EventClaims, provider: str, message: dict[str, Any], *, now: float) -> str:
    """Record a queued delivery that is not an event (once per body); answers the row's key."""
    body = str(message.get("body", ""))
    digest = hashlib.sha256(body.encode()).hexdigest()[:40]
    row = WebhookEventModel(f"{provider}#malformed:{digest}")
    if events.claim(row, now=now):
        detail = f"{message.get('malformed')}: {body[:MALFORMED_KEPT_CHARS]}"
        events.finish(row, outcome="malformed", detail=detail)
    return str(row.event_key)
