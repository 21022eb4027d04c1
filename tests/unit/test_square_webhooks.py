"""POST /webhooks/square in isolation: Square's signature (published vectors, the official SDK
as an oracle), the answers, and fuzzed requests that never get a 5xx but the documented 503 and
never queue anything without a valid signature."""

from __future__ import annotations

import json

import pytest
from booksync.webhooks.signature import sign, sign_square, signature_matches, square_signature_matches
from booksync.webhooks.sources import SsmVerifierToken
from booksync.webhooks.square import MalformedEvent, SquareWebhookReceiver, parse_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from square.utils.webhooks_helper import verify_signature

from tests.fakes.webhooks import FakeInbox

KEY = "Ibxx_5AKakO-3qeNVR61Dw"
URL = "https://api.booksync.example/webhooks/square"

# Square's published test vectors (square-python-sdk tests/utils/test_webhooks_helper.py, the
# same in the Go, Java, Node, PHP and Ruby SDKs).
VECTORS = [
    (
        '{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":'
        '"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z",'
        '"data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}',
        "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=",
        "Ibxx_5AKakO-3qeNVR61Dw",
        "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9",
    ),
    (
        '{"data":{"type":"webhooks","id":">id<"}}',
        "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=",
        "signature-key",
        "https://webhook.site/webhooks",
    ),
    (
        '{"data":{"type":"webhooks","id":"fake_id"}}',
        "W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA=",
        "signature-key",
        "https://webhook.site/webhooks",
    ),
]
EVENT = {
    "merchant_id": "6SSW7HV8K2ST5",
    "type": "payment.updated",
    "event_id": "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc",
    "created_at": "2026-11-22T23:41:09.552Z",
    "data": {"type": "payment", "id": "pay_1", "object": {"payment": {"id": "pay_1"}}},
}


@pytest.mark.parametrize(("body", "header", "key", "url"), VECTORS)
def test_published_vectors_pass_and_any_change_fails(body: str, header: str, key: str, url: str) -> None:
    raw = body.encode()
    assert square_signature_matches(raw, header, key, url)
    assert verify_signature(
        request_body=body, signature_header=header, signature_key=key, notification_url=url
    )
    assert not square_signature_matches(raw + b" ", header, key, url)
    assert not square_signature_matches(raw, header, key + "x", url)
    assert not square_signature_matches(raw, header, key, url + "/")  # the URL byte for byte
    assert not square_signature_matches(raw, header, key, url.replace("https", "http"))


def test_square_signs_url_then_body_with_the_shared_hmac() -> None:
    body = json.dumps(EVENT).encode()
    assert sign_square(body, KEY, URL) == sign(URL.encode() + body, KEY)
    # Intuit's verifier (no URL) does not accept Square's signature, nor the reverse.
    assert not signature_matches(body, sign_square(body, KEY, URL), KEY)
    assert not square_signature_matches(body, sign(body, KEY), KEY, URL)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.text(min_size=0, max_size=300),
    key=st.text(min_size=1, max_size=40),
    url=st.text(min_size=1, max_size=80),
    header=st.one_of(st.none(), st.text(max_size=60)),
    use_real=st.booleans(),
)
def test_the_official_sdk_agrees_on_every_request(
    body: str, key: str, url: str, header: str | None, use_real: bool
) -> None:
    try:
        raw = body.encode()
        key.encode()
        url.encode()
    except UnicodeEncodeError:  # lone surrogates: not text an HTTP request can carry
        return
    signature = sign_square(raw, key, url) if use_real else header
    ours = square_signature_matches(raw, signature, key, url)
    try:
        theirs = verify_signature(
            request_body=body, signature_header=signature or "", signature_key=key, notification_url=url
        )
    except UnicodeEncodeError:
        theirs = False
    assert ours == theirs


# ---------------------------------------------------------------- the receiver


class FakeKey:
    def __init__(self, value: str | None) -> None:
        self.value = value

    def current(self) -> tuple[str | None, str | None]:
        return self.value, (None if self.value else "SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM is not set")

    def refreshed(self) -> str | None:
        return None


def receiver(
    key: str | None = KEY, *, production: bool = True, inbox: FakeInbox | None = None
) -> tuple[SquareWebhookReceiver, FakeInbox]:
    box = inbox or FakeInbox()
    return SquareWebhookReceiver(
        key=FakeKey(key), notification_url=URL, inbox=box, production=production, clock=lambda: 1.0
    ), box


def test_signed_event_is_queued_whole() -> None:
    rx, box = receiver()
    body = json.dumps(EVENT).encode()
    answer = rx.receive(body, sign_square(body, KEY, URL))
    assert answer.status == 200
    (message,) = box.sent
    assert json.loads(message) == {
        "v": 1, "provider": "square", "received_at": 1.0, "signed": True, "body": body.decode(), "malformed": None
    }  # fmt: skip


