"""POST /webhooks/xero in isolation: x-xero-signature, Intent to Receive, Xero's thin events, and
answers that never carry a body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from booksync.documents import DocumentKind
from booksync.providers.xero.webhooks import (
    FEED,
    MalformedPayload,
    XeroWebhookReceiver,
    event_id,
    parse_payload,
)
from booksync.webhooks.port import WebhookOperation
from booksync.webhooks.sources import SsmVerifierToken
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.webhooks import FakeInbox, compared_digests

KEY = "xero-webhook-key-Q2x9fT7vLw=="
TENANT = "a3c1f6de-0b1e-4c2e-9d51-4f3a2b1c0d9e"


def xero_event(**changes: str) -> dict[str, str]:
    event = {
        "resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/9f0b-inv",
        "resourceId": "9f0b-inv",
        "eventDateUtc": "2026-12-07T01:15:39.902",
        "eventType": "UPDATE",
        "eventCategory": "INVOICE",
        "tenantId": TENANT,
        "tenantType": "ORGANISATION",
    }
    return {**event, **changes}


def payload(*events: dict[str, str], first: int = 1) -> bytes:
    body = {
        "events": list(events),
        "firstEventSequence": first if events else 0,
        "lastEventSequence": first + len(events) - 1 if events else 0,
        "entropy": "S0M3R4ND0M3NTR0PY",
    }
    return json.dumps(body, separators=(",", ":")).encode()


def signed(body: bytes, key: str = KEY) -> str:
    """What Xero sends: base64(HMAC-SHA256(the app's webhook key, raw body)), written out here
    rather than taken from booksync's own signing code."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


class FakeKey:
    def __init__(self, value: str | None) -> None:
        self.value = value

    def current(self) -> tuple[str | None, str | None]:
        return self.value, (None if self.value else "XERO_WEBHOOK_KEY is not set")

    def refreshed(self) -> str | None:
        return None


def receiver(
    key: str | None = KEY, *, prod: bool = True, inbox: FakeInbox | None = None
) -> tuple[XeroWebhookReceiver, FakeInbox]:
    box = inbox or FakeInbox()
    return XeroWebhookReceiver(token=FakeKey(key), inbox=box, production=prod, clock=lambda: 1.0), box


# ---------------------------------------------------------------- the signature


def test_a_delivery_signed_with_the_apps_key_is_queued_raw_and_answered_200_with_no_body() -> None:
    rx, box = receiver()
    body = payload(xero_event())
    answer = rx.receive(body, signed(body))
    assert (answer.status, answer.body, answer.headers) == (200, None, {})
    (message,) = box.sent
    queued = json.loads(message)
    assert (queued["provider"], queued["body"].encode(), queued["signed"]) == ("xero", body, True)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param(signed(payload(xero_event()), "another-apps-key"), id="another-key"),
        pytest.param(signed(payload(xero_event(resourceId="other"))), id="another-body"),
        pytest.param(signed(payload(xero_event())).lower(), id="case-changed"),
        pytest.param("not base64 !!", id="not-base64"),
    ],
)
def test_a_delivery_not_signed_with_the_apps_key_is_401_with_no_body_and_nothing_queued(
    header: str | None,
) -> None:
    rx, box = receiver()
    answer = rx.receive(payload(xero_event()), header)
    assert (answer.status, answer.body, answer.headers) == (401, None, {})
    assert box.sent == []


def test_the_signature_covers_every_byte_of_the_body() -> None:
    rx, box = receiver()
    body = payload(xero_event())
    # The same JSON, spaced differently: another body, so another signature.
    respaced = json.dumps(json.loads(body)).encode()
    assert rx.receive(respaced, signed(body)).status == 401
    assert box.sent == []


def test_the_signature_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared = compared_digests(monkeypatch)
    rx, _ = receiver()
    body = payload(xero_event())
    assert rx.receive(body, signed(body)).status == 200
    assert rx.receive(body, signed(body, "wrong-key-1")).status == 401
    assert len(compared) == 2


# ---------------------------------------------------------------- Intent to Receive


