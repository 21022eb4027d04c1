"""FreshBooks' webhooks (``providers/freshbooks/webhooks.py``) without AWS: the exact message
FreshBooks signs, the receiver's answers, the verification handshake, and the callbacks booksync
registers (each once, resent when its verifier is lost, deleted at disconnect)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from booksync.errors import ConcurrentChange, Rejected, TransientError
from booksync.providers.freshbooks.client import Resource
from booksync.providers.freshbooks.webhooks import (
    CALLBACKS,
    EVENTS,
    REGISTERING_SECONDS,
    VERIFY_WINDOW_SECONDS,
    FreshBooksCallbacks,
    FreshBooksEvents,
    FreshBooksWebhookReceiver,
    HeldCallbacks,
    MalformedDelivery,
    Verification,
    held_verifiers,
    parse_delivery,
    sign_delivery,
    signed_message,
)
from booksync.store.models import WebhookEventModel
from booksync.webhooks.port import WebhookOperation

from tests.fakes.webhooks import FakeInbox, compared_digests

ACCOUNT = "6BApk"
URL = "https://api.example.com/webhooks/freshbooks"
OURS = f"{URL}?account_id={ACCOUNT}"  # booksync's callbacks name their account on their URI
# FreshBooks' documented delivery (providers.md 3.4), in the order it posts the fields.
FIELDS = {
    "name": "invoice.update",
    "object_id": "1234567",
    "account_id": ACCOUNT,
    "business_id": "6543",
    "identity_id": "1234",
    "user_id": "1",
}
BODY = urlencode(FIELDS).encode()
VERIFIER = "scADVVi5QuKuj5qTjVkbJNYQe7V7USpGd"
# What FreshBooks' own snippet signs, written out by hand: ``json.dumps(request.form)``.
SIGNED_TEXT = (
    '{"name": "invoice.update", "object_id": "1234567", "account_id": "6BApk", '
    '"business_id": "6543", "identity_id": "1234", "user_id": "1"}'
)


def freshbooks_signature(text: str, verifier: str = VERIFIER) -> str:
    return base64.b64encode(hmac.new(verifier.encode(), text.encode(), hashlib.sha256).digest()).decode()


# ------------------------------------------------------------------------------- the signature


def test_the_signed_message_is_json_dumps_with_default_separators_in_posted_order() -> None:
    assert signed_message(FIELDS) == SIGNED_TEXT.encode()
    assert sign_delivery(FIELDS, VERIFIER) == freshbooks_signature(SIGNED_TEXT)


def test_non_ascii_is_escaped_as_json_dumps_does() -> None:
    fields = {"name": "client.update", "object_id": "7", "account_id": ACCOUNT, "note": "café ☕"}
    expected = (
        '{"name": "client.update", "object_id": "7", "account_id": "6BApk", "note": "caf\\u00e9 \\u2615"}'
    )
    assert signed_message(fields) == expected.encode()


def secrets_of(held: Mapping[str, str]) -> Any:
    class Lookup:
        def current(self, account: str | None) -> tuple[str | None, str | None]:
            secret = json.dumps(dict(held)) if account == ACCOUNT and held else None
            return secret, None if secret else f"no verifier for {account}"

        def refreshed(self, account: str | None) -> str | None:
            return None

    return Lookup()


def receiver(inbox: FakeInbox, held: Mapping[str, str] | None = None) -> FreshBooksWebhookReceiver:
    verifiers = {"2001": "another-callbacks-verifier", "2002": VERIFIER} if held is None else held
    return FreshBooksWebhookReceiver(
        secrets=secrets_of(verifiers), inbox=inbox, production=True, clock=lambda: 1_765_000_000.0
    )


def test_a_delivery_signed_as_freshbooks_signs_it_is_queued_once() -> None:
    inbox = FakeInbox()
    answer = receiver(inbox).receive(BODY, freshbooks_signature(SIGNED_TEXT))
    assert answer.status == 200
    (message,) = [json.loads(m) for m in inbox.sent]
    assert (message["provider"], message["body"], message["signed"]) == ("freshbooks", BODY.decode(), True)


@pytest.mark.parametrize(
    "text",
    [
        SIGNED_TEXT.replace(", ", ","),  # other separators
        SIGNED_TEXT.replace(": ", ":"),
        json.dumps(dict(sorted(FIELDS.items()))),  # the fields sorted, not as posted
    ],
)
def test_a_signature_over_any_other_serialization_is_refused(text: str) -> None:
    inbox = FakeInbox()
    answer = receiver(inbox).receive(BODY, freshbooks_signature(text))
    assert answer.status == 401 and answer.body is not None
    assert "X-FreshBooks-Hmac-SHA256" in answer.body["detail"] and inbox.sent == []


def test_the_same_fields_posted_in_another_order_are_another_message() -> None:
    reordered = urlencode(dict(reversed(FIELDS.items()))).encode()
    inbox = FakeInbox()
    assert receiver(inbox).receive(reordered, freshbooks_signature(SIGNED_TEXT)).status == 401
    assert inbox.sent == []


def test_every_verifier_of_the_account_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared = compared_digests(monkeypatch)
    assert receiver(FakeInbox()).receive(BODY, freshbooks_signature(SIGNED_TEXT)).status == 200
    assert len(compared) == 2  # both of the account's callbacks' verifiers, the matching one last


def test_an_unsigned_or_unknown_accounts_delivery_is_refused_and_nothing_queued() -> None:
    inbox = FakeInbox()
    assert receiver(inbox).receive(BODY, None).status == 401
    other = urlencode({**FIELDS, "account_id": "zzzz"}).encode()
    answer = receiver(inbox).receive(other, sign_delivery({**FIELDS, "account_id": "zzzz"}, VERIFIER))
    assert answer.status == 401 and answer.body is not None
    assert "holds no signing secret for this FreshBooks account" in answer.body["detail"]
    assert inbox.sent == []


def test_a_signed_body_that_is_not_an_event_is_kept_and_answered_400() -> None:
    fields = {"name": "invoice", "object_id": "1", "account_id": ACCOUNT}
    inbox = FakeInbox()
    answer = receiver(inbox).receive(urlencode(fields).encode(), sign_delivery(fields, VERIFIER))
    assert answer.status == 400 and answer.body is not None
    assert answer.body["detail"].endswith("the event name 'invoice' is not <noun>.<verb>.")
    (kept,) = [json.loads(m) for m in inbox.sent]
    assert kept["malformed"] == "the event name 'invoice' is not <noun>.<verb>"


# FreshBooks' verification names the callback, not its account: the URI booksync registered does.
VERIFY = {
    "name": "callback.verify",
    "object_id": "2003",
    "verifier": "code-1",
    "system": "Acme",
    "user_id": "1",
}


def test_the_verification_delivery_is_queued_unsigned_with_the_account_its_uri_names() -> None:
    inbox = FakeInbox()
    answer = receiver(inbox, held={}).receive(urlencode(VERIFY).encode(), None, {"account_id": ACCOUNT})
    assert answer.status == 200
    (message,) = [json.loads(m) for m in inbox.sent]
    assert message["signed"] is False
    assert parse_delivery(message["body"]) == Verification(ACCOUNT, "2003", "code-1")


def test_a_verification_naming_no_account_is_refused_saying_so() -> None:
    inbox = FakeInbox()
    answer = receiver(inbox, held={}).receive(urlencode(VERIFY).encode(), None)
    assert answer.status == 401 and answer.body is not None
    assert answer.body["detail"] == "The body names no FreshBooks account, so no secret can verify it."
    assert inbox.sent == []
    with pytest.raises(MalformedDelivery, match=r"the verification names no account \(booksync registers"):
        parse_delivery(urlencode(VERIFY))


def test_the_account_on_the_uri_never_changes_an_event_or_a_signed_body() -> None:
    inbox = FakeInbox()
    answer = receiver(inbox).receive(BODY, freshbooks_signature(SIGNED_TEXT), {"account_id": "zzzz"})
    assert answer.status == 200
    assert json.loads(inbox.sent[0])["body"] == BODY.decode()


def test_an_event_names_its_record_and_each_delivery_is_an_event_of_its_own() -> None:
    (event,) = parse_delivery(BODY, received_at=1_765_000_000.5)  # type: ignore[misc]
    assert (event.account_id, event.entity, event.entity_id, event.operation) == (
        ACCOUNT,
        "invoice",
        "1234567",
        WebhookOperation.UPDATE,
    )
    assert event.occurred_at == "2025-12-06T05:46:40.500000Z"
    (again,) = parse_delivery(BODY, received_at=1_765_000_000.5)  # type: ignore[misc]
    (later,) = parse_delivery(BODY, received_at=1_765_000_060.0)  # type: ignore[misc]
    assert again.event_id == event.event_id != later.event_id


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"name=invoice.update&object_id=1", "the field 'account_id' is missing or empty"),
        (
            b"name=invoice.update&name=client.update&object_id=1&account_id=A",
            "the field 'name' is given twice",
        ),
        (b"\xff\xfe", "the body is not UTF-8 text"),
        (b"name=callback.verify&object_id=1&account_id=A", "the verification delivery carries no verifier"),
    ],
)
def test_what_is_not_a_delivery_is_said(body: bytes, why: str) -> None:
    with pytest.raises(MalformedDelivery, match=why):
        parse_delivery(body)


# ------------------------------------------------------------------------------- registration


class FakeCallbacksApi:
    """FreshBooks' events API for one account, as ``FreshBooksClient`` calls it."""

    account_id = ACCOUNT

    def __init__(self) -> None:
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.next_id = 2001
        self.refuse_verifier = False

    def add(self, event: str, uri: str, verified: bool) -> str:
        ident = str(self.next_id)
        self.next_id += 1
        self.callbacks[ident] = {"callbackid": int(ident), "event": event, "uri": uri, "verified": verified}
        return ident

    def list_all(self, resource: Resource, params: Mapping[str, str]) -> list[dict[str, Any]]:
        assert resource is CALLBACKS
        self.calls.append(("GET", "callbacks"))
        return [dict(c) for c in self.callbacks.values()]

    def create(self, resource: Resource, body: Mapping[str, Any]) -> dict[str, Any]:
        self.calls.append(("POST", str(body["event"])))
        return dict(self.callbacks[self.add(str(body["event"]), str(body["uri"]), False)])

    def update(self, resource: Resource, ident: str, body: Mapping[str, Any]) -> dict[str, Any]:
        self.calls.append(("PUT", ident))
        if "verifier" in body:
            if self.refuse_verifier:
                raise Rejected("FreshBooks rejected the callback: invalid verifier", provider="freshbooks")
            self.callbacks[ident]["verified"] = True
        return dict(self.callbacks[ident])

    def delete(self, resource: Resource, ident: str) -> None:
        self.calls.append(("DELETE", ident))
        del self.callbacks[ident]


