"""FreshBooks' webhooks ("callbacks", providers.md 3.4 and 7.2): registered at connect, verified
by a handshake, received at POST /webhooks/freshbooks and consumed from its events queue.

**Registration.** A callback is one event of one account sent to one URI:
``POST {api}/events/account/{account_id}/events/callbacks`` ``{"callback": {"event", "uri"}}``.
FreshBooks then POSTs the URI a verification delivery, form-encoded
``name=callback.verify&object_id=<callback id>&verifier=<code>&system=…&user_id=…``: it names the
callback, not its account, so booksync registers each account's callbacks with a URI naming the
account (``callback_uri``: its webhook URL with ``?account_id=``). The callback delivers nothing
until booksync sends that code back:
``PUT …/callbacks/{callback_id}`` ``{"callback": {"verifier": code}}``. ``{"callback": {"resend":
true}}`` asks for the verification delivery again. At connect (and reconnect) booksync registers
``EVENTS`` for its webhook URL (``FreshBooksCallbacks.subscribe``): what is registered already is
kept (never twice), a callback whose verifier booksync does not hold (lost, or a reconnect since)
is sent its verification again, duplicates are deleted; disconnect deletes booksync's callbacks.

**Verifiers.** Each callback's deliveries are signed with its own verifier: booksync keeps them on
the connection row, ``{callback_id: verifier}`` sealed as the tokens are (``webhooks/secrets.py``,
``StoredWebhookSecrets``), beside what it awaits (``HeldCallbacks``). A verification delivery is
unsigned (there is no verifier yet): anyone can post one, and sending its code back is a request
with the company's tokens, against the business's rate limit. So the receiver queues it unverified
and the consumer sends the code back only for a callback booksync registered and awaits the
verification of (kept at registration), once per callback within ``VERIFY_WINDOW_SECONDS``; any
other is acknowledged and dropped with a log line. Only a code FreshBooks accepts for that callback
is kept, so a forged verification delivery keeps nothing.

**Deliveries.** ``name=invoice.update&object_id=1234567&account_id=6BApk&business_id=6543&
identity_id=1234&user_id=1``, with ``X-FreshBooks-Hmac-SHA256`` = base64(HMAC-SHA256(verifier,
``json.dumps`` of the form fields as strings)): Python's default separators (``", "``, ``": "``),
ASCII escaping, the fields in the order they were posted (``signed_message``). The receiver
checks it in constant time against the verifiers kept for the account the body names, queues
with one SQS call and answers (the verifiers are read once and cached, ``webhooks/secrets.py``).

**Events** are thin and carry no id and no time: ``<noun>.<verb>`` and the record's id. The
generic consumer (``webhooks/events.py``) reads each record booksync links through FreshBooks'
adapter and acts on what it finds. Each delivery received is one event (its id is its account,
name, record and the moment booksync received it): the queue's redeliveries of it are acted on
once; FreshBooks delivering one change twice is read twice, and the second read finds what the
first did.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlencode

from booksync.documents import DocumentKind
from booksync.errors import ConcurrentChange, ConnectionDown, NeedsReconnection, ProviderError
from booksync.keys import fits_key
from booksync.providers.freshbooks import LABEL, PROVIDER
from booksync.providers.freshbooks.client import FreshBooksClient, Resource
from booksync.store.models import WebhookEventModel
from booksync.webhooks.consumer import EventClaims, act_once
from booksync.webhooks.port import ChangeEvent, ChangeFeed, WebhookOperation
from booksync.webhooks.receiver import (
    MAX_MESSAGE_BYTES,
    Answer,
    ProviderTexts,
    SignedWebhookReceiver,
    truncated,
)
from booksync.webhooks.signature import sign, signature_matches

if TYPE_CHECKING:
    from booksync.providers.declaration import ConsumerParts, ReceiverParts
    from booksync.providers.port import TokenSource
    from booksync.settings import FreshBooksSettings, ThinEventsSettings, WebhookSecretsSettings
    from booksync.store.connections import ConnectionRepository
    from booksync.store.models import ConnectionModel
    from booksync.sync.rate_limits import RequestGate
    from booksync.webhooks.events import ChangeEventProcessor

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-FreshBooks-Hmac-SHA256"
VERIFY_EVENT = "callback.verify"
# What booksync registers: a change or a delete of its documents' records made in FreshBooks
# (FreshBooks says "<noun>.<verb>"). Creates are not asked for: a record booksync links was
# created by booksync.
NOUNS: Mapping[str, DocumentKind] = {
    "client": DocumentKind.CUSTOMER,
    "item": DocumentKind.ITEM,
    "invoice": DocumentKind.INVOICE,
    "payment": DocumentKind.PAYMENT,
}
EVENTS: tuple[str, ...] = tuple(f"{noun}.{verb}" for noun in NOUNS for verb in ("update", "delete"))
_OPERATIONS: Mapping[str, WebhookOperation] = {
    "create": WebhookOperation.CREATE,
    "update": WebhookOperation.UPDATE,
    "delete": WebhookOperation.DELETE,
}
MAX_FIELDS = 32  # FreshBooks posts six; a body with more is not its delivery


class MalformedDelivery(ValueError):
    """The body is not a FreshBooks callback delivery; the message says what is wrong."""


# ------------------------------------------------------------------------------- the wire


def form_fields(body: bytes | str) -> dict[str, str]:
    """The form's fields as FreshBooks posted them, in their order, values as strings; raises
    MalformedDelivery saying what is wrong (not UTF-8, not a form, a field given twice)."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise MalformedDelivery("the body is not UTF-8 text") from None
    except ValueError as exc:
        raise MalformedDelivery(
            f"the body is not a form (application/x-www-form-urlencoded): {exc}"
        ) from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise MalformedDelivery(f"the field {name!r} is given twice")
        fields[name] = value
    return fields


