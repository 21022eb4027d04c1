"""A provider's webhooks built from its declaration alone (``wiring.webhook_receiver`` /
``webhook_consumer``), against moto (DynamoDB, KMS, SQS): "Thin Books", a provider of the test's
own shaped like FreshBooks. Its callbacks are form-encoded, name their account, are signed with
that account's own verifier (kept sealed on the connection row), and say only which record
changed: the consumer fetches the record through the adapter (the company's tokens, the shared
limiter's gate) and acts on what it finds."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, ClassVar
from urllib.parse import urlencode

import pytest
from booksync.documents import DocumentKind
from booksync.errors import ConfigurationError, NeedsReconnection, TransientError
from booksync.providers.declaration import (
    Builders,
    Capability,
    Limits,
    ProviderDeclaration,
    ReceiverParts,
    WebhookParts,
)
from booksync.providers.port import RemoteObject, TokenSource
from booksync.providers.profile import ProviderProfile
from booksync.providers.registry import REGISTRY
from booksync.security.vault import KmsTokenVault, PlainTokens, TokenContext
from booksync.settings import ThinEventsSettings, WebhookSecretsSettings
from booksync.store.connections import ConnectionRepository, TokenTimes
from booksync.store.models import ConnectionModel, DocumentModel, LinkMap, WebhookEventModel, bind_tables
from booksync.sync.rate_limits import ConnectionGate, RequestGate
from booksync.webhooks.events import change_processor
from booksync.webhooks.port import ChangeEvent, ChangeFeed, WebhookOperation
from booksync.webhooks.receiver import ProviderTexts
from booksync.webhooks.secrets import StoredWebhookSecrets, amend_pause
from booksync.webhooks.signature import sign
from booksync.wiring import webhook_consumer, webhook_receiver

from tests.fakes.oauth import FakeOAuth
from tests.fakes.provider import FakeProvider
from tests.fakes.webhooks import FormCallbackReceiver, form_fields
from tests.lambda_env import receive_sqs_event

# Links are kept per provider under its name: the test provider stands in QuickBooks' place.
PROVIDER = "quickbooks"
LABEL = "Thin Books"
ACCOUNTS = {"acme": "acct-a", "rival": "acct-b"}
VERIFIERS = {"acct-a": "verifier-of-acme-3f9a", "acct-b": "verifier-of-rival-77c1"}


class ThinBooksReceiver(FormCallbackReceiver):
    texts: ClassVar[ProviderTexts] = ProviderTexts(
        provider=PROVIDER,
        sender=LABEL,
        secret_log="verifier",
        secret_detail=f"{LABEL} verifier",
        not_configured_title=f"{LABEL} webhooks are not configured",
        not_configured_fix=f"Connect {LABEL} again.",
        signature_header="x-thinbooks-hmac-sha256",
        bad_signature_fix="Check that the callback was registered by booksync.",
        malformed_title=f"Not a {LABEL} callback",
        malformed_fix="booksync kept the body; it expects name, object_id and account_id.",
        signer=f"{LABEL} account",
        unknown_signer_fix=f"Connect that {LABEL} account to booksync.",
    )
    log = logging.getLogger("tests.thinbooks")
    required = ("name", "object_id", "account_id")


def parse_callback(body: str) -> list[ChangeEvent]:
    """``name=invoice.update&object_id=…&account_id=…``: the record's type and id, nothing more."""
    fields = form_fields(body)
    entity, _, verb = fields["name"].partition(".")
    spellings = {"create": WebhookOperation.CREATE, "update": WebhookOperation.UPDATE}
    operation, word = WebhookOperation.named(verb, {**spellings, "delete": WebhookOperation.DELETE})
    return [
        ChangeEvent(
            event_id=f"cb:{fields['account_id']}:{fields['name']}:{fields['object_id']}:{fields.get('n', '')}",
            account_id=fields["account_id"],
            entity=entity,
            entity_id=fields["object_id"],
            operation=operation,
            provider_operation=word,
        )
    ]


FEED = ChangeFeed(
    parse=parse_callback,
    read_queued=ChangeEvent.from_json,
    kinds={"invoice": DocumentKind.INVOICE, "client": DocumentKind.CUSTOMER, "item": DocumentKind.ITEM},
    thin=True,
)