def test_intent_to_receive_is_200_with_no_body_signed_right_and_401_with_no_body_signed_wrong() -> None:
    """Xero's check of the URL: empty payloads, some signed with the key and some not; it passes
    only on 200 / 401, each with an empty body."""
    rx, _ = receiver()
    for round_ in range(3):
        body = payload()
        right = rx.receive(body, signed(body))
        wrong = rx.receive(body, signed(body, f"random-key-{round_}"))
        assert (right.status, right.body) == (200, None)
        assert (wrong.status, wrong.body) == (401, None)


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize("key", [None, "", "changeme", "<xero-webhook-key>", "${XERO_KEY}"])
def test_production_without_a_real_key_answers_503_with_no_body_and_queues_nothing(
    key: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    box = FakeInbox()
    source = SsmVerifierToken(
        parameter_name=None,
        local_value=key,
        value_setting="XERO_WEBHOOK_KEY",
        param_setting="XERO_WEBHOOK_KEY_PARAM",
    )
    rx = XeroWebhookReceiver(token=source, inbox=box, production=True)
    body = payload(xero_event())
    answer = rx.receive(body, signed(body))
    assert (answer.status, answer.body) == (503, None)
    assert box.sent == []
    # No body to say it in: the log line says what is missing.
    (logged,) = [r for r in caplog.records if r.getMessage() == "xero webhook key missing"]
    assert "XERO_WEBHOOK_KEY" in logged.reason


def test_development_without_a_key_lets_a_delivery_through_unverified() -> None:
    rx, box = receiver(None, prod=False)
    assert rx.receive(payload(xero_event()), None).status == 200
    assert json.loads(box.sent[0])["signed"] is False


def test_a_queue_that_cannot_take_the_delivery_is_503_with_no_body_so_xero_retries() -> None:
    rx, _ = receiver(inbox=FakeInbox(fail=True))
    body = payload(xero_event())
    assert (rx.receive(body, signed(body)).status, rx.receive(body, signed(body)).body) == (503, None)


def test_a_signed_body_that_is_not_a_xero_payload_is_kept_and_answered_400_with_no_body() -> None:
    rx, box = receiver()
    body = b'{"hello": "world"}'
    answer = rx.receive(body, signed(body))
    assert (answer.status, answer.body) == (400, None)
    (message,) = box.sent
    assert "events" in json.loads(message)["malformed"]


# ---------------------------------------------------------------- the events


def test_xeros_thin_events_become_changes_to_contacts_and_invoices() -> None:
    body = payload(
        xero_event(eventCategory="CONTACT", eventType="CREATE", resourceId="c-1"),
        xero_event(resourceId="i-1", eventDateUtc="2026-12-07T01:15:40.125"),
    )
    contact, invoice = parse_payload(body)
    assert (contact.entity, contact.entity_id, contact.operation) == (
        "Contact",
        "c-1",
        WebhookOperation.CREATE,
    )
    assert (invoice.entity, invoice.entity_id, invoice.operation) == (
        "Invoice",
        "i-1",
        WebhookOperation.UPDATE,
    )
    assert contact.account_id == invoice.account_id == TENANT
    assert FEED.thin
    assert (FEED.kinds[contact.entity], FEED.kinds[invoice.entity]) == (
        DocumentKind.CUSTOMER,
        DocumentKind.INVOICE,
    )
    # eventDateUtc is UTC written without a zone: said as UTC.
    assert invoice.occurred_at == "2026-12-07T01:15:40.125Z"
    assert datetime.fromisoformat(str(invoice.occurred_at)) == datetime(2026, 12, 7, 1, 15, 40, 125000, UTC)


def test_an_event_is_identified_by_what_it_says_so_xeros_retries_are_one_event() -> None:
    first = parse_payload(payload(xero_event()))[0]
    again = parse_payload(payload(xero_event(), first=7))[0]
    later = parse_payload(payload(xero_event(eventDateUtc="2026-12-07T01:16:00.000")))[0]
    assert first.event_id == again.event_id != later.event_id
    assert first.event_id == event_id(TENANT, "INVOICE", "9f0b-inv", "UPDATE", "2026-12-07T01:15:39.902Z")


def test_a_category_or_type_booksync_does_not_act_on_is_kept_in_xeros_words() -> None:
    (event,) = parse_payload(payload(xero_event(eventCategory="SUBSCRIPTION", eventType="DELETE")))
    assert (event.entity, event.operation, event.recorded_operation) == (
        "SUBSCRIPTION",
        WebhookOperation.OTHER,
        "DELETE",
    )
    assert event.entity not in FEED.kinds


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"[]", "expected a JSON object with events"),
        (b"{}", "events: Field required"),
        (json.dumps({"events": [{"resourceId": "1"}]}).encode(), "events.0.eventCategory: Field required"),
        (payload(xero_event(tenantId="t" * 3_000)), "at most 200 characters"),
        (b"{" * 100_000, "not JSON"),
    ],
)
def test_malformed_payloads_say_what_is_wrong(body: bytes, says: str) -> None:
    with pytest.raises(MalformedPayload, match=says):
        parse_payload(body)


def test_a_delivery_too_big_for_one_message_travels_as_its_events() -> None:
    events = [
        xero_event(resourceId=f"inv-{n:05d}", resourceUrl="https://api.xero.com/" + "x" * 200)
        for n in range(1_500)
    ]
    rx, box = receiver()
    body = payload(*events)
    assert rx.receive(body, signed(body)).status == 200
    assert len(box.sent) > 1 and all(len(m.encode()) < 256 * 1024 for m in box.sent)
    carried = [FEED.read_queued(e) for m in box.sent for e in json.loads(m)["events"]]
    assert [e.entity_id for e in carried] == [f"inv-{n:05d}" for n in range(1_500)]
    assert carried[0] == parse_payload(body)[0]


# ---------------------------------------------------------------- fuzz

bodies = st.one_of(
    st.binary(max_size=300),
    st.just(payload()),
    st.just(payload(xero_event(), xero_event(eventCategory="CONTACT"))),
    st.builds(
        lambda v: json.dumps(v).encode(),
        st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=4),
    ),
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(body=bodies, sig=st.one_of(st.none(), st.text(max_size=60)), sign_it=st.booleans())
def test_fuzz_no_body_no_5xx_and_nothing_queued_without_the_signature(
    body: bytes, sig: str | None, sign_it: bool
) -> None:
    rx, box = receiver()
    header = signed(body) if sign_it else sig
    answer = rx.receive(body, header)
    valid = header == signed(body)
    assert answer.body is None
    assert answer.status in ((200, 400) if valid else (401,))
    assert bool(box.sent) == valid
