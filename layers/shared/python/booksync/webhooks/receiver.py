"""POST /webhooks/quickbooks: verify, enqueue, answer (design.md, "Webhooks").

Intuit wants a 200 within 3 seconds and holds back later events until it gets one, so the only
round trip before the answer is one SQS SendMessage of the verified raw body; everything else
(dedupe, finding the company, acting on documents) happens in the queue's consumer.

Answers:
- 200, empty body: verified and queued.
- 400 problem: verified but not a QuickBooks payload. The raw body is still queued (the consumer
  records it, so nothing Intuit sent is lost) and the 400 makes Intuit retry, which a fix of the
  parser turns into a success; redeliveries of the same bytes are deduplicated by the consumer.
- 401 problem: missing or wrong ``intuit-signature``; nothing queued.
- 503 problem: in production the verifier token is not configured (every request, until it is),
  or the queue could not take the message (Intuit retries).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from booksync.webhooks.quickbooks import ChangeEvent, MalformedPayload, parse_payload
from booksync.webhooks.signature import signature_matches

logger = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
# SQS refuses messages over 256 KiB; leave room for the envelope and attribute overhead.
MAX_MESSAGE_BYTES = 240_000
MESSAGE_VERSION = 1


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


class VerifierToken(Protocol):
    def current(self) -> tuple[str | None, str | None]:
        """The token, or None with the reason it is unusable (names the setting)."""
        ...

    def refreshed(self) -> str | None:
        """Re-read the token after a mismatch (a rotated token); None if not due or unusable."""
        ...


class Inbox(Protocol):
    def send(self, messages: Sequence[str]) -> None:
        """Queue every message or raise."""
        ...


def problem(status: int, code: str, title: str, detail: str, fix: str | None = None) -> Answer:
    body = {
        "type": f"https://booksync.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "fix": fix,
        "errors": [],
    }
    return Answer(status, body, {"content-type": PROBLEM})


class QuickBooksWebhookReceiver:
    def __init__(
        self,
        *,
        token: VerifierToken,
        inbox: Inbox,
        production: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token = token
        self._inbox = inbox
        self._production = production
        self._clock = clock

    def receive(self, body: bytes, signature: str | None) -> Answer:
        refused, signed = self._verify(body, signature)
        if refused is not None:
            return refused
        try:
            events: list[ChangeEvent] | None = parse_payload(body)
            malformed = None
        except MalformedPayload as exc:
            events, malformed = None, str(exc)
        try:
            self._inbox.send(self._messages(body, events, malformed, signed))
        except Exception as exc:  # the queue's own errors: Intuit retries on a 5xx
            logger.exception("webhook not queued", extra={"error": type(exc).__name__})
            return problem(
                503,
                "queue_unavailable",
                "The event could not be queued",
                "booksync could not put this delivery on its queue.",
                "Nothing to do: Intuit delivers it again.",
            )
        if malformed is not None:
            logger.warning("malformed quickbooks webhook kept", extra={"reason": malformed})
            return problem(
                400,
                "malformed_webhook",
                "Not a QuickBooks webhook payload",
                f"The body was signed correctly but {malformed}.",
                "booksync kept the body; it expects Intuit's eventNotifications object or a "
                "CloudEvents array.",
            )
        logger.info("quickbooks webhook queued", extra={"events": len(events or ())})
        return Answer(200)

    def _verify(self, body: bytes, signature: str | None) -> tuple[Answer | None, bool]:
        """A refusal, or None and whether the signature was checked (False: dev, no token)."""
        token, reason = self._token.current()
        if token is None:
            if self._production:
                logger.error("quickbooks webhook verifier token missing", extra={"reason": reason})
                return _not_configured(reason), False
            logger.warning("unverified quickbooks webhook accepted (development)", extra={"reason": reason})
            return None, False
        if signature_matches(body, signature, token):
            return None, True
        fresh = self._token.refreshed() if signature else None
        if fresh is not None and fresh != token and signature_matches(body, signature, fresh):
            return None, True
        logger.warning("quickbooks webhook signature refused", extra={"signed": bool(signature)})
        return (
            problem(
                401,
                "bad_signature",
                "Signature missing or wrong",
                "The intuit-signature header is missing or does not match the body.",
                "Check that the Verifier Token stored for booksync is the one of this Intuit app.",
            ),
            False,
        )

    def _messages(
        self, body: bytes, events: list[ChangeEvent] | None, malformed: str | None, signed: bool
    ) -> list[str]:
        envelope: dict[str, Any] = {
            "v": MESSAGE_VERSION,
            "provider": "quickbooks",
            "received_at": self._clock(),
            "signed": signed,
        }
        text = body.decode("utf-8", errors="replace")
        whole = json.dumps({**envelope, "body": text, "malformed": malformed})
        if len(whole.encode()) <= MAX_MESSAGE_BYTES:
            return [whole]
        if events is None:
            # Too big to keep whole and not parseable: keep its start for a person to read.
            cut = text[: MAX_MESSAGE_BYTES // 8]
            return [json.dumps({**envelope, "body": cut, "malformed": malformed, "truncated": True})]
        return _chunks(envelope, events)


def _not_configured(reason: str | None) -> Answer:
    return problem(
        503,
        "webhook_not_configured",
        "QuickBooks webhooks are not configured",
        f"The verifier token {reason}, so no delivery can be verified.",
        "Store the Verifier Token from your Intuit app's Webhooks page in the SSM parameter named "
        "by QBO_WEBHOOK_VERIFIER_PARAM (template parameter QuickBooksWebhookVerifierParameterName).",
    )


def _chunks(envelope: dict[str, Any], events: list[ChangeEvent]) -> list[str]:
    """A delivery too big for one message (Intuit sets no size limit) travels as its events."""
    messages: list[str] = []
    batch: list[dict[str, Any]] = []
    size = 0
    for event in events:
        item = event.to_json()
        item_size = len(json.dumps(item).encode()) + 2
        if batch and size + item_size > MAX_MESSAGE_BYTES - 200:
            messages.append(json.dumps({**envelope, "events": batch}))
            batch, size = [], 0
        batch.append(item)
        size += item_size
    if batch:
        messages.append(json.dumps({**envelope, "events": batch}))
    return messages