class Verifiers:
    def __init__(self, held: dict[str, str] | None = None) -> None:
        self.secret = json.dumps(held) if held else None

    def current(self, account: str | None) -> tuple[str | None, str | None]:
        return self.secret, None

    def amend(self, account: str, change: Any) -> bool:
        wanted = change(self.secret)
        if wanted is not None:  # None keeps what is there (StoredWebhookSecrets.amend)
            self.secret = wanted
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def callbacks(
    api: FakeCallbacksApi, verifiers: Verifiers | None = None, clock: Clock | None = None
) -> FreshBooksCallbacks:
    return FreshBooksCallbacks(client=api, verifiers=verifiers or Verifiers(), clock=clock or Clock())  # type: ignore[arg-type]


def registered(api: FakeCallbacksApi, verifiers: Verifiers, clock: Clock) -> list[str]:
    """booksync's callbacks registered, as at connect: their verification is awaited."""
    return list(callbacks(api, verifiers, clock).subscribe(URL).created)


def test_connect_registers_each_event_once_and_again_registers_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # what it says of the registration is a log line that can be made
    api = FakeCallbacksApi()
    first = callbacks(api).subscribe(URL)
    assert [call for call in api.calls if call[0] == "POST"] == [("POST", event) for event in EVENTS]
    assert set(EVENTS) >= {"invoice.update", "client.delete", "item.update", "payment.delete"}
    for ident in first.created:  # the handshake done: each verified, its verifier kept
        api.callbacks[ident]["verified"] = True
    held = Verifiers({ident: f"verifier-{ident}" for ident in first.created})
    api.calls.clear()
    again = callbacks(api, held).subscribe(URL)
    assert api.calls == [("GET", "callbacks")]
    assert (again.created, again.resent, again.deleted) == ((), (), ())
    assert sorted(again.kept) == sorted(first.created)
    assert len(api.callbacks) == len(EVENTS)
    assert {c["uri"] for c in api.callbacks.values()} == {OURS}
    said = [r for r in caplog.records if r.getMessage() == "FreshBooks callbacks registered"][-1]
    assert said.callbacks == {"created": 0, "resent": 0, "kept": len(EVENTS), "deleted": 0}  # type: ignore[attr-defined]


