"""Each connection's own webhook secret (``webhooks/secrets.py``) over in-memory connection rows
and a cipher that, like AES-GCM's associated data, opens a blob only under the context it was
sealed with: verification through the generic receiver, the cache, and what is refused."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from booksync.security.vault import PlainTokens, SealedTokens
from booksync.store.connections import token_context
from booksync.store.models import ConnectionModel
from booksync.webhooks import secrets as module
from booksync.webhooks.secrets import StoredWebhookSecrets
from booksync.webhooks.signature import sign

from tests.fakes.store import ContextCipher as Cipher
from tests.fakes.webhooks import FakeInbox
from tests.unit.test_webhook_receiver import PerAccountReceiver, callback

PROVIDER = "quickbooks"  # any declared provider: the lookup names it by its label


@dataclass
class Connections:
    """Connection rows by account (each account's owner's), counting reads; ``down``: unreachable."""

    rows: dict[str, ConnectionModel] = field(default_factory=dict)
    reads: int = 0
    down: bool = False

    def add(self, company: str, account: str) -> None:
        self.rows[account] = ConnectionModel(
            company, PROVIDER, connection_id=f"conn-{company}", account_id=account, status="connected"
        )

    def owner_connections(self, provider: str, account_id: str) -> list[ConnectionModel]:
        self.reads += 1
        if self.down:
            raise ConnectionError("DynamoDB unreachable")
        row = self.rows.get(account_id)
        return [row] if row is not None and provider == PROVIDER else []

    def store_webhook_secret(self, row: ConnectionModel, sealed: SealedTokens, *, now: float) -> bool:
        row.webhook_secret_key, row.webhook_secret_nonce = sealed.encrypted_key, sealed.nonce
        row.webhook_secret_ciphertext, row.webhook_secret_set_at = sealed.ciphertext, now
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


VERIFIERS = {"acct-a": "verifier-of-a-9d1e", "acct-b": "verifier-of-b-0c44"}


@pytest.fixture
def world() -> Any:
    connections = Connections()
    connections.add("acme", "acct-a")
    connections.add("rival", "acct-b")
    clock = Clock()
    lookup = StoredWebhookSecrets(PROVIDER, connections, Cipher(), clock=clock)  # type: ignore[arg-type]
    for account, verifier in VERIFIERS.items():
        assert lookup.keep(account, verifier)
    return lookup, connections, clock


def receive(lookup: StoredWebhookSecrets, body: bytes, signature: str | None) -> tuple[int, Any, FakeInbox]:
    inbox = FakeInbox()
    answer = PerAccountReceiver(secrets=lookup, inbox=inbox, production=True, clock=lambda: 1.0).receive(
        body, signature
    )
    return answer.status, answer.body, inbox


def test_a_callback_signed_with_its_accounts_stored_secret_is_queued(world: Any) -> None:
    lookup, _, _ = world
    body = callback(account_id="acct-a")
    status, _, inbox = receive(lookup, body, sign(body, VERIFIERS["acct-a"]))
    assert status == 200 and [json.loads(m)["body"] for m in inbox.sent] == [body.decode()]


@pytest.mark.parametrize("signed_with", ["a-wrong-verifier-42", VERIFIERS["acct-b"]], ids=["wrong", "rivals"])
def test_a_callback_signed_with_a_wrong_or_another_connections_secret_is_refused(
    world: Any, signed_with: str
) -> None:
    lookup, _, _ = world
    body = callback(account_id="acct-a")
    status, problem, inbox = receive(lookup, body, sign(body, signed_with))
    assert (status, inbox.sent) == (401, [])
    assert all(verifier not in json.dumps(problem) for verifier in VERIFIERS.values())


def test_a_secret_sealed_for_another_connection_does_not_open(world: Any) -> None:
    lookup, connections, clock = world
    acme, rival = connections.rows["acct-a"], connections.rows["acct-b"]
    acme.webhook_secret_ciphertext = rival.webhook_secret_ciphertext
    clock.now += module.SECRET_TTL_SECONDS
    assert lookup.current("acct-a") == (
        None,
        "the signing secret stored for QuickBooks account acct-a is not its connection's",
    )


def test_the_connections_token_blob_does_not_open_as_its_secret(world: Any) -> None:
    lookup, connections, clock = world
    acme = connections.rows["acct-a"]
    tokens = Cipher().seal(PlainTokens("at-acme", "rt-acme"), token_context(acme))
    acme.webhook_secret_ciphertext = tokens.ciphertext
    clock.now += module.SECRET_TTL_SECONDS
    assert lookup.current("acct-a")[0] is None


def test_a_secret_store_that_cannot_be_read_answers_503(world: Any) -> None:
    lookup, connections, clock = world
    connections.down = True
    clock.now += module.SECRET_TTL_SECONDS
    body = callback(account_id="acct-a")
    status, problem, inbox = receive(lookup, body, sign(body, VERIFIERS["acct-a"]))
    assert (status, inbox.sent) == (503, [])
    assert problem["title"] == "The signing secret could not be read"
    assert "DynamoDB" not in json.dumps(problem)


def test_a_secret_read_once_serves_deliveries_until_its_ttl(world: Any) -> None:
    lookup, connections, clock = world
    assert lookup.current("acct-a") == (VERIFIERS["acct-a"], None)
    reads = connections.reads
    clock.now += module.SECRET_TTL_SECONDS - 1
    assert lookup.current("acct-a") == (VERIFIERS["acct-a"], None)
    assert connections.reads == reads  # no store read per delivery
    clock.now += 1
    lookup.current("acct-a")
    assert connections.reads == reads + 1


def test_an_account_without_a_secret_is_asked_again_soon(world: Any) -> None:
    lookup, connections, clock = world
    connections.add("newco", "acct-n")
    assert lookup.current("acct-n") == (
        None,
        "the connection of QuickBooks account acct-n holds no signing secret yet",
    )
    assert lookup.keep("acct-n", "verifier-of-n-5b2a")  # the provider hands it over: seen at once
    assert lookup.current("acct-n") == ("verifier-of-n-5b2a", None)
    connections.add("later", "acct-l")
    lookup.current("acct-l")
    reads = connections.reads
    clock.now += module.MISSING_TTL_SECONDS
    lookup.current("acct-l")
    assert connections.reads == reads + 1


def test_a_mismatch_rereads_at_most_every_so_often(world: Any) -> None:
    lookup, connections, clock = world
    lookup.current("acct-a")
    reads = connections.reads
    assert lookup.refreshed("acct-a") is None and connections.reads == reads
    clock.now += module.REFRESH_AT_MOST_EVERY_SECONDS
    assert lookup.refreshed("acct-a") == VERIFIERS["acct-a"] and connections.reads == reads + 1


def test_an_account_no_company_holds_has_no_secret_and_keeps_none(world: Any) -> None:
    lookup, _, _ = world
    assert lookup.current("acct-z") == (None, "no company is connected to QuickBooks account acct-z")
    assert lookup.keep("acct-z", "verifier-of-z-1111") is False