class Fetching:
    """The books as the adapter reads them: each read asks the token source for the company's
    access token and passes the gate, as a provider's HTTP client does."""

    def __init__(self, books: FakeProvider, tokens: TokenSource, gate: RequestGate | None) -> None:
        self.books, self.tokens, self.gate = books, tokens, gate
        self.seen_tokens: list[str] = []

    def get_invoice(self, remote_id: str) -> RemoteObject | None:
        assert self.gate is not None, "every fetch passes the connection's gate"
        with self.gate.slot(batch=False):
            self.seen_tokens.append(self.tokens.access_token())
            return self.books.get_invoice(remote_id)


@pytest.fixture
def world(tables: SimpleNamespace, kms_key: str, sqs_queue: str) -> Iterator[SimpleNamespace]:
    books = FakeProvider(name=PROVIDER, label=LABEL)
    adapters: list[Fetching] = []
    failures: list[Exception] = []

    def adapter(_settings: Any, account: str, tokens: TokenSource, gate: RequestGate | None) -> Any:
        built = Fetching(books, tokens, gate)
        if failures:
            raise failures.pop(0)
        adapters.append(built)
        return built

    env = {name.upper(): value for name, value in vars(tables).items()}
    env |= {"STAGE": "prod", "TOKEN_KEY_ID": kms_key, "SYNC_INVOICE_QUEUE_URL": sqs_queue}
    env |= {"NOTIFICATIONS_TABLE": env.get("NOTIFICATIONS_TABLE", "unused"), "WEBHOOK_QUEUE_URL": sqs_queue}
    receiving, consuming = WebhookSecretsSettings.from_env(env), ThinEventsSettings.from_env(env)
    declared = ProviderDeclaration[None](
        name=PROVIDER,
        kind="accounting",
        profile=ProviderProfile(label=LABEL, name_rules=f"{LABEL} keeps names as they are"),
        capabilities=frozenset({Capability.WEBHOOKS}),
        limits=Limits(max_concurrent=2, requests_per_minute=60),
        read_settings=lambda: None,
        builders=Builders(
            oauth=lambda _settings: FakeOAuth(),
            adapter=adapter,
            webhooks=WebhookParts(
                receiver_settings=lambda: receiving,
                receiver=lambda _s, parts: built_receiver(parts),
                consumer_settings=lambda: consuming,
                consumer=lambda _s, parts: change_processor(PROVIDER, LABEL, FEED, parts),
            ),
        ),
    )
    undo = REGISTRY.declare(declared)
    vault = KmsTokenVault(kms_key)
    for company, account in ACCOUNTS.items():
        connect(company, account, vault)
    try:
        yield SimpleNamespace(
            books=books,
            adapters=adapters,
            failures=failures,
            settings=receiving,
            tables=tables,
            vault=vault,
            queue=sqs_queue,
        )
    finally:
        undo()


def built_receiver(parts: ReceiverParts) -> ThinBooksReceiver:
    return ThinBooksReceiver(
        secrets=parts.connection_secrets(), inbox=parts.inbox, production=parts.production, clock=lambda: 1.0
    )


def connect(company: str, account: str, vault: KmsTokenVault) -> None:
    repo = ConnectionRepository()
    connection_id = f"conn-{company}"
    sealed = vault.seal(
        PlainTokens(access_token=f"at-{company}", refresh_token=f"rt-{company}"),
        TokenContext(company_id=company, provider=PROVIDER, connection_id=connection_id),
    )
    repo.store_connection(
        company_id=company,
        provider=PROVIDER,
        connection_id=connection_id,
        account_id=account,
        sealed=sealed,
        times=TokenTimes(access_expires_at=4_000_000_000.0, refresh_expires_at=None),
        has_refresh_token=True,
        connected_by="u1",
        now=1.0,
        refresh_every=86_400.0,
    )
    assert repo.claim_account(PROVIDER, account, company, now=1.0) is None


def secrets_of(world: SimpleNamespace) -> StoredWebhookSecrets:
    return StoredWebhookSecrets(PROVIDER, ConnectionRepository(), world.vault)


def callback(account: str, name: str = "invoice.update", object_id: str = "100", n: str = "1") -> bytes:
    return urlencode({"name": name, "object_id": object_id, "account_id": account, "n": n}).encode()