def test_a_callback_whose_verifier_is_lost_is_sent_its_verification_again() -> None:
    api = FakeCallbacksApi()
    ids = [api.add(event, OURS, verified=True) for event in EVENTS]
    unverified = api.add("nothing.else", "https://elsewhere.example/hook", verified=False)
    held = Verifiers(dict.fromkeys(ids[1:], "v"))  # the first one's verifier was lost
    done = callbacks(api, held).subscribe(URL)
    assert done.resent == (ids[0],) and done.created == () and ("PUT", unverified) not in api.calls
    # Its verification is the one awaited (acted on when it comes); the others stay as they were.
    kept = HeldCallbacks.read(held.secret)
    assert set(kept.awaiting) == {ids[0]} and kept.verifiers == dict.fromkeys(ids[1:], "v")
    assert kept.registering is None


def test_duplicated_callbacks_are_deleted_keeping_the_verified_one() -> None:
    api = FakeCallbacksApi()
    ids = [api.add(event, OURS, verified=True) for event in EVENTS]
    twin = api.add(EVENTS[0], OURS, verified=False)
    done = callbacks(api, Verifiers(dict.fromkeys(ids, "v"))).subscribe(URL)
    assert done.deleted == (twin,) and twin not in api.callbacks and ids[0] in api.callbacks