def signed_message(fields: Mapping[str, str]) -> bytes:
    """What FreshBooks signs: ``json.dumps`` of the form, exactly as its own Python snippet
    writes it (default separators ``", "`` and ``": "``, non-ASCII escaped as ``\\uXXXX``, the
    fields in posted order, every value a string)."""
    return json.dumps({name: str(value) for name, value in fields.items()}).encode("ascii")


def sign_delivery(fields: Mapping[str, str], verifier: str) -> str:
    """``X-FreshBooks-Hmac-SHA256`` for a delivery of ``fields`` under ``verifier``."""
    return sign(signed_message(fields), verifier)


def delivery_signed(fields: Mapping[str, str], signature: str | None, verifiers: Sequence[str]) -> bool:
    """True when ``signature`` is the delivery's under one of ``verifiers`` (each compared in
    constant time, all of them every time)."""
    message = signed_message(fields)
    matched = [signature_matches(message, signature, verifier) for verifier in verifiers]
    return any(matched)


# A verification of one callback is acted on (its code sent back) at most once in this window,
# whichever deliveries bring it; the queue's redelivery of the one acted on is that one again.
VERIFY_WINDOW_SECONDS = 300.0
# While a registration is under way (its callbacks created, their ids not yet kept), a
# verification of a callback not yet awaited goes back to the queue, for this long at most.
REGISTERING_SECONDS = 120.0
_AWAITING, _TRIED, _REGISTERING = "awaiting", "tried", "registering"  # never a callback id (digits)
ACT, NOT_AWAITED, TOO_SOON, REGISTERING = "act", "not_awaited", "too_soon", "registering"


