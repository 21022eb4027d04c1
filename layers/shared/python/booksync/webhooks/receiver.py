"""Any provider's webhook endpoint: verify, enqueue, answer (design.md, "Webhooks").

Providers want a 2xx within seconds (Intuit 3, Xero 5, Square 10), so the only round trip
before the answer is one SQS SendMessage of the verified raw body; everything else (dedupe,
finding the company, acting on documents, calling the provider's API for a thin event) happens
in the queue's consumer. A provider's receiver (``quickbooks.py``, ``square.py``) says how its
signature is checked and its body parsed; this module knows no provider.

Answers:
- 200, empty body: verified and queued.
- 400 problem: verified but not the provider's payload. The raw body is still queued (the
  consumer records it, so nothing the provider sent is lost) and the 400 makes the provider
  retry, which a fix of the parser turns into a success; redeliveries of the same bytes are
  deduplicated by the consumer.
- 401 problem: missing or wrong signature; nothing queued.
- 503 problem: in production the signing secret is not configured (every request, until it
  is), or the queue could not take the message (the provider retries).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from booksync.webhooks.signature import signature_matches

if TYPE_CHECKING:
    from booksync.webhooks.port import ChangeEvent

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


class SecretLookup(Protocol):
    """The secret a delivery is signed with, by the connection or account it says it is for
    (``account``; None where one secret signs every delivery of the provider)."""

    def current(self, account: str | None) -> tuple[str | None, str | None]:
        """The secret, or None with the reason there is none (names the setting or the account)."""
        ...

    def refreshed(self, account: str | None) -> str | None:
        """Re-read the secret after a mismatch (a rotated one); None if not due or unusable."""
        ...


@dataclass(frozen=True)
class OneSecret:
    """One secret signs every connection's deliveries (Intuit's verifier token, Square's key)."""

    token: VerifierToken

    def current(self, account: str | None) -> tuple[str | None, str | None]:
        return self.token.current()

    def refreshed(self, account: str | None) -> str | None:
        return self.token.refreshed()


class WebhookReceiver(Protocol):
    """What a webhook function calls: a provider's receiver, built from its declaration."""

    @property
    def signature_header(self) -> str:
        """The request header its provider signs deliveries in."""
        ...

    def receive(self, body: bytes, signature: str | None, query: Mapping[str, str] | None = None) -> Answer:
        """``query``: the delivery URL's query parameters (a provider's webhook registered per
        account may name it there, as booksync registers FreshBooks' callbacks)."""
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
    # Where each connection signs with its own secret: what the body names to choose it by.
    signer: str = "account"
    unknown_signer_fix: str = ""


