"""POST /webhooks/quickbooks in isolation: signatures, both payload formats, the answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from booksync.webhooks import signature
from booksync.webhooks.port import WebhookOperation
from booksync.webhooks.quickbooks import (
    MalformedPayload,
    QuickBooksWebhookReceiver,
    legacy_event_id,
    parse_payload,
    read_queued,
)
from booksync.webhooks.sources import SsmVerifierToken
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.webhooks import FakeInbox, compared_digests

TOKEN = "verifier-7f3a9c2e"
LEGACY = {
    "eventNotifications": [
        {
            "realmId": "111",
            "dataChangeEvent": {
                "entities": [
                    {"name": "Customer", "id": "1", "operation": "Create", "lastUpdated": "2015-10-05T14:42:19-0700"},
                    {"name": "Customer", "id": "5", "operation": "Merge", "lastUpdated": "2015-10-05T14:42:20-0700", "deletedId": "7"},
                ]
            },
        },
        {
            "realmId": "222",
            "dataChangeEvent": {"entities": [{"name": "Invoice", "id": "9", "operation": "Void", "lastUpdated": "2015-10-05T14:42:21-0700"}]},
        },
    ]
}  # fmt: skip
CLOUD = [
    {"specversion": "1.0", "id": "e-1", "type": "qbo.invoice.deleted.v1", "intuitaccountid": "111",
     "intuitentityid": "42", "time": "2025-09-10T21:31:25.179851517Z", "data": {}},
    {"specversion": "1.0", "id": "e-2", "type": "qbo.customer.merged.v1", "intuitaccountid": "333",
     "intuitentityid": "58", "time": "2025-09-10T21:31:26Z", "data": {"deletedid": "27"}},
    {"specversion": "1.0", "id": "e-3", "type": "qbo.salesreceipt.updated.v1", "intuitaccountid": "111",
     "intuitentityid": "3"},
]  # fmt: skip


def signed(body: bytes, key: str = TOKEN) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


class FakeToken:
    def __init__(self, value: str | None, reason: str | None = None) -> None:
        self.value, self.reason, self.refreshes = value, reason, 0

    def current(self) -> tuple[str | None, str | None]:
        return self.value, (None if self.value else self.reason or "QBO_WEBHOOK_VERIFIER_PARAM is not set")

    def refreshed(self) -> str | None:
        self.refreshes += 1
        return self.value


def receiver(
    token: str | None = TOKEN, *, prod: bool = True, inbox: FakeInbox | None = None
) -> tuple[QuickBooksWebhookReceiver, FakeInbox]:
    box = inbox or FakeInbox()
    return QuickBooksWebhookReceiver(
        token=FakeToken(token), inbox=box, production=prod, clock=lambda: 1.0
    ), box


# ---------------------------------------------------------------- signature


def test_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    body = json.dumps(LEGACY).encode()
    assert signature.sign(body, TOKEN) == signed(body)
    assert signature.signature_matches(body, signed(body), TOKEN)
    assert not signature.signature_matches(body + b" ", signed(body), TOKEN)
    assert not signature.signature_matches(body, signed(body, "other-token-1234"), TOKEN)
    assert not signature.signature_matches(body, None, TOKEN)
    assert not signature.signature_matches(body, "", TOKEN)
    assert not signature.signature_matches(body, "not base64 !!", TOKEN)


def test_signature_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = compared_digests(monkeypatch)
    body = b"{}"
    assert signature.signature_matches(body, signed(body), TOKEN)
    assert not signature.signature_matches(body, signed(b"[]"), TOKEN)
    assert len(calls) == 2


# ---------------------------------------------------------------- payloads


def test_legacy_payload_with_two_realms() -> None:
    events = parse_payload(json.dumps(LEGACY))
    assert [(e.account_id, e.entity, e.entity_id, e.operation) for e in events] == [
        ("111", "Customer", "1", "Create"),
        ("111", "Customer", "5", "Merge"),
        ("222", "Invoice", "9", "Void"),
    ]
    assert events[1].merged_away_id == "7"
    assert events[0].event_id == legacy_event_id("111", "Customer", "1", "Create", "2015-10-05T14:42:19-0700")
    assert len({e.event_id for e in events}) == 3


def cloud_event(operation: str) -> dict[str, str]:
    return {
        "specversion": "1.0",
        "id": f"e-{operation}",
        "type": f"qbo.invoice.{operation}.v1",
        "intuitaccountid": "111",
        "intuitentityid": "42",
    }


def legacy(operation: str) -> dict[str, object]:
    entity = {"name": "Invoice", "id": "42", "operation": operation}
    return {"eventNotifications": [{"realmId": "111", "dataChangeEvent": {"entities": [entity]}}]}


@pytest.mark.parametrize(
    ("legacy_verb", "cloud_verb", "operation"),
    [
        ("Create", "created", WebhookOperation.CREATE),
        ("Update", "updated", WebhookOperation.UPDATE),
        ("Delete", "deleted", WebhookOperation.DELETE),
        ("Merge", "merged", WebhookOperation.MERGE),
        ("Void", "voided", WebhookOperation.VOID),
        ("Emailed", "emailed", WebhookOperation.EMAILED),
    ],
)
def test_both_formats_spellings_become_booksyncs_own_operation(
    legacy_verb: str, cloud_verb: str, operation: WebhookOperation
) -> None:
    (old,) = parse_payload(json.dumps(legacy(legacy_verb)))
    (new,) = parse_payload(json.dumps([cloud_event(cloud_verb)]))
    assert old.operation is operation and new.operation is operation
    assert (old.provider_operation, new.provider_operation) == (None, None)
    # Queued and read back (also as a message queued before: Intuit's verb): the same event.
    assert read_queued(json.loads(json.dumps(new.to_json()))) == new
    assert read_queued({**new.to_json(), "operation": legacy_verb}) == new
    assert read_queued({**new.to_json(), "operation": cloud_verb}) == new
    # A message queued before events were any provider's: its account was the realm.
    older = {**new.to_json(), "operation": legacy_verb, "realm_id": "111"}
    del older["account_id"], older["version"]
    assert read_queued(older) == new


def test_a_verb_booksync_has_no_operation_for_is_other_and_intuits_word_is_kept() -> None:
    (old,) = parse_payload(json.dumps(legacy("Archive")))
    (new,) = parse_payload(json.dumps([cloud_event("archived")]))
    assert (old.operation, old.provider_operation, old.recorded_operation) == (
        WebhookOperation.OTHER,
        "Archive",
        "Archive",
    )
    assert (new.operation, new.recorded_operation) == (WebhookOperation.OTHER, "archived")
    assert read_queued(json.loads(json.dumps(old.to_json()))) == old


def test_cloud_events_with_mixed_realms() -> None:
    events = parse_payload(json.dumps(CLOUD).encode())
    assert [(e.event_id, e.account_id, e.entity, e.entity_id, e.operation) for e in events] == [
        ("ce:e-1", "111", "Invoice", "42", "Delete"),
        ("ce:e-2", "333", "Customer", "58", "Merge"),
        ("ce:e-3", "111", "SalesReceipt", "3", "Update"),
    ]
    assert events[1].merged_away_id == "27"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not JSON"),
        (b'"text"', "JSON str"),
        (b'{"eventNotifications": [{"realmId": "1"}]}', "dataChangeEvent"),
        (b'[{"specversion": "1.0", "id": "x", "type": "account.created"}]', "type"),
    ],
)
def test_malformed_payloads_say_what_is_wrong(body: bytes, says: str) -> None:
    with pytest.raises(MalformedPayload, match=says):
        parse_payload(body)


# ---------------------------------------------------------------- answers


def test_signed_delivery_is_queued_raw_and_answered_200_with_an_empty_body() -> None:
    rx, box = receiver()
    body = json.dumps(CLOUD).encode()
    answer = rx.receive(body, signed(body))
    assert (answer.status, answer.body) == (200, None)
    (message,) = box.sent
    queued = json.loads(message)
    assert queued["body"].encode() == body
    assert queued["signed"] is True
    assert queued["malformed"] is None


@pytest.mark.parametrize("sig", [None, "", signed(b"other"), "garbage"])
def test_missing_or_bad_signature_is_401_and_nothing_is_queued(sig: str | None) -> None:
    rx, box = receiver()
    answer = rx.receive(json.dumps(LEGACY).encode(), sig)
    assert answer.status == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.body is not None and "intuit-signature" in answer.body["detail"]
    assert box.sent == []


@pytest.mark.parametrize("token", [None, "", "changeme", "<verifier-token>", "${QBO_TOKEN}"])
def test_production_without_a_real_token_answers_503_saying_what_to_configure(token: str | None) -> None:
    verifier = SsmVerifierToken(parameter_name=None, local_value=token)
    box = FakeInbox()
    rx = QuickBooksWebhookReceiver(token=verifier, inbox=box, production=True)
    body = json.dumps(LEGACY).encode()
    answer = rx.receive(body, signed(body))
    assert answer.status == 503
    assert answer.body is not None
    assert "QBO_WEBHOOK_VERIFIER" in answer.body["detail"] + answer.body["fix"]
    assert box.sent == []


def test_development_without_a_token_lets_an_unsigned_delivery_through_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rx, box = receiver(None, prod=False)
    answer = rx.receive(json.dumps(LEGACY).encode(), None)
    assert answer.status == 200
    assert json.loads(box.sent[0])["signed"] is False
    assert "unverified" in caplog.text


def test_development_with_a_token_still_refuses_a_bad_signature() -> None:
    rx, box = receiver(TOKEN, prod=False)
    assert rx.receive(b"[]", signed(b"[]", "wrong-token-99")).status == 401
    assert box.sent == []


def test_verified_but_malformed_body_is_kept_and_answered_400() -> None:
    rx, box = receiver()
    body = b'{"hello": "world"}'
    answer = rx.receive(body, signed(body))
    assert answer.status == 400
    assert answer.body is not None and "eventNotifications" in answer.body["detail"]
    (message,) = box.sent
    assert json.loads(message)["malformed"]


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError in the JSON decoder
        b'{"eventNotifications": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_a_signed_body_nested_too_deep_is_400_and_kept(body: bytes) -> None:
    rx, box = receiver()
    answer = rx.receive(body, signed(body))
    assert answer.status == 400
    assert answer.body is not None and "nested too deep" in answer.body["detail"]
    (message,) = box.sent
    assert "nested too deep" in json.loads(message)["malformed"]


@pytest.mark.parametrize(
    "event",
    [
        {**CLOUD[0], "id": "e" * 3_000},
        {**CLOUD[0], "intuitaccountid": "1" * 3_000},
        {**CLOUD[0], "intuitentityid": "4" * 3_000},
    ],
)
def test_ids_too_long_to_be_keys_are_malformed_not_read(event: dict[str, str]) -> None:
    with pytest.raises(MalformedPayload, match="at most 200 characters"):
        parse_payload(json.dumps([event]))
    legacy = json.loads(json.dumps(LEGACY))
    legacy["eventNotifications"][0]["realmId"] = "1" * 3_000
    with pytest.raises(MalformedPayload, match="at most 200 characters"):
        parse_payload(json.dumps(legacy))


def test_queue_failure_is_503_so_intuit_retries() -> None:
    rx, _ = receiver(inbox=FakeInbox(fail=True))
    body = json.dumps(CLOUD).encode()
    assert rx.receive(body, signed(body)).status == 503


def test_a_delivery_too_big_for_one_message_travels_as_its_events() -> None:
    events = [
        {"specversion": "1.0", "id": f"id-{n}", "type": "qbo.item.updated.v1", "intuitaccountid": "1",
         "intuitentityid": str(n), "time": "2025-09-10T21:31:25Z", "padding": "x" * 200}
        for n in range(2_000)
    ]  # fmt: skip
    rx, box = receiver()
    body = json.dumps(events).encode()
    assert rx.receive(body, signed(body)).status == 200
    assert len(box.sent) > 1
    carried = [e["event_id"] for m in box.sent for e in json.loads(m)["events"]]
    assert carried == [f"ce:id-{n}" for n in range(2_000)]
    assert all(len(m.encode()) < 256 * 1024 for m in box.sent)


def test_the_verifier_token_is_read_once_and_re_read_only_after_a_mismatch() -> None:
    reads: list[bool] = []
    now = [0.0]

    def fetch(name: str, force: bool) -> str:
        reads.append(force)
        return TOKEN if len(reads) == 1 else "rotated-token-2"

    verifier = SsmVerifierToken(parameter_name="/p", local_value=None, fetch=fetch, clock=lambda: now[0])
    rx = QuickBooksWebhookReceiver(token=verifier, inbox=FakeInbox(), production=True)
    body = b"[]"
    for _ in range(5):
        assert rx.receive(body, signed(body)).status in (200, 400)
    assert reads == [False]
    now[0] = 301.0
    assert rx.receive(body, signed(body, "rotated-token-2")).status in (200, 400)
    assert reads == [False, True]


# ---------------------------------------------------------------- fuzz

bodies = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda v: json.dumps(v).encode(), st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
        max_leaves=12,
    )),
    st.just(json.dumps(LEGACY).encode()),
    st.just(json.dumps(CLOUD).encode()),
)  # fmt: skip


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(body=bodies, sig=st.one_of(st.none(), st.text(max_size=60)), sign_it=st.booleans(), prod=st.booleans())
def test_fuzz_never_5xx_and_never_queues_without_a_valid_signature(
    body: bytes, sig: str | None, sign_it: bool, prod: bool
) -> None:
    rx, box = receiver(TOKEN, prod=prod)
    header = signed(body) if sign_it else sig
    answer = rx.receive(body, header)
    assert answer.status in (200, 400, 401)
    valid = header is not None and signature.signature_matches(body, header, TOKEN)
    assert bool(box.sent) == valid
    assert (answer.status == 401) == (not valid)


@pytest.mark.parametrize("junk", ["!", " ", "\n", "*"])
def test_a_signature_with_characters_outside_base64_is_refused(junk: str) -> None:
    """Decoding leniently would drop the stray character and accept a header that is not the
    signature's text (found by make mutation: validate=True turned off survived)."""
    body, key = b'{"eventNotifications": []}', "verifier-token"
    good = signature.sign(body, key)
    assert signature.signature_matches(body, good, key)
    assert not signature.signature_matches(body, good[:8] + junk + good[8:], key)
