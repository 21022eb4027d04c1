"""Token vault and the fenced refresh lease, over moto's KMS and DynamoDB."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import boto3
import pytest
from booksync.errors import ConnectionDown, NeedsReconnection, TransientError
from booksync.security.tokens import ConnectionTokenSource, RefreshPolicy
from booksync.security.vault import KmsTokenVault, PlainTokens, TokenContext, VaultError
from booksync.store.connections import ConnectionRepository, ConnectionStatus, TokenTimes, sealed_tokens
from booksync.store.models import ConnectionModel

from tests.conftest import only_table
from tests.fakes.oauth import FakeOAuth
from tests.threads import run_threads

COMPANY = "acme"


def connect(repo: ConnectionRepository, vault: KmsTokenVault, oauth: FakeOAuth, *, expires_in: float) -> str:
    tokens = oauth.issue()
    connection_id = repo.new_connection_id()
    ctx = TokenContext(COMPANY, "quickbooks", connection_id)
    repo.store_connection(
        company_id=COMPANY,
        provider="quickbooks",
        connection_id=connection_id,
        account_id="realm-1",
        sealed=vault.seal(PlainTokens(tokens.access_token, tokens.refresh_token), ctx),
        times=TokenTimes(access_expires_at=time.time() + expires_in, refresh_expires_at=None),
        has_refresh_token=True,
        connected_by="u1",
        now=time.time(),
        refresh_every=86_400,
    )
    return tokens.access_token


@pytest.fixture
def env(moto_url: str, kms_key: str) -> Iterator[SimpleNamespace]:
    with only_table("connections_table"):  # the only table these tests use
        yield SimpleNamespace(
            repo=ConnectionRepository(), vault=KmsTokenVault(kms_key), oauth=FakeOAuth(delay=0.2)
        )


def source(env: SimpleNamespace, **kw: object) -> ConnectionTokenSource:
    return ConnectionTokenSource(
        company_id=COMPANY,
        provider="quickbooks",
        repository=env.repo,
        cipher=env.vault,
        oauth=env.oauth,
        **kw,
    )  # type: ignore[arg-type]


def test_tokens_are_never_stored_in_plain_text(env: SimpleNamespace) -> None:
    access = connect(env.repo, env.vault, env.oauth, expires_in=3600)
    raw = boto3.client("dynamodb").scan(TableName=ConnectionModel.Meta.table_name)["Items"]
    assert access not in str(raw) and "rt-" not in str(raw)
    assert source(env).access_token() == access


def test_ciphertext_is_bound_to_its_connection(env: SimpleNamespace) -> None:
    sealed = env.vault.seal(PlainTokens("at", "rt"), TokenContext(COMPANY, "quickbooks", "conn-1"))
    with pytest.raises(VaultError):
        env.vault.open(sealed, TokenContext("other-company", "quickbooks", "conn-1"))
    assert env.vault.open(sealed, TokenContext(COMPANY, "quickbooks", "conn-1")).refresh_token == "rt"
    again = env.vault.seal(PlainTokens("at", "rt"), TokenContext(COMPANY, "quickbooks", "conn-1"))
    assert again.nonce != sealed.nonce and again.ciphertext != sealed.ciphertext


def test_twenty_workers_on_an_expiring_token_make_one_token_call(env: SimpleNamespace) -> None:
    old = connect(env.repo, env.vault, env.oauth, expires_in=120)  # under the 5-minute margin
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def work() -> None:
        barrier.wait()
        try:
            results.append(source(env).access_token())  # the default policy: it polls every 0.1 s
        except BaseException as exc:
            errors.append(exc)

    run_threads(*[work] * 20)
    assert errors == []
    assert env.oauth.refresh_calls == 1
    assert len(set(results)) == 1 and results[0] != old


def test_a_stale_lease_holders_token_write_is_refused(env: SimpleNamespace) -> None:
    connect(env.repo, env.vault, env.oauth, expires_in=60)
    row = env.repo.get(COMPANY, "quickbooks")
    now = time.time()
    fence_a = env.repo.try_acquire_lease(row, owner="a", now=now, lease_seconds=1)
    assert fence_a is not None
    assert (
        env.repo.try_acquire_lease(env.repo.get(COMPANY, "quickbooks"), owner="b", now=now, lease_seconds=1)
        is None
    )
    # A stalls past its lease; B takes over with a higher fence.
    fence_b = env.repo.try_acquire_lease(
        env.repo.get(COMPANY, "quickbooks"), owner="b", now=now + 2, lease_seconds=30
    )
    assert fence_b == fence_a + 1
    ctx = TokenContext(COMPANY, "quickbooks", row.connection_id)
    sealed = env.vault.seal(PlainTokens("stale-at", "stale-rt"), ctx)
    times = TokenTimes(access_expires_at=now + 3600, refresh_expires_at=None)
    refused = env.repo.write_tokens_fenced(
        env.repo.get(COMPANY, "quickbooks"),
        owner="a",
        fence=fence_a,
        sealed=sealed,
        times=times,
        has_refresh_token=True,
        now=now,
        refresh_every=86_400,
    )
    assert refused is False
    stored = env.vault.open(sealed_tokens(env.repo.get(COMPANY, "quickbooks")), ctx)
    assert stored.access_token != "stale-at"


def test_invalid_grant_clears_the_refresh_token_and_needs_reconnection(env: SimpleNamespace) -> None:
    connect(env.repo, env.vault, env.oauth, expires_in=10)
    env.oauth._live_refresh.clear()  # the grant was revoked at the provider
    with pytest.raises(NeedsReconnection):
        source(env).access_token()
    row = env.repo.get(COMPANY, "quickbooks")
    assert row.status == "needs_reconnection" and row.has_refresh_token is False
    with pytest.raises(NeedsReconnection):
        source(env).access_token()
    assert env.oauth.refresh_calls == 1, "a dead grant is not retried"


def test_a_fresh_token_needs_no_call(env: SimpleNamespace) -> None:
    connect(env.repo, env.vault, env.oauth, expires_in=3600)
    src = source(env)
    src.access_token()
    assert env.oauth.refresh_calls == 0


def expiry(env: SimpleNamespace) -> float:
    return float(env.repo.get(COMPANY, "quickbooks").access_expires_at)


def test_a_token_is_refreshed_once_under_five_minutes_of_it_are_left(env: SimpleNamespace) -> None:
    first = connect(env.repo, env.vault, env.oauth, expires_in=3600)
    ends = expiry(env)
    assert source(env, clock=lambda: ends - 300.5).access_token() == first
    assert env.oauth.refresh_calls == 0
    renewed = source(env, clock=lambda: ends - 300).access_token()
    assert renewed != first and env.oauth.refresh_calls == 1


def test_a_token_the_provider_rejected_is_refreshed_though_it_looks_fresh_once(env: SimpleNamespace) -> None:
    """A 401 on a token an hour from its end: it is refreshed all the same. A second worker that
    was refused the same old token gets the new one, with no second token call."""
    rejected = connect(env.repo, env.vault, env.oauth, expires_in=3600)
    renewed = source(env).refreshed_after_rejection(rejected)
    assert renewed != rejected and env.oauth.refresh_calls == 1
    assert source(env).refreshed_after_rejection(rejected) == renewed
    assert source(env).access_token() == renewed and env.oauth.refresh_calls == 1


def test_keep_alive_refreshes_a_fresh_token_and_is_due_again_a_day_later(env: SimpleNamespace) -> None:
    old = connect(env.repo, env.vault, env.oauth, expires_in=3600)
    now = time.time()
    source(env, clock=lambda: now).keep_alive()
    row = env.repo.get(COMPANY, "quickbooks")
    assert env.oauth.refresh_calls == 1 and source(env).access_token() != old
    assert (row.refreshed_at, row.refresh_due_at) == (now, now + 86_400)
    assert (
        row.refresh_expires_at > now + 99 * 86_400
    )  # the provider's word on the new refresh token (100 days)


def test_a_worker_waits_for_another_workers_refresh_then_gives_up_after_wait_seconds(
    env: SimpleNamespace,
) -> None:
    """The lease holder never finishes (it died without its lease running out yet): a worker polls
    for wait_seconds (20), then says so, rather than refreshing too (a rotated refresh token)."""
    connect(env.repo, env.vault, env.oauth, expires_in=60)
    now = [time.time()]
    env.repo.try_acquire_lease(
        env.repo.get(COMPANY, "quickbooks"), owner="dead", now=now[0], lease_seconds=600
    )
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    waiting = source(env, clock=lambda: now[0], sleep=sleep, policy=RefreshPolicy(poll_seconds=1.0))
    with pytest.raises(TransientError, match="has not finished"):
        waiting.access_token()
    assert slept == [1.0] * 20 and env.oauth.refresh_calls == 0


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (ConnectionStatus.CONNECTION_DOWN, ConnectionDown),
        (ConnectionStatus.NEEDS_RECONNECTION, NeedsReconnection),
    ],
)
def test_a_broken_connection_says_why_and_makes_no_token_call(
    env: SimpleNamespace, status: str, error: type[Exception]
) -> None:
    connect(env.repo, env.vault, env.oauth, expires_in=60)
    env.repo.mark_broken(
        env.repo.get(COMPANY, "quickbooks"), status=status, code="x", message="QuickBooks said 401."
    )
    with pytest.raises(error, match="QuickBooks said 401"):
        source(env).access_token()
    assert env.oauth.refresh_calls == 0


def test_a_disconnected_company_is_told_to_connect_first(env: SimpleNamespace) -> None:
    connect(env.repo, env.vault, env.oauth, expires_in=3600)
    env.repo.disconnect(env.repo.get(COMPANY, "quickbooks"), now=time.time())
    with pytest.raises(NeedsReconnection, match="not connected"):
        source(env).access_token()


def kms_opens(env: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A list that grows by one each time the vault decrypts tokens (asks KMS)."""
    opened: list[str] = []
    open_sealed = env.vault.open
    monkeypatch.setattr(env.vault, "open", lambda *a: opened.append("kms") or open_sealed(*a))
    return opened