@dataclass(frozen=True)
class HeldCallbacks:
    """What booksync keeps of an account's callbacks (the connection's sealed secret, JSON): each
    verified callback's verifier (``{callback_id: verifier}``, as before); the callbacks whose
    verification it awaits, since their registration (``awaiting``); when a verification of one
    was last acted on, and which delivery (``tried``); and when a registration began that has not
    yet kept what it registered (``registering``)."""

    verifiers: Mapping[str, str] = field(default_factory=dict)
    awaiting: Mapping[str, float] = field(default_factory=dict)
    tried: Mapping[str, tuple[float, str]] = field(default_factory=dict)
    registering: float | None = None

    @classmethod
    def read(cls, secret: str | None) -> HeldCallbacks:
        try:
            held = json.loads(secret) if secret else {}
        except ValueError:
            held = {}
        if not isinstance(held, dict):
            return cls()
        awaiting, tried = held.get(_AWAITING), held.get(_TRIED)
        return cls(
            verifiers={str(k): v for k, v in held.items() if isinstance(v, str) and v},
            awaiting={
                str(k): float(at) for k, at in _mapping(awaiting).items() if isinstance(at, int | float)
            },
            tried={
                str(k): (float(at), event)
                for k, value in _mapping(tried).items()
                if isinstance(value, list) and len(value) == 2
                for at, event in [value]
                if isinstance(at, int | float) and isinstance(event, str)
            },
            registering=_number(held.get(_REGISTERING)),
        )

    def dumps(self) -> str:
        out: dict[str, Any] = dict(self.verifiers)
        if self.awaiting:
            out[_AWAITING] = dict(self.awaiting)
        if self.tried:
            out[_TRIED] = {callback: [at, event] for callback, (at, event) in self.tried.items()}
        if self.registering is not None:
            out[_REGISTERING] = self.registering
        return json.dumps(out)

    def verdict(self, callback: str, event: str, now: float) -> str:
        """Whether to act on a verification of ``callback`` (delivery ``event``) now: ``ACT``, or
        ``NOT_AWAITED`` / ``TOO_SOON`` (dropped), or ``REGISTERING`` (asked again later: a
        registration under way has not yet kept the callbacks it made)."""
        if callback not in self.awaiting:
            started = self.registering
            if started is not None and 0 <= now - started < REGISTERING_SECONDS:
                return REGISTERING
            return NOT_AWAITED
        tried = self.tried.get(callback)
        if tried is not None and tried[1] != event and 0 <= now - tried[0] < VERIFY_WINDOW_SECONDS:
            return TOO_SOON
        return ACT

    def awaiting_also(self, callback: str, now: float) -> HeldCallbacks:
        """``callback``'s verification awaited from ``now``, with a fresh window."""
        return replace(
            self,
            awaiting={**self.awaiting, callback: now},
            tried={k: v for k, v in self.tried.items() if k != callback},
        )

    def trying(self, callback: str, event: str, now: float) -> HeldCallbacks:
        return replace(self, tried={**self.tried, callback: (now, event)})

    def verified(self, callback: str, verifier: str) -> HeldCallbacks:
        return replace(
            self,
            verifiers={**self.verifiers, callback: verifier},
            awaiting={k: v for k, v in self.awaiting.items() if k != callback},
            tried={k: v for k, v in self.tried.items() if k != callback},
        )

    def registered(self, awaited: Sequence[str], start: HeldCallbacks, now: float) -> HeldCallbacks:
        """The registration done: ``awaited`` (the callbacks it created or asked the verification
        of again) are what is awaited now, each with a fresh window; one verified while it ran
        (its verifier changed since ``start``) is not."""
        fresh = [c for c in awaited if self.verifiers.get(c) == start.verifiers.get(c)]
        return replace(self, awaiting=dict.fromkeys(fresh, now), tried={}, registering=None)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def held_verifiers(secret: str | None) -> dict[str, str]:
    """The verifiers kept for an account, by callback id (the connection's sealed secret)."""
    return dict(HeldCallbacks.read(secret).verifiers)


@dataclass(frozen=True)
class Verification:
    """FreshBooks' verification delivery of a new callback: the code to send back."""

    account_id: str
    callback_id: str
    verifier: str = field(repr=False)
    # When booksync received it: each delivery is one (a verification resent after a reconnect
    # brings the same code again, and is acted on again); the queue's redeliveries share it.
    received_at: str | None = None

    @property
    def event_id(self) -> str:
        raw = "\x1f".join((self.account_id, self.callback_id, self.verifier, self.received_at or ""))
        return "verify:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


Delivery = list[ChangeEvent] | Verification


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise MalformedDelivery(f"the field {name!r} is missing or empty")
    if not fits_key(value):
        raise MalformedDelivery(f"the field {name!r} is not an id booksync can keep")
    return value


def verification(fields: Mapping[str, str]) -> Verification | None:
    """The verification a delivery carries (None: it is an event); raises MalformedDelivery."""
    if fields.get("name") != VERIFY_EVENT:
        return None
    verifier = fields.get("verifier", "")
    if not verifier or len(verifier) > 1024:
        raise MalformedDelivery("the verification delivery carries no verifier")
    if not fields.get("account_id"):
        raise MalformedDelivery(
            "the verification names no account (booksync registers its callbacks with "
            "?account_id=<account> on their URL, and FreshBooks' verification names none itself)"
        )
    return Verification(_required(fields, "account_id"), _required(fields, "object_id"), verifier)