def test_bad_or_missing_signature_is_401_and_nothing_is_queued() -> None:
    rx, box = receiver()
    body = json.dumps(EVENT).encode()
    for header in (None, "", "nope", sign_square(body, "other-key", URL), sign_square(body, KEY, URL + "x")):
        answer = rx.receive(body, header)
        assert answer.status == 401
        assert answer.body is not None and answer.body["fix"]
    assert box.sent == []


def test_prod_without_a_key_answers_503_to_everyone() -> None:
    rx, box = receiver(None, production=True)
    body = json.dumps(EVENT).encode()
    answer = rx.receive(body, sign_square(body, KEY, URL))
    assert answer.status == 503
    assert answer.body is not None and "SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM" in answer.body["fix"]
    assert box.sent == []


def test_prod_without_the_notification_url_answers_503() -> None:
    box = FakeInbox()
    rx = SquareWebhookReceiver(key=FakeKey(KEY), notification_url=None, inbox=box, production=True)
    answer = rx.receive(b"{}", "x")
    assert answer.status == 503
    assert answer.body is not None and "SQUARE_WEBHOOK_NOTIFICATION_URL" in answer.body["detail"]
    assert box.sent == []


def test_dev_without_a_key_accepts_unsigned_with_signed_false(caplog: pytest.LogCaptureFixture) -> None:
    rx, box = receiver(None, production=False)
    answer = rx.receive(json.dumps(EVENT).encode(), None)
    assert answer.status == 200
    assert json.loads(box.sent[0])["signed"] is False
    assert "unverified square webhook accepted" in caplog.text


def test_signed_body_that_is_not_an_event_is_400_and_kept() -> None:
    rx, box = receiver()
    body = b'{"hello": "world"}'
    answer = rx.receive(body, sign_square(body, KEY, URL))
    assert answer.status == 400
    assert answer.body is not None and "event_id" in answer.body["detail"]
    assert json.loads(box.sent[0])["malformed"]


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"event_id": "e", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"],
)
def test_a_signed_body_nested_too_deep_is_400_and_kept(body: bytes) -> None:
    rx, box = receiver()
    answer = rx.receive(body, sign_square(body, KEY, URL))
    assert answer.status == 400
    assert answer.body is not None and "nested too deep" in answer.body["detail"]
    assert "nested too deep" in json.loads(box.sent[0])["malformed"]


@pytest.mark.parametrize("field", ["event_id", "merchant_id", "type"])
def test_ids_too_long_to_be_keys_are_malformed_not_read(field: str) -> None:
    with pytest.raises(MalformedEvent, match=f"{field} is longer than 200 characters"):
        parse_event(json.dumps({**EVENT, field: "x" * 3_000}))


def test_queue_failure_is_503_so_square_retries() -> None:
    rx, _ = receiver(inbox=FakeInbox(fail=True))
    body = json.dumps(EVENT).encode()
    assert rx.receive(body, sign_square(body, KEY, URL)).status == 503


def test_parse_event_names_what_is_missing() -> None:
    with pytest.raises(MalformedEvent, match="event_id"):
        parse_event(b'{"type": "payment.created", "merchant_id": "M"}')
    with pytest.raises(MalformedEvent, match="not JSON"):
        parse_event(b"\xff\xfe")
    assert parse_event(json.dumps(EVENT)).object("payment") == {"id": "pay_1"}


def test_local_key_reasons_name_the_square_settings() -> None:
    key = SsmVerifierToken(
        parameter_name=None,
        local_value="changeme",
        value_setting="SQUARE_WEBHOOK_SIGNATURE_KEY",
        param_setting="SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM",
    )
    value, reason = key.current()
    assert value is None and reason is not None and reason.startswith("SQUARE_WEBHOOK_SIGNATURE_KEY ")


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(st.binary(max_size=400), st.just(json.dumps(EVENT).encode())),
    header=st.one_of(st.none(), st.text(max_size=80)),
    production=st.booleans(),
    has_key=st.booleans(),
)
def test_fuzzed_requests_never_5xx_but_503_and_never_queue_unsigned(
    body: bytes, header: str | None, production: bool, has_key: bool
) -> None:
    rx, box = receiver(KEY if has_key else None, production=production)
    answer = rx.receive(body, header)
    assert answer.status in (200, 400, 401, 503)
    if answer.status == 503:
        assert production and not has_key
    valid = header is not None and square_signature_matches(body, header, KEY, URL)
    if has_key and not valid:
        assert answer.status == 401 and box.sent == []
    if production and not has_key:
        assert box.sent == []


def test_the_sample_delivery_is_signed_as_the_readme_says() -> None:
    from pathlib import Path

    sample = json.loads(
        (Path(__file__).resolve().parents[2] / "events/webhooks/square_payment_updated.json").read_text()
    )
    header = sample["headers"]["x-square-hmacsha256-signature"]
    url = "https://api.booksync.example/webhooks/square"
    assert square_signature_matches(sample["body"].encode(), header, "sample-square-signature-key", url)