def test_tokens_are_decrypted_once_per_version_not_per_request(
    env: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every provider call asks for a token: KMS is asked again only once the stored tokens change."""
    first = connect(env.repo, env.vault, env.oauth, expires_in=3600)
    opened = kms_opens(env, monkeypatch)
    src = source(env)
    assert [src.access_token() for _ in range(3)] == [first] * 3
    assert opened == ["kms"]
    renewed = src.refreshed_after_rejection(first)
    assert [src.access_token() for _ in range(2)] == [renewed] * 2
    assert len(opened) == 2  # the new version's tokens, once (the refresh itself had them in hand)


def test_tokens_past_version_256_are_still_decrypted_once_per_version(
    env: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache compares versions by value: past 256 two equal numbers read from the table are not
    one object in Python, and KMS would be asked on every provider call."""
    first = connect(env.repo, env.vault, env.oauth, expires_in=3600)
    env.repo.get(COMPANY, "quickbooks").update(actions=[ConnectionModel.token_version.set(1_000)])
    opened = kms_opens(env, monkeypatch)
    src = source(env)
    assert [src.access_token() for _ in range(3)] == [first] * 3
    assert opened == ["kms"]


def test_a_refresh_holds_the_lease_in_its_workers_name_or_a_name_of_its_own(
    env: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease's owner is what tells two workers apart: the one a worker was given, else a fresh
    one per token source (never none, which every unnamed worker would share)."""
    connect(env.repo, env.vault, env.oauth, expires_in=3600)
    holders: list[str | None] = []
    refresh = env.oauth.refresh

    def refresh_seen_from_the_table(refresh_token: str) -> object:
        holders.append(env.repo.get(COMPANY, "quickbooks").lease_owner)
        return refresh(refresh_token)

    monkeypatch.setattr(env.oauth, "refresh", refresh_seen_from_the_table)
    source(env, owner="worker-1").keep_alive()
    source(env).keep_alive()
    source(env).keep_alive()
    assert holders[0] == "worker-1"
    assert None not in holders[1:] and len(set(holders)) == 3


def test_a_rejected_token_refreshed_by_another_worker_just_before_this_one_took_the_lease_is_not_refreshed_again(
    env: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers were refused the same token. B refreshes it between A's last look at the row and
    A taking the lease: A, re-reading under the lease, answers with B's token (one token call)."""
    rejected = connect(env.repo, env.vault, env.oauth, expires_in=3600)
    acquire = env.repo.try_acquire_lease
    by_b: list[str] = []

    def b_refreshes_first(*args: object, **kw: object) -> object:
        if kw["owner"] == "a" and not by_b:
            by_b.append(source(env, owner="b").refreshed_after_rejection(rejected))
        return acquire(*args, **kw)

    monkeypatch.setattr(env.repo, "try_acquire_lease", b_refreshes_first)
    assert source(env, owner="a").refreshed_after_rejection(rejected) == by_b[0] != rejected
    assert env.oauth.refresh_calls == 1


def test_a_reconnect_whose_token_ends_at_the_same_second_is_read_afresh(env: SimpleNamespace) -> None:
    """The cached tokens are keyed by their version: a reconnect's new tokens are used at once even
    when they happen to expire at the very same time as the old ones."""
    old = connect(env.repo, env.vault, env.oauth, expires_in=3600)
    src = source(env)
    assert src.access_token() == old
    row = env.repo.get(COMPANY, "quickbooks")
    times = TokenTimes(access_expires_at=float(row.access_expires_at), refresh_expires_at=None)
    new = env.oauth.issue()
    env.repo.store_connection(
        company_id=COMPANY,
        provider="quickbooks",
        connection_id=row.connection_id,
        account_id="realm-1",
        sealed=env.vault.seal(
            PlainTokens(new.access_token, new.refresh_token),
            TokenContext(COMPANY, "quickbooks", row.connection_id),
        ),
        times=times,
        has_refresh_token=True,
        connected_by="u1",
        now=time.time(),
        refresh_every=86_400,
    )
    assert src.access_token() == new.access_token


def test_a_rejected_token_is_refreshed_on_a_connection_refreshed_hundreds_of_times(
    env: SimpleNamespace,
) -> None:
    """Versions are compared by value: past 256 (an hourly refresh for 11 days) two equal numbers
    are no longer one object in Python."""
    rejected = connect(env.repo, env.vault, env.oauth, expires_in=3600)
    env.repo.get(COMPANY, "quickbooks").update(actions=[ConnectionModel.token_version.set(1_000)])
    assert source(env).refreshed_after_rejection(rejected) != rejected
    assert env.oauth.refresh_calls == 1


class _OvertakenMidCall:
    """The provider's token endpoint, reached by worker A only after its lease lapsed and worker B
    (another Lambda instance) refreshed and stored newer tokens: A's refresh token is spent."""

    def __init__(self, env: SimpleNamespace, clock: list[float]) -> None:
        self.oauth, self.env, self.clock = env.oauth, env, clock
        self.name, self.uses_pkce = env.oauth.name, False

    def refresh(self, refresh_token: str) -> object:
        self.clock[0] += 120  # A stalls past its 90-second lease
        source(self.env, clock=lambda: self.clock[0], owner="b").keep_alive()
        return self.oauth.refresh(refresh_token)  # invalid_grant: B rotated it


def test_a_worker_whose_lease_lapsed_never_stores_its_older_tokens_over_newer_ones(
    env: SimpleNamespace,
) -> None:
    connect(env.repo, env.vault, env.oauth, expires_in=60)  # due
    clock = [time.time()]
    late = source(env, clock=lambda: clock[0], owner="a")
    late._oauth = _OvertakenMidCall(env, clock)  # type: ignore[assignment]
    access = late.access_token()  # refused invalid_grant, yet B's newer tokens stand and serve
    row = env.repo.get(COMPANY, "quickbooks")
    assert row.status == "connected" and row.has_refresh_token is True and row.last_error_code is None
    stored = env.vault.open(sealed_tokens(row), TokenContext(COMPANY, "quickbooks", row.connection_id))
    assert access == stored.access_token and stored.refresh_token in env.oauth._live_refresh
    assert env.oauth.refresh_calls == 2