def callback_uri(url: str, account_id: str) -> str:
    """The URI booksync registers an account's callbacks with: its webhook URL naming the
    account, since FreshBooks' verification delivery names only the callback."""
    return f"{url}?{urlencode({'account_id': account_id})}"


def naming_account(body: bytes, account: str | None) -> bytes:
    """A verification delivery with the account its URL names (``callback_uri``) added, where
    the body names none; any other body as it came (a signed one is never changed)."""
    try:
        fields = form_fields(body)
    except MalformedDelivery:
        return body
    if not account or fields.get("name") != VERIFY_EVENT or "account_id" in fields:
        return body
    return body + b"&" + urlencode({"account_id": account}).encode()


def parse_delivery(body: bytes | str, *, received_at: float | None = None) -> Delivery:
    """The delivery's event (one), or its verification; raises MalformedDelivery saying what is
    wrong. ``received_at``: when booksync received it (its event's time and part of its id)."""
    fields = form_fields(body)
    verify = verification(fields)
    if verify is not None:
        return replace(verify, received_at=_iso(received_at))
    name = _required(fields, "name")
    noun, dot, verb = name.partition(".")
    if not dot or not noun or not verb:
        raise MalformedDelivery(f"the event name {name!r} is not <noun>.<verb>")
    account = _required(fields, "account_id")
    record = _required(fields, "object_id")
    operation, word = WebhookOperation.named(verb, _OPERATIONS)
    at = _iso(received_at)
    return [
        ChangeEvent(
            event_id=event_id(account, name, record, at),
            account_id=account,
            entity=noun,
            entity_id=record,
            operation=operation,
            occurred_at=at,
            provider_operation=word,
        )
    ]


def event_id(account: str, name: str, record: str, at: str | None) -> str:
    raw = "\x1f".join((account, name, record, at or ""))
    return "freshbooks:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, tz=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse_changes(body: str) -> list[ChangeEvent]:
    """The feed's parser: a queued body's change (a verification is none)."""
    parsed = parse_delivery(body)
    return [] if isinstance(parsed, Verification) else parsed


def read_queued(item: Mapping[str, Any]) -> ChangeEvent:
    return ChangeEvent.from_json(item, _OPERATIONS)


FEED = ChangeFeed(parse=_parse_changes, read_queued=read_queued, kinds=NOUNS, thin=True)


# ------------------------------------------------------------------------------- the receiver

_FRESHBOOKS = ProviderTexts(
    provider=PROVIDER,
    sender=LABEL,
    secret_log="verifier",
    secret_detail="FreshBooks callback verifier",
    not_configured_title="FreshBooks webhooks are not configured",
    not_configured_fix="Connect FreshBooks again (Settings > Integrations): booksync registers its "
    "callbacks and keeps their verifiers then.",
    signature_header=SIGNATURE_HEADER,
    bad_signature_fix="FreshBooks signs each callback's deliveries with that callback's verifier; "
    "booksync holds the ones it was sent when it registered them.",
    malformed_title="Not a FreshBooks callback delivery",
    malformed_fix="booksync kept the body; it expects FreshBooks' form "
    "name=<noun>.<verb>&object_id=…&account_id=….",
    signer="FreshBooks account",
    unknown_signer_fix="If this account was connected again since, its callbacks are sent their "
    "verification again at connect; reconnect it if deliveries stay refused.",
)