def deliver(world: SimpleNamespace, body: bytes, signature: str | None) -> tuple[int, dict[str, Any] | None]:
    answer = webhook_receiver(PROVIDER).receive(body, signature)
    return answer.status, answer.body


def linked_invoice(world: SimpleNamespace, company: str = "acme") -> str:
    """An invoice booksync pushed to the books and links, at the version it pushed."""
    pushed = world.books._create("invoice", {"marker": f"inv-{company}"})
    DocumentModel(
        company,
        "invoice#inv-1",
        kind="invoice",
        doc_id="inv-1",
        body={},
        content_hash="h",
        updated_at=1,
        link_quickbooks=LinkMap(remote_id=pushed.id, version=pushed.version, outcome="synced", synced_at=1),
    ).save()
    return pushed.id


def consume(world: SimpleNamespace) -> list[object]:
    consumer = webhook_consumer(PROVIDER)
    return [consumer.handle_message(r["body"]) for r in receive_sqs_event(world.queue)["Records"]]


def link_of(company: str = "acme") -> Any:
    return DocumentModel.get(company, "invoice#inv-1").link(PROVIDER)


# ------------------------------------------------------------------ per-connection secrets


def test_a_callback_signed_with_its_connections_stored_secret_is_queued(world: SimpleNamespace) -> None:
    secrets = secrets_of(world)
    for account, verifier in VERIFIERS.items():
        assert secrets.keep(account, verifier)
    body = callback("acct-a")
    assert deliver(world, body, sign(body, VERIFIERS["acct-a"]))[0] == 200
    (queued,) = [json.loads(r["body"]) for r in receive_sqs_event(world.queue)["Records"]]
    assert (queued["body"], queued["signed"]) == (body.decode(), True)


def test_the_secret_is_sealed_on_the_connection_row_never_kept_in_clear(world: SimpleNamespace) -> None:
    assert secrets_of(world).keep("acct-a", VERIFIERS["acct-a"])
    row = ConnectionModel.get("acme", PROVIDER)
    stored = b"".join(bytes(v or b"") for v in (row.webhook_secret_ciphertext, row.webhook_secret_key))
    assert row.webhook_secret_ciphertext and VERIFIERS["acct-a"].encode() not in stored
    assert secrets_of(world).current("acct-a") == (VERIFIERS["acct-a"], None)


def test_disconnecting_forgets_the_sealed_secret_with_the_tokens(world: SimpleNamespace) -> None:
    assert secrets_of(world).keep("acct-a", VERIFIERS["acct-a"])
    ConnectionRepository().disconnect(ConnectionModel.get("acme", PROVIDER), now=0.0)
    row = ConnectionModel.get("acme", PROVIDER)
    assert (row.webhook_secret_ciphertext, row.webhook_secret_key, row.webhook_secret_set_at) == (
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("signed_with", "detail"),
    [
        pytest.param(
            "another-verifier-entirely", "The x-thinbooks-hmac-sha256 header is missing", id="wrong-secret"
        ),
        pytest.param(VERIFIERS["acct-b"], "The x-thinbooks-hmac-sha256 header is missing", id="rival-secret"),
    ],
)
def test_a_callback_signed_with_a_wrong_or_another_connections_secret_is_refused(
    world: SimpleNamespace, signed_with: str, detail: str
) -> None:
    secrets = secrets_of(world)
    for account, verifier in VERIFIERS.items():
        assert secrets.keep(account, verifier)
    body = callback("acct-a")
    status, problem = deliver(world, body, sign(body, signed_with))
    assert status == 401 and problem is not None and problem["detail"].startswith(detail)
    assert receive_sqs_event(world.queue)["Records"] == []
    assert signed_with not in json.dumps(problem)


def test_a_secret_copied_from_another_connections_row_does_not_open(world: SimpleNamespace) -> None:
    assert secrets_of(world).keep("acct-b", VERIFIERS["acct-b"])
    rival = ConnectionModel.get("rival", PROVIDER)
    ConnectionModel.get("acme", PROVIDER).update(
        actions=[
            ConnectionModel.webhook_secret_key.set(rival.webhook_secret_key),
            ConnectionModel.webhook_secret_nonce.set(rival.webhook_secret_nonce),
            ConnectionModel.webhook_secret_ciphertext.set(rival.webhook_secret_ciphertext),
        ]
    )
    body = callback("acct-a")
    status, problem = deliver(world, body, sign(body, VERIFIERS["acct-b"]))
    assert status == 401 and problem is not None
    assert problem["detail"] == (
        f"booksync holds no signing secret for this {LABEL} account: the signing secret stored for "
        f"{LABEL} account acct-a is not its connection's."
    )


