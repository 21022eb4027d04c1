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
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from booksync.webhooks.quickbooks import ChangeEvent, MalformedPayload, parse_payload
from booksync.webhooks.signature import signature_matches

logger = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
# SQS refuses messages over 256 KiB; leave room for the envelope and attribute overhead.
MAX_MESSAGE_BYTES = 240_000
MESSAGE_VERSION = 1
Parsed = TypeVar("Parsed")


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


@dataclass(frozen=True)
class ProviderTexts:
    """What a provider's refusals and logs say (the flow is the same for every provider)."""

    provider: str  # the queue message's ``provider`` and the logs' prefix
    sender: str  # who delivers again after a 5xx
    secret_log: str  # the secret, in the log line of a missing one
    secret_detail: str  # the secret, in the problem of a missing one
    not_configured_title: str
    not_configured_fix: str
    signature_header: str
    bad_signature_fix: str
    malformed_title: str
    malformed_fix: str


class SignedWebhookReceiver(Generic[Parsed]):
    """Verify the signature, queue the raw body, answer. A provider says how to check a
    signature (``_matches``), parse a body (``_parse``, raising ``malformed``) and keep one too
    big for a message (``_too_big``); ``texts`` are its words."""

    texts: ClassVar[ProviderTexts]
    malformed: ClassVar[type[Exception]]
    log: ClassVar[logging.Logger]

    def __init__(
        self, *, secret: VerifierToken, inbox: Inbox, production: bool, clock: Callable[[], float]
    ) -> None:
        self._secret_source = secret
        self._inbox = inbox
        self._production = production
        self._clock = clock

    # ------------------------------------------------------------ the provider's part

    def _parse(self, body: bytes) -> Parsed:
        raise NotImplementedError

    def _matches(self, body: bytes, signature: str | None, secret: str) -> bool:
        raise NotImplementedError

    def _too_big(
        self, envelope: dict[str, Any], text: str, parsed: Parsed | None, malformed: str | None
    ) -> list[str]:
        raise NotImplementedError

    def _queued_extra(self, parsed: Parsed) -> dict[str, Any]:
        raise NotImplementedError

    def _secret(self) -> tuple[str | None, str | None]:
        return self._secret_source.current()

    # ------------------------------------------------------------ the flow

    def receive(self, body: bytes, signature: str | None) -> Answer:
        texts = self.texts
        refused, signed = self._verify(body, signature)
        if refused is not None:
            return refused
        parsed: Parsed | None = None
        malformed: str | None = None
        try:
            parsed = self._parse(body)
        except self.malformed as exc:
            malformed = str(exc)
        try:
            self._inbox.send(self._messages(body, parsed, malformed, signed))
        except Exception as exc:  # the queue's own errors: the provider retries on a 5xx
            self.log.exception(f"{texts.provider} webhook not queued", extra={"error": type(exc).__name__})
            return problem(
                503,
                "queue_unavailable",
                "The event could not be queued",
                "booksync could not put this delivery on its queue.",
                f"Nothing to do: {texts.sender} delivers it again.",
            )
        if malformed is not None:
            self.log.warning(f"malformed {texts.provider} webhook kept", extra={"reason": malformed})
            return problem(
                400,
                "malformed_webhook",
                texts.malformed_title,
                f"The body was signed correctly but {malformed}.",
                texts.malformed_fix,
            )
        assert parsed is not None
        self.log.info(f"{texts.provider} webhook queued", extra=self._queued_extra(parsed))
        return Answer(200)

    def _verify(self, body: bytes, signature: str | None) -> tuple[Answer | None, bool]:
        """A refusal, or None and whether the signature was checked (False: dev, no secret)."""
        texts = self.texts
        secret, reason = self._secret()
        if secret is None:
            if self._production:
                self.log.error(
                    f"{texts.provider} webhook {texts.secret_log} missing", extra={"reason": reason}
                )
                return self._not_configured(reason), False
            self.log.warning(
                f"unverified {texts.provider} webhook accepted (development)", extra={"reason": reason}
            )
            return None, False
        if self._matches(body, signature, secret):
            return None, True
        fresh = self._secret_source.refreshed() if signature else None
        if fresh is not None and fresh != secret and self._matches(body, signature, fresh):
            return None, True
        self.log.warning(f"{texts.provider} webhook signature refused", extra={"signed": bool(signature)})
        return (
            problem(
                401,
                "bad_signature",
                "Signature missing or wrong",
                f"The {texts.signature_header} header is missing or does not match the body.",
                texts.bad_signature_fix,
            ),
            False,
        )

    def _not_configured(self, reason: str | None) -> Answer:
        texts = self.texts
        return problem(
            503,
            "webhook_not_configured",
            texts.not_configured_title,
            f"The {texts.secret_detail} {reason}, so no delivery can be verified.",
            texts.not_configured_fix,
        )

    def _messages(self, body: bytes, parsed: Parsed | None, malformed: str | None, signed: bool) -> list[str]:
        envelope: dict[str, Any] = {
            "v": MESSAGE_VERSION,
            "provider": self.texts.provider,
            "received_at": self._clock(),
            "signed": signed,
        }
        text = body.decode("utf-8", errors="replace")
        whole = json.dumps({**envelope, "body": text, "malformed": malformed})
        if len(whole.encode()) <= MAX_MESSAGE_BYTES:
            return [whole]
        return self._too_big(envelope, text, parsed, malformed)


def truncated(envelope: dict[str, Any], text: str, malformed: str | None) -> str:
    """A body too big to keep whole and not to be split: its start, for a person to read."""
    cut = text[: MAX_MESSAGE_BYTES // 8]
    return json.dumps({**envelope, "body": cut, "malformed": malformed, "truncated": True})


_QUICKBOOKS = ProviderTexts(
    provider="quickbooks",
    sender="Intuit",
    secret_log="verifier token",
    secret_detail="verifier token",
    not_configured_title="QuickBooks webhooks are not configured",
    not_configured_fix=(
        "Store the Verifier Token from your Intuit app's Webhooks page in the SSM parameter named "
        "by QBO_WEBHOOK_VERIFIER_PARAM (template parameter QuickBooksWebhookVerifierParameterName)."
    ),
    signature_header="intuit-signature",
    bad_signature_fix="Check that the Verifier Token stored for booksync is the one of this Intuit app.",
    malformed_title="Not a QuickBooks webhook payload",
    malformed_fix=(
        "booksync kept the body; it expects Intuit's eventNotifications object or a CloudEvents array."
    ),
)


class QuickBooksWebhookReceiver(SignedWebhookReceiver[list[ChangeEvent]]):
    texts = _QUICKBOOKS
    malformed = MalformedPayload
    log = logger

    def __init__(
        self,
        *,
        token: VerifierToken,
        inbox: Inbox,
        production: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(secret=token, inbox=inbox, production=production, clock=clock)

    def _parse(self, body: bytes) -> list[ChangeEvent]:
        return parse_payload(body)

    def _matches(self, body: bytes, signature: str | None, secret: str) -> bool:
        return signature_matches(body, signature, secret)

    def _queued_extra(self, parsed: list[ChangeEvent]) -> dict[str, Any]:
        return {"events": len(parsed)}

    def _too_big(
        self, envelope: dict[str, Any], text: str, parsed: list[ChangeEvent] | None, malformed: str | None
    ) -> list[str]:
        if parsed is None:
            return [truncated(envelope, text, malformed)]
        return _chunks(envelope, parsed)


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