class FreshBooksWebhookReceiver(SignedWebhookReceiver[Delivery]):
    """Each account's deliveries are checked against the verifiers kept for it; a verification
    delivery is queued unchecked (it brings the verifier; the consumer has FreshBooks confirm it)."""

    texts = _FRESHBOOKS
    malformed = MalformedDelivery
    log = logger
    signed_per_account = True

    def receive(self, body: bytes, signature: str | None, query: Mapping[str, str] | None = None) -> Answer:
        return super().receive(naming_account(body, (query or {}).get("account_id")), signature)

    def _signer(self, body: bytes) -> str | None:
        try:
            account = form_fields(body).get("account_id")
        except MalformedDelivery:
            return None
        return account if account and fits_key(account) else None

    def _verify(self, body: bytes, signature: str | None) -> tuple[Any, bool]:
        try:
            verify = verification(form_fields(body))
        except MalformedDelivery:
            verify = None
        if verify is not None:
            self.log.info(
                "FreshBooks callback verification received",
                extra={"account": verify.account_id, "callback": verify.callback_id},
            )
            return None, False
        return super()._verify(body, signature)

    def _matches(self, body: bytes, signature: str | None, secret: str) -> bool:
        try:
            fields = form_fields(body)
        except MalformedDelivery:
            return False
        return delivery_signed(fields, signature, list(held_verifiers(secret).values()))

    def _parse(self, body: bytes) -> Delivery:
        return parse_delivery(body)

    def _queued_extra(self, parsed: Delivery) -> dict[str, Any]:
        if isinstance(parsed, Verification):
            return {"verification": parsed.callback_id}
        return {"events": len(parsed)}

    def _too_big(
        self, envelope: dict[str, Any], text: str, parsed: Delivery | None, malformed: str | None
    ) -> list[str]:
        why = malformed or f"the body is over {MAX_MESSAGE_BYTES} bytes: not a FreshBooks delivery"
        return [truncated(envelope, text, why)]


# ------------------------------------------------------------------------------- callbacks


Json = dict[str, Any]
# FreshBooks' callbacks, as its client names a resource (``client.py``): under
# ``{api}/events/account/{account_id}/``, as the SDK's ``EventsResource``.
CALLBACKS = Resource("events/callbacks", "callback", "callbacks", root="events")


class VerifierStore(Protocol):
    """Where an account's verifiers are kept (``webhooks/secrets.py``, ``StoredWebhookSecrets``)."""

    def current(self, account: str | None) -> tuple[str | None, str | None]: ...

    def amend(self, account: str, change: Callable[[str | None], str | None]) -> bool: ...


@dataclass(frozen=True)
class Registered:
    """What ``subscribe`` did, for the log and the tests."""

    created: tuple[str, ...] = ()
    resent: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()


def _callback_id(callback: Mapping[str, Any]) -> str:
    return str(callback.get("callbackid", callback.get("id", "")))


class FreshBooksCallbacks:
    """booksync's callbacks on one FreshBooks account (``WebhookSubscriptions``)."""

    def __init__(
        self, *, client: FreshBooksClient, verifiers: VerifierStore, clock: Callable[[], float] = time.time
    ) -> None:
        self.account_id = client.account_id
        self._client = client
        self._verifiers = verifiers
        self._clock = clock

    def subscribe(self, url: str) -> Registered:
        """``EVENTS`` delivered to ``url``, each once: what is there is kept, a callback whose
        verifier booksync does not hold is sent its verification again, a duplicate is deleted.
        The callbacks created or sent their verification again are kept as awaited (the only
        ones whose verification booksync acts on), each at once; while the registration is under
        way, a verification of one not yet kept goes back to the queue."""
        start: list[HeldCallbacks] = []

        def opening(secret: str | None) -> str:
            start.append(HeldCallbacks.read(secret))
            return replace(start[-1], registering=self._clock()).dumps()

        self._verifiers.amend(self.account_id, opening)
        held = start[-1].verifiers if start else {}
        uri = callback_uri(url, self.account_id)
        ours: dict[str, list[Json]] = {}
        for callback in self._client.list_all(CALLBACKS, {}):
            if callback.get("uri") == uri:
                ours.setdefault(str(callback.get("event")), []).append(callback)
        created: list[str] = []
        resent: list[str] = []
        kept: list[str] = []
        deleted: list[str] = []
        for event in EVENTS:
            found = ours.pop(event, [])
            if not found:
                created.append(_callback_id(self._client.create(CALLBACKS, {"event": event, "uri": uri})))
                self._awaits(created[-1], bool(start))
                continue
            # The first verified one stays (else the first); any other is a duplicate.
            found.sort(key=lambda c: not bool(c.get("verified")))
            keep, *extra = found
            ident = _callback_id(keep)
            if keep.get("verified") and ident in held:
                kept.append(ident)
            else:
                self._awaits(ident, bool(start))
                self._client.update(CALLBACKS, ident, {"resend": True})
                resent.append(ident)
            deleted += [self._delete(duplicate) for duplicate in extra]
        done = Registered(tuple(created), tuple(resent), tuple(kept), tuple(deleted))
        if start:
            self._verifiers.amend(
                self.account_id,
                lambda secret: (
                    HeldCallbacks.read(secret)
                    .registered([*created, *resent], start[-1], self._clock())
                    .dumps()
                ),
            )
        logger.info(
            "FreshBooks callbacks registered", extra={"account": self.account_id, "callbacks": _counts(done)}
        )
        return done

    def _awaits(self, callback: str, kept: bool) -> None:
        """``callback``'s verification awaited at once (FreshBooks may post it before the
        registration ends), where the account's callbacks are ``kept`` on its connection."""
        if kept:
            self._verifiers.amend(
                self.account_id,
                lambda secret: HeldCallbacks.read(secret).awaiting_also(callback, self._clock()).dumps(),
            )

    def unsubscribe(self, url: str) -> tuple[str, ...]:
        """Delete every callback of booksync's on the account (delivering to ``url``)."""
        uri = callback_uri(url, self.account_id)
        return tuple(self._delete(c) for c in self._client.list_all(CALLBACKS, {}) if c.get("uri") == uri)

    def activate(self, callback_id: str, verifier: str) -> bool:
        """Send the verification code back; True when FreshBooks accepts it for that callback."""
        try:
            answer = self._client.update(CALLBACKS, callback_id, {"verifier": verifier})
        except ProviderError as exc:
            if exc.retryable or isinstance(exc, NeedsReconnection | ConnectionDown):
                raise
            return False
        return answer.get("verified") is not False

    def _delete(self, callback: Mapping[str, Any]) -> str:
        ident = _callback_id(callback)
        self._client.delete(CALLBACKS, ident)
        return ident