def test_an_account_with_no_secret_yet_is_refused_saying_so(world: SimpleNamespace) -> None:
    body = callback("acct-a")
    status, problem = deliver(world, body, sign(body, VERIFIERS["acct-a"]))
    assert status == 401 and problem is not None
    assert problem["detail"].endswith(
        f"the connection of {LABEL} account acct-a holds no signing secret yet."
    )


def test_a_secret_store_that_cannot_be_read_answers_503_and_queues_nothing(world: SimpleNamespace) -> None:
    assert secrets_of(world).keep("acct-a", VERIFIERS["acct-a"])
    broken = world.settings.model_copy(update={"connections_table": "no-such-table"})
    body = callback("acct-a")
    answer = webhook_receiver(PROVIDER, broken).receive(body, sign(body, VERIFIERS["acct-a"]))
    bind_tables(world.tables)
    assert answer.status == 503 and answer.body is not None
    assert answer.body["title"] == "The signing secret could not be read"
    assert receive_sqs_event(world.queue)["Records"] == []


def test_keep_refuses_an_account_no_company_holds(world: SimpleNamespace) -> None:
    assert secrets_of(world).keep("acct-unknown", "some-verifier-1") is False
    assert secrets_of(world).amend("acct-unknown", lambda _held: "x") is False


def _with(held: str | None, callback_id: str, verifier: str) -> str:
    return json.dumps({**json.loads(held or "{}"), callback_id: verifier})


@pytest.mark.parametrize("before", [None, {"cb-0": "verifier-0"}])
def test_two_writers_amending_the_secret_at_once_lose_neither_change(
    world: SimpleNamespace, before: dict[str, str] | None
) -> None:
    """A provider handing one verifier per callback (FreshBooks) has them kept as one secret,
    amended by whichever consumer got each: a write goes only over what it read."""
    first, second = secrets_of(world), secrets_of(world)
    if before is not None:
        assert first.keep("acct-a", json.dumps(before))
    calls: list[str | None] = []

    def add_one(held: str | None) -> str:
        calls.append(held)
        if len(calls) == 1:  # the other writer gets in between this one's read and its write
            assert second.amend("acct-a", lambda held2: _with(held2, "cb-2", "verifier-2"))
        return _with(held, "cb-1", "verifier-1")

    assert first.amend("acct-a", add_one)
    held = json.dumps(before) if before else None
    assert calls == [held, _with(held, "cb-2", "verifier-2")]  # read again after the other's write
    kept, _ = secrets_of(world).current("acct-a")
    assert json.loads(kept or "") == {**(before or {}), "cb-2": "verifier-2", "cb-1": "verifier-1"}


def test_a_writer_that_keeps_losing_the_race_pauses_and_still_lands_its_change(
    world: SimpleNamespace,
) -> None:
    """FreshBooks sends every callback's verification at once after a registration: one consumer
    can lose the conditional write to the others many times over. It pauses (jittered, growing)
    between tries and lands its change, with every other writer's kept (the demo's reconnect
    failed on 5 quick tries: ConcurrentChange, the delivery stuck until its visibility ran out)."""
    pauses: list[float] = []
    first = StoredWebhookSecrets(PROVIDER, ConnectionRepository(), world.vault, pause=pauses.append)
    others = secrets_of(world)
    losses = 7

    def add_mine(held: str | None) -> str:
        if len(pauses) < losses:  # another consumer writes between this one's read and its write
            assert others.amend("acct-a", lambda h: _with(h, f"cb-other-{len(pauses)}", "v"))
        return _with(held, "cb-mine", "verifier-mine")

    assert first.amend("acct-a", add_mine)
    assert len(pauses) == losses
    assert all(0 <= p <= amend_pause(n, lambda: 1.0) for n, p in enumerate(pauses))
    kept, _ = secrets_of(world).current("acct-a")
    assert set(json.loads(kept or "")) == {"cb-mine", *(f"cb-other-{n}" for n in range(losses))}


