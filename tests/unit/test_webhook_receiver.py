"""The generic webhook receiver (``webhooks/receiver.py``): one provider-neutral flow, and a
secret chosen per connection where the provider signs each account's callbacks with its own
(FreshBooks gives every callback its own verifier). The provider here is a small one of the
test's own: form-encoded callbacks naming their ``account_id``, signed base64(HMAC-SHA256)."""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar
from urllib.parse import urlencode

import pytest
from booksync.providers.declaration import NotSupported
from booksync.providers.registry import REGISTRY
from booksync.settings import QuickBooksWebhookSettings, SquareWebhookSettings
from booksync.webhooks.receiver import Answer, ProviderTexts
from booksync.webhooks.signature import sign
from booksync.wiring import webhook_receiver

from tests.fakes.provider import plain_books
from tests.fakes.webhooks import FakeInbox, FormCallbackReceiver
from tests.imports import modules_loaded_by

SECRETS = {"acct-a": "verifier-of-a-0001", "acct-b": "verifier-of-b-0002"}


class Secrets:
    """Each connection's verifier, by account id; ``down``: the store cannot be read."""

    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.asked: list[str | None] = []

    def current(self, account: str | None) -> tuple[str | None, str | None]:
        self.asked.append(account)
        if self.down:
            raise ConnectionError("secret store unreachable")
        secret = SECRETS.get(account or "")
        return secret, None if secret else f"no connection has account {account}"

    def refreshed(self, account: str | None) -> str | None:
        return None


class PerAccountReceiver(FormCallbackReceiver):
    texts: ClassVar[ProviderTexts] = ProviderTexts(
        provider="books",
        sender="Books",
        secret_log="verifier",
        secret_detail="Books verifier",
        not_configured_title="Books webhooks are not configured",
        not_configured_fix="Connect Books again.",
        signature_header="x-books-signature",
        bad_signature_fix="Check that the callback was registered by booksync.",
        malformed_title="Not a Books callback",
        malformed_fix="booksync kept the body; it expects name and object_id.",
        signer="Books account",
        unknown_signer_fix="Connect that Books account to booksync (its callbacks are registered then).",
    )
    log = logging.getLogger("tests.books")


def receive(
    body: bytes, signature: str | None, *, secrets: Secrets | None = None
) -> tuple[Answer, FakeInbox]:
    inbox = FakeInbox()
    receiver = PerAccountReceiver(
        secrets=secrets or Secrets(), inbox=inbox, production=True, clock=lambda: 1.0
    )
    return receiver.receive(body, signature), inbox


def callback(**fields: str) -> bytes:
    return urlencode({"name": "invoice.create", "object_id": "77", **fields}).encode()


def test_a_callback_is_verified_with_its_own_accounts_secret() -> None:
    for account, secret in SECRETS.items():
        body = callback(account_id=account)
        answer, inbox = receive(body, sign(body, secret))
        assert answer.status == 200
        assert [json.loads(m)["body"] for m in inbox.sent] == [body.decode()]


def test_a_callback_signed_with_another_connections_secret_is_refused_and_nothing_queued() -> None:
    body = callback(account_id="acct-a")
    secrets = Secrets()
    answer, inbox = receive(body, sign(body, SECRETS["acct-b"]), secrets=secrets)
    assert answer.status == 401 and inbox.sent == []
    assert secrets.asked == ["acct-a"]  # the secret of the account the body names, not a global one
    assert answer.body is not None and "x-books-signature" in answer.body["detail"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param(
            callback(), "The body names no Books account, so no secret can verify it.", id="no-account"
        ),
        pytest.param(
            callback(account_id="acct-z"),
            "booksync holds no signing secret for this Books account: no connection has account acct-z.",
            id="unknown-account",
        ),
    ],
)
def test_a_callback_no_secret_can_verify_is_refused_saying_why(body: bytes, detail: str) -> None:
    answer, inbox = receive(body, sign(body, SECRETS["acct-a"]))
    assert (answer.status, inbox.sent) == (401, [])
    assert answer.body is not None and answer.body["detail"] == detail
    assert "Connect that Books account to booksync" in answer.body["fix"]