def _counts(done: Registered) -> dict[str, int]:
    return {
        "created": len(done.created),
        "resent": len(done.resent),
        "kept": len(done.kept),
        "deleted": len(done.deleted),
    }


# ------------------------------------------------------------------------------- the consumer


class FreshBooksEvents:
    """FreshBooks' events queue: a verification is sent back and its verifier kept; every other
    delivery's change goes to the generic consumer (``webhooks/events.py``)."""

    def __init__(
        self,
        *,
        changes: ChangeEventProcessor,
        events: EventClaims,
        connections: ConnectionRepository,
        callbacks_for: Callable[[ConnectionModel], FreshBooksCallbacks],
        verifiers: Callable[[], VerifierStore],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._changes = changes
        self._events = events
        self._connections = connections
        self._callbacks_for = callbacks_for
        self._verifiers = verifiers
        self._clock = clock

    def handle_message(self, body: str) -> dict[str, int]:
        message: dict[str, Any] = json.loads(body)
        if message.get("malformed") or "events" in message:
            return self._changes.handle_message(body)
        try:
            parsed = parse_delivery(str(message["body"]), received_at=_number(message.get("received_at")))
        except (MalformedDelivery, KeyError) as exc:
            return self._changes.handle_message(json.dumps({**message, "malformed": str(exc) or "no body"}))
        if isinstance(parsed, Verification):
            return {self._verification(parsed): 1}
        return self._changes.handle_all(parsed)

    def _verification(self, verify: Verification) -> str:
        row = WebhookEventModel(
            f"{PROVIDER}#{verify.event_id}",
            realm_id=verify.account_id,
            entity="callback",
            entity_id=verify.callback_id,
            operation="Verify",
        )
        outcome = act_once(self._events, row, lambda: self._activate(verify), now=self._clock())
        return "duplicate" if outcome is None else outcome

    def _activate(self, verify: Verification) -> tuple[str, str | None]:
        """Only for a callback booksync awaits the verification of, once within the window
        (``_claimed``); FreshBooks confirms the code first; only then is it kept (a forged one
        never is)."""
        owners = self._connections.owner_connections(PROVIDER, verify.account_id)
        if len(owners) != 1:
            return "unknown_realm", f"No company is connected to {LABEL} account {verify.account_id}."
        callback = verify.callback_id
        dropped = self._claimed(verify)
        if dropped is not None:
            return dropped
        try:
            accepted = self._callbacks_for(owners[0]).activate(callback, verify.verifier)
        except (NeedsReconnection, ConnectionDown) as exc:
            return "not_activated", f"{LABEL} callback {callback} was not activated: {exc}"
        if not accepted:
            logger.warning("FreshBooks refused a callback verifier", extra={"callback": callback})
            return "refused", f"{LABEL} refused this verifier for callback {callback}: nothing was kept."
        kept = self._verifiers().amend(
            verify.account_id,
            lambda secret: HeldCallbacks.read(secret).verified(callback, verify.verifier).dumps(),
        )
        if not kept:
            return self._changed(verify)
        return "verified", None

    def _claimed(self, verify: Verification) -> tuple[str, str | None] | None:
        """None when this delivery may have its code sent back (the attempt is kept first, so
        that no other delivery of the callback's does within the window); else why it is dropped.
        A verification a registration under way has not yet made awaited goes back to the queue."""
        verdicts: list[str] = []

        def attempt(secret: str | None) -> str | None:
            held = HeldCallbacks.read(secret)
            verdicts.append(held.verdict(verify.callback_id, verify.event_id, self._clock()))
            if verdicts[-1] != ACT:
                return None
            return held.trying(verify.callback_id, verify.event_id, self._clock()).dumps()

        if not self._verifiers().amend(verify.account_id, attempt):
            return self._changed(verify)
        verdict = verdicts[-1]
        if verdict == ACT:
            return None
        where = f"{LABEL} callback {verify.callback_id} of account {verify.account_id}"
        if verdict == REGISTERING:
            raise ConcurrentChange(
                f"A verification of {where} came while its registration was being kept.",
                fix="Nothing to do: the delivery is retried once the registration is kept.",
            )
        why = (
            "booksync awaits no verification of it"
            if verdict == NOT_AWAITED
            else f"another verification of it was acted on less than {VERIFY_WINDOW_SECONDS:.0f} s ago"
        )
        logger.warning(
            "FreshBooks callback verification dropped",
            extra={"account": verify.account_id, "callback": verify.callback_id, "why": verdict},
        )
        return verdict, f"Dropped a verification of {where}: {why} (nothing was sent to {LABEL})."

    @staticmethod
    def _changed(verify: Verification) -> tuple[str, str]:
        return "unknown_realm", f"The connection of {LABEL} account {verify.account_id} changed meanwhile."


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


# ------------------------------------------------------------------------------- the builders
# What the declaration's ``WebhookParts`` build (``declaration.py`` imports this module on call).


def receiver(settings: WebhookSecretsSettings, parts: ReceiverParts) -> FreshBooksWebhookReceiver:
    """Each account's verifiers, read from its connection row (``parts.connection_secrets``)."""
    return FreshBooksWebhookReceiver(
        secrets=parts.connection_secrets(), inbox=parts.inbox, production=parts.production, clock=time.time
    )


def consumer(settings: ThinEventsSettings, parts: ConsumerParts) -> FreshBooksEvents:
    """Thin events through the generic consumer; verifications sent back and kept."""
    from booksync.webhooks.events import change_processor

    subscriptions_for, secrets = parts.subscriptions_for, parts.connection_secrets
    if subscriptions_for is None or secrets is None:
        raise ValueError("FreshBooks' consumer sends verifications back: it needs the connection's callbacks")

    def callbacks_for(connection: ConnectionModel) -> FreshBooksCallbacks:
        found = subscriptions_for(connection)
        assert isinstance(found, FreshBooksCallbacks)
        return found

    return FreshBooksEvents(
        changes=change_processor(PROVIDER, LABEL, FEED, parts),
        events=parts.events,
        connections=parts.connections,
        callbacks_for=callbacks_for,
        verifiers=secrets,
    )


def subscriptions(
    settings: FreshBooksSettings,
    account_id: str,
    tokens: TokenSource,
    gate: RequestGate | None,
    secrets: VerifierStore,
) -> FreshBooksCallbacks:
    """booksync's callbacks on the business ``account_id``, with the company's tokens."""
    client = FreshBooksClient(
        account_id=account_id, tokens=tokens, api_base_url=settings.api_base_url, gate=gate
    )
    return FreshBooksCallbacks(client=client, verifiers=secrets)