def test_disconnect_deletes_booksyncs_callbacks_and_no_other() -> None:
    api = FakeCallbacksApi()
    ours = [api.add(event, OURS, verified=True) for event in EVENTS]
    theirs = api.add("invoice.update", "https://another-app.example/hook", verified=True)
    assert sorted(callbacks(api).unsubscribe(URL)) == sorted(ours)
    assert list(api.callbacks) == [theirs]


# ------------------------------------------------------------------------------- the handshake


class Claims:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, str | None]] = {}

    def claim(self, row: WebhookEventModel, *, now: float) -> bool:
        return str(row.event_key) not in self.rows

    def finish(self, row: WebhookEventModel, *, outcome: str, detail: str | None) -> None:
        self.rows[str(row.event_key)] = (outcome, detail)

    def release(self, row: WebhookEventModel) -> None:
        self.rows.pop(str(row.event_key), None)


class Owners:
    def owner_connections(self, provider: str, account_id: str) -> list[Any]:
        return ["the-connection"] if account_id == ACCOUNT else []


def consumer(
    api: FakeCallbacksApi, verifiers: Verifiers, claims: Claims, clock: Clock | None = None
) -> FreshBooksEvents:
    clock = clock or Clock()
    return FreshBooksEvents(
        changes=None,  # type: ignore[arg-type]
        events=claims,
        connections=Owners(),  # type: ignore[arg-type]
        callbacks_for=lambda _connection: callbacks(api, verifiers, clock),
        verifiers=lambda: verifiers,
        clock=clock,
    )