def test_the_pause_between_tries_grows_and_is_capped() -> None:
    assert [amend_pause(n, lambda: 1.0) for n in range(7)] == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert amend_pause(3, lambda: 0.5) == 0.2


# ------------------------------------------------------------------ thin events


def signed_delivery(world: SimpleNamespace, **kw: str) -> None:
    secrets = secrets_of(world)
    secrets.keep("acct-a", VERIFIERS["acct-a"])
    body = callback("acct-a", **kw)
    assert deliver(world, body, sign(body, VERIFIERS["acct-a"]))[0] == 200


def test_a_thin_event_is_fetched_with_the_companys_tokens_through_its_gate(world: SimpleNamespace) -> None:
    remote = linked_invoice(world)
    signed_delivery(world, object_id=remote)
    assert consume(world) == [{"own_write": 1}]  # the version booksync pushed: its own write
    (adapter,) = world.adapters
    assert adapter.seen_tokens == ["at-acme"]  # the connection's own tokens, decrypted
    assert isinstance(adapter.gate, ConnectionGate) and adapter.gate.provider == PROVIDER
    assert world.books.calls["get_invoice"] == 1
    assert link_of().remote_change is None


def test_a_thin_event_for_a_record_changed_in_the_books_is_drift(world: SimpleNamespace) -> None:
    remote = linked_invoice(world)
    world.books._update("invoice", RemoteObject(id=remote), {"memo": "edited in the books"})
    signed_delivery(world, object_id=remote)
    assert consume(world) == [{"drift": 1}]
    link = link_of()
    assert (link.remote_change, link.version) == ("Update", "0")  # recorded, not pulled back


def test_a_thin_event_for_a_record_gone_from_the_books_recreates_it(world: SimpleNamespace) -> None:
    remote = linked_invoice(world)
    world.books.delete("invoice", remote)
    signed_delivery(world, object_id=remote)
    assert consume(world) == [{"recreate": 1}]
    assert link_of().remote_id is None


def test_a_thin_event_for_a_record_booksync_does_not_link_fetches_nothing(world: SimpleNamespace) -> None:
    linked_invoice(world)
    signed_delivery(world, object_id="999")
    assert consume(world) == [{"not_linked": 1}]
    assert world.books.calls["get_invoice"] == 0 and world.adapters == []


def test_a_fetch_a_redelivery_can_fix_gives_the_event_back(world: SimpleNamespace) -> None:
    remote = linked_invoice(world)
    signed_delivery(world, object_id=remote)
    message = receive_sqs_event(world.queue)["Records"][0]["body"]
    world.failures.append(TransientError("503 from the books", provider=PROVIDER))
    with pytest.raises(TransientError):
        webhook_consumer(PROVIDER).handle_message(message)
    # The claim was given back: the redelivery is acted on.
    assert webhook_consumer(PROVIDER).handle_message(message) == {"own_write": 1}


def test_a_fetch_no_redelivery_fixes_is_recorded_not_fetched_saying_why(world: SimpleNamespace) -> None:
    remote = linked_invoice(world)
    world.books._update("invoice", RemoteObject(id=remote), {"memo": "edited in the books"})
    signed_delivery(world, object_id=remote)
    world.failures.append(NeedsReconnection("grant revoked", provider=PROVIDER))
    assert consume(world) == [{"not_fetched": 1}]
    (row,) = list(WebhookEventModel.scan())
    assert row.outcome == "not_fetched"
    assert row.detail == (
        f"{LABEL} invoice {remote} could not be read for this event (NeedsReconnection: grant revoked); "
        "booksync did not guess what changed."
    )
    link = link_of()
    assert (link.remote_id, link.remote_change) == (remote, None)  # neither drift nor a delete


def test_a_thin_consumer_without_token_access_says_what_its_settings_lack(world: SimpleNamespace) -> None:
    remote = linked_invoice(world)
    signed_delivery(world, object_id=remote)
    message = receive_sqs_event(world.queue)["Records"][0]["body"]
    tables_only = SimpleNamespace(**vars(world.tables))  # a QuickBooks-like consumer's settings
    with pytest.raises(ConfigurationError, match="events are thin: its consumer reads records"):
        webhook_consumer(PROVIDER, tables_only).handle_message(message)