class SignedWebhookReceiver(Generic[Parsed]):
    """Verify the signature, queue the raw body, answer. A provider says how to check a
    signature (``_matches``), parse a body (``_parse``, raising ``malformed``) and keep one too
    big for a message (``_too_big``); ``texts`` are its words. Where each connection signs with
    its own secret (``signed_per_account``: FreshBooks signs each account's callbacks with its
    own verifier), ``_signer`` reads from the body, not yet trusted, whose secret to check it
    with; a body that names none, or names one booksync holds no secret for, is refused."""

    texts: ClassVar[ProviderTexts]
    malformed: ClassVar[type[Exception]]
    log: ClassVar[logging.Logger]
    signed_per_account: ClassVar[bool] = False
    # Every answer without a body (Xero wants none, its Intent to Receive a 401 with none): the
    # status says it to the provider, the log line says why to a person.
    empty_bodies: ClassVar[bool] = False

    def __init__(
        self, *, secrets: SecretLookup, inbox: Inbox, production: bool, clock: Callable[[], float]
    ) -> None:
        self._secrets = secrets
        self._inbox = inbox
        self._production = production
        self._clock = clock

    @property
    def signature_header(self) -> str:
        return self.texts.signature_header

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

    def _signer(self, body: bytes) -> str | None:
        """The connection or account whose secret signed ``body`` (``signed_per_account`` only)."""
        raise NotImplementedError

    def _secret(self, account: str | None) -> tuple[str | None, str | None]:
        return self._secrets.current(account)

    # ------------------------------------------------------------ the flow

    def receive(self, body: bytes, signature: str | None, query: Mapping[str, str] | None = None) -> Answer:
        answer = self._answer(body, signature)
        return Answer(answer.status) if self.empty_bodies else answer

    def _answer(self, body: bytes, signature: str | None) -> Answer:
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
        account = self._signer(body) if self.signed_per_account else None
        refused, secret, reason = self._secret_for(account)
        if refused is not None:
            return refused, False
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
        fresh = self._secrets.refreshed(account) if signature else None
        if fresh is not None and fresh != secret and self._matches(body, signature, fresh):
            return None, True
        self.log.warning(f"{texts.provider} webhook signature refused", extra={"signed": bool(signature)})
        header = texts.signature_header
        return self._refused(f"The {header} header is missing or does not match the body."), False

    def _secret_for(self, account: str | None) -> tuple[Answer | None, str | None, str | None]:
        """A refusal, or the secret (None: not configured) and the reason there is none. Signed
        per account: a body that names none, or one booksync holds no secret for, is refused."""
        texts = self.texts
        if self.signed_per_account and account is None:
            self.log.warning(f"{texts.provider} webhook names no {texts.signer}")
            return self._refused(f"The body names no {texts.signer}, so no secret can verify it."), None, None
        try:
            secret, reason = self._secret(account)
        except Exception as exc:  # the secret store's own errors: the provider delivers it again
            self.log.exception(
                f"{texts.provider} webhook secret not read", extra={"error": type(exc).__name__}
            )
            unavailable = problem(
                503,
                "webhook_secret_unavailable",
                "The signing secret could not be read",
                f"booksync could not read the secret that verifies this {texts.signer}'s deliveries.",
                f"Nothing to do: {texts.sender} delivers it again.",
            )
            return unavailable, None, None
        if secret is None and account is not None:
            self.log.warning(
                f"{texts.provider} webhook {texts.signer} has no secret", extra={"reason": reason}
            )
            return (
                self._refused(f"booksync holds no signing secret for this {texts.signer}: {reason}."),
                None,
                None,
            )
        return None, secret, reason

    def _refused(self, detail: str) -> Answer:
        texts = self.texts
        fix = texts.bad_signature_fix
        if self.signed_per_account and texts.unknown_signer_fix:
            fix = f"{fix} {texts.unknown_signer_fix}"
        return problem(401, "bad_signature", "Signature missing or wrong", detail, fix)

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


class ChangesReceiver(SignedWebhookReceiver[list["ChangeEvent"]]):
    """An accounting provider's receiver whose deliveries are signed base64(HMAC-SHA256(one secret
    for every account, raw body)) (Intuit's ``intuit-signature``, Xero's ``x-xero-signature``)
    and parse into changes (``_parse``); one too big for a message travels as its changes."""

    def __init__(
        self,
        *,
        token: VerifierToken,
        inbox: Inbox,
        production: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(secrets=OneSecret(token), inbox=inbox, production=production, clock=clock)

    def _matches(self, body: bytes, signature: str | None, secret: str) -> bool:
        return signature_matches(body, signature, secret)

    def _queued_extra(self, parsed: list[ChangeEvent]) -> dict[str, Any]:
        return {"events": len(parsed)}

    def _too_big(
        self, envelope: dict[str, Any], text: str, parsed: list[ChangeEvent] | None, malformed: str | None
    ) -> list[str]:
        if parsed is None:
            return [truncated(envelope, text, malformed)]
        return chunked(envelope, parsed)


def truncated(envelope: dict[str, Any], text: str, malformed: str | None) -> str:
    """A body too big to keep whole and not to be split: its start, for a person to read."""
    cut = text[: MAX_MESSAGE_BYTES // 8]
    return json.dumps({**envelope, "body": cut, "malformed": malformed, "truncated": True})


def chunked(envelope: dict[str, Any], events: list[ChangeEvent]) -> list[str]:
    """A parsed delivery too big for one message (Intuit and Xero set no size limit) travels as
    its events, as many a message as fit (``ChangeFeed.read_queued`` reads each back)."""
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