def verification_message(callback_id: str, verifier: str, account: str = ACCOUNT, at: float = 5.0) -> str:
    fields = {
        "name": "callback.verify",
        "object_id": callback_id,
        "verifier": verifier,
        "account_id": account,
    }
    return json.dumps(
        {"v": 1, "provider": "freshbooks", "received_at": at, "signed": False, "body": urlencode(fields)}
    )


def test_a_verifier_freshbooks_accepts_is_kept_beside_the_others_once() -> None:
    api, clock = FakeCallbacksApi(), Clock()
    verifiers, claims = Verifiers({"1999": "older-verifier"}), Claims()
    ident, *_ = registered(api, verifiers, clock)
    events = consumer(api, verifiers, claims, clock)
    assert events.handle_message(verification_message(ident, "code-7")) == {"verified": 1}
    assert held_verifiers(verifiers.secret) == {"1999": "older-verifier", ident: "code-7"}
    assert api.callbacks[ident]["verified"] is True
    assert ident not in HeldCallbacks.read(verifiers.secret).awaiting
    assert events.handle_message(verification_message(ident, "code-7")) == {"duplicate": 1}  # the queue again
    assert [call for call in api.calls if call[0] == "PUT"] == [("PUT", ident)]
    verifiers.secret = None  # lost (a reconnect): registered again, FreshBooks resends the same code
    assert ident in callbacks(api, verifiers, clock).subscribe(URL).resent
    assert events.handle_message(verification_message(ident, "code-7", at=65.0)) == {"verified": 1}
    assert held_verifiers(verifiers.secret) == {ident: "code-7"}


def test_a_verifier_freshbooks_refuses_is_never_kept() -> None:
    api, clock = FakeCallbacksApi(), Clock()
    verifiers, claims = Verifiers(), Claims()
    ident, *_ = registered(api, verifiers, clock)
    api.refuse_verifier = True
    assert consumer(api, verifiers, claims, clock).handle_message(verification_message(ident, "forged")) == {
        "refused": 1
    }
    assert held_verifiers(verifiers.secret) == {}
    ((outcome, detail),) = claims.rows.values()
    assert (outcome, detail) == (
        "refused",
        f"FreshBooks refused this verifier for callback {ident}: nothing was kept.",
    )


def test_a_verification_for_an_account_nobody_connected_calls_nothing() -> None:
    api, claims = FakeCallbacksApi(), Claims()
    answer = consumer(api, Verifiers(), claims).handle_message(
        verification_message("1", "code", account="zz")
    )
    assert answer == {"unknown_realm": 1} and api.calls == []


def test_a_verification_freshbooks_could_not_take_now_is_given_back_to_the_queue() -> None:
    api, claims, clock, verifiers = FakeCallbacksApi(), Claims(), Clock(), Verifiers()
    ident, *_ = registered(api, verifiers, clock)
    update = api.update

    def down(*_args: Any, **_kw: Any) -> Any:
        raise TransientError("FreshBooks failed on its side", provider="freshbooks")

    api.update = down  # type: ignore[method-assign]
    events = consumer(api, verifiers, claims, clock)
    with pytest.raises(TransientError):
        events.handle_message(verification_message(ident, "code"))
    assert claims.rows == {}  # released: the redelivery is acted on
    api.update = update  # type: ignore[method-assign]
    clock.now += 60  # the queue's redelivery of that delivery is that one again, not another
    assert events.handle_message(verification_message(ident, "code")) == {"verified": 1}