def test_a_secret_store_that_cannot_be_read_answers_503_so_the_provider_delivers_again() -> None:
    body = callback(account_id="acct-a")
    answer, inbox = receive(body, sign(body, SECRETS["acct-a"]), secrets=Secrets(down=True))
    assert (answer.status, inbox.sent) == (503, [])
    assert answer.body is not None and answer.body["fix"] == "Nothing to do: Books delivers it again."


def test_a_signed_callback_that_is_not_one_is_kept_and_answered_400() -> None:
    body = urlencode({"account_id": "acct-b", "object_id": "77"}).encode()
    answer, inbox = receive(body, sign(body, SECRETS["acct-b"]))
    assert answer.status == 400 and answer.body is not None
    assert answer.body["detail"] == "The body was signed correctly but it has no name."
    (kept,) = [json.loads(m) for m in inbox.sent]
    assert (kept["body"], kept["malformed"], kept["signed"]) == (body.decode(), "it has no name", True)


@pytest.mark.parametrize(
    "module", ["booksync.webhooks.receiver", "booksync.webhooks.square", "booksync.webhooks.square_events"]
)
def test_the_generic_receiver_and_squares_webhooks_load_no_quickbooks_code(module: str) -> None:
    assert sorted(name for name in modules_loaded_by(module) if "quickbooks" in name) == []


@pytest.mark.parametrize(
    ("module", "not_loaded"),
    [
        ("booksync.providers.registry", ("pynamodb", "booksync.store", "httpx")),
        ("booksync.providers.quickbooks.declaration", ("pynamodb", "booksync.store", "httpx", "botocore")),
        ("booksync.providers.square.declaration", ("pynamodb", "booksync.store")),
        ("booksync.providers.xero.declaration", ("pynamodb", "booksync.store")),
    ],
)
def test_a_receiver_built_from_its_declaration_loads_no_store(
    module: str, not_loaded: tuple[str, ...]
) -> None:
    """Before its answer (Intuit waits 3 s) a receiver reads its declaration: no table client, and
    QuickBooks' no HTTP client either (its receiver makes no call but the queue's)."""
    assert sorted(name for name in modules_loaded_by(module) if name.startswith(not_loaded)) == []


@pytest.mark.parametrize(
    ("provider", "settings", "header"),
    [
        (
            "quickbooks",
            QuickBooksWebhookSettings.from_env(
                {"QBO_WEBHOOK_QUEUE_URL": "https://sqs.example/q", "QBO_WEBHOOK_VERIFIER_TOKEN": "tok-7a1c9e"}
            ),
            "intuit-signature",
        ),
        (
            "square",
            SquareWebhookSettings.from_env(
                {
                    "SQUARE_EVENTS_QUEUE_URL": "https://sqs.example/q",
                    "SQUARE_WEBHOOK_SIGNATURE_KEY": "key-5d20b1",
                    "SQUARE_WEBHOOK_NOTIFICATION_URL": "https://api.example.com/webhooks/square",
                }
            ),
            "x-square-hmacsha256-signature",
        ),
    ],
)
def test_each_providers_receiver_is_built_by_name_from_its_declaration(
    provider: str, settings: Any, header: str
) -> None:
    receiver = webhook_receiver(provider, settings)
    assert receiver.signature_header == header
    body = b'{"not": "signed by its provider"}'
    answer = receiver.receive(body, sign(body, "some-other-secret"))  # refused before any queue call
    assert answer.status == 401 and answer.body is not None and header in answer.body["detail"]


def test_a_provider_without_webhooks_has_no_receiver_and_says_so() -> None:
    undo = REGISTRY.declare(plain_books(name="memory").declaration())
    try:
        with pytest.raises(NotSupported, match=r"^Receiving webhooks is not supported by Plain Books\.$"):
            webhook_receiver("memory")
    finally:
        undo()