def test_a_verification_of_a_callback_booksync_awaits_none_of_sends_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Anyone can post a verification: for a callback booksync never registered, one verified
    already, or a made-up id, nothing is sent to FreshBooks (no request on the company's tokens)."""
    api, claims, clock, verifiers = FakeCallbacksApi(), Claims(), Clock(), Verifiers()
    ident, *_ = registered(api, verifiers, clock)
    stranger = api.add("invoice.update", "https://another-app.example/hook", verified=False)
    events = consumer(api, verifiers, claims, clock)
    assert events.handle_message(verification_message(ident, "code-1")) == {"verified": 1}
    api.calls.clear()
    for n, callback in enumerate((stranger, ident, "424242")):
        answer = events.handle_message(verification_message(callback, "forged", at=10.0 + n))
        assert answer == {"not_awaited": 1}, callback
    assert api.calls == [] and held_verifiers(verifiers.secret) == {ident: "code-1"}
    said = [r for r in caplog.records if r.getMessage() == "FreshBooks callback verification dropped"]
    assert [r.callback for r in said] == [stranger, ident, "424242"]  # type: ignore[attr-defined]
    outcome, detail = claims.rows[max(claims.rows)]
    assert outcome == "not_awaited" and detail is not None and "nothing was sent to FreshBooks" in detail


def test_an_awaited_callbacks_verification_is_acted_on_once_within_the_window() -> None:
    api, claims, clock, verifiers = FakeCallbacksApi(), Claims(), Clock(), Verifiers()
    ident, *_ = registered(api, verifiers, clock)
    events = consumer(api, verifiers, claims, clock)
    api.refuse_verifier = True  # a forged code comes first: FreshBooks refuses it
    assert events.handle_message(verification_message(ident, "forged-0", at=10.0)) == {"refused": 1}
    for n in range(1, 6):  # more within the window, whatever they carry: dropped, nothing sent
        clock.now += 30
        assert events.handle_message(verification_message(ident, f"forged-{n}", at=10.0 + n)) == {
            "too_soon": 1
        }
    assert [call for call in api.calls if call[0] == "PUT"] == [("PUT", ident)]
    clock.now += VERIFY_WINDOW_SECONDS  # the window over: the next one is acted on
    api.refuse_verifier = False
    assert events.handle_message(verification_message(ident, "code", at=99.0)) == {"verified": 1}
    assert [call for call in api.calls if call[0] == "PUT"] == [("PUT", ident)] * 2


def test_a_verification_that_comes_before_its_registration_is_kept_waits_in_the_queue() -> None:
    """FreshBooks may post a new callback's verification before booksync has kept the callbacks
    it is registering: that one goes back to the queue, and is acted on once they are kept."""
    api, claims, clock, verifiers = FakeCallbacksApi(), Claims(), Clock(), Verifiers()
    events = consumer(api, verifiers, claims, clock)
    create, early = api.create, []

    def creating(resource: Resource, body: Mapping[str, Any]) -> dict[str, Any]:
        made = create(resource, body)
        if not early:  # its verification consumed before booksync kept the callback: queued again
            with pytest.raises(ConcurrentChange):
                events.handle_message(verification_message(str(made["callbackid"]), "code-1"))
            assert claims.rows == {} and not [call for call in api.calls if call[0] == "PUT"]
        elif len(early) == 1:  # the queue's redelivery: kept at once, it is acted on mid-registration
            assert events.handle_message(verification_message(early[0], "code-1")) == {"verified": 1}
        early.append(str(made["callbackid"]))
        return made

    api.create = creating  # type: ignore[method-assign]
    callbacks(api, verifiers, clock).subscribe(URL)
    kept = HeldCallbacks.read(verifiers.secret)
    assert kept.verifiers == {early[0]: "code-1"} and set(kept.awaiting) == set(early[1:])
    # One awaited since an earlier registration and verified while this one runs (asked its
    # verification again) is not awaited after it: a later verification of it sends nothing.
    again = early[1]
    update = api.update

    def resending(resource: Resource, ident: str, body: Mapping[str, Any]) -> dict[str, Any]:
        answer = update(resource, ident, body)
        if body.get("resend") and ident == again:
            assert events.handle_message(verification_message(ident, "code-2", at=7.0)) == {"verified": 1}
        return answer

    api.update = resending  # type: ignore[method-assign]
    assert again in callbacks(api, verifiers, clock).subscribe(URL).resent
    assert again not in HeldCallbacks.read(verifiers.secret).awaiting
    assert events.handle_message(verification_message(again, "forged", at=8.0)) == {"not_awaited": 1}
    # A registration that never ended (a worker killed) holds no verification back for long.
    stale = HeldCallbacks(registering=clock.now)
    assert stale.verdict("2001", "e", clock.now + REGISTERING_SECONDS) == "not_awaited"
