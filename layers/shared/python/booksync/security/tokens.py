"""Access tokens for one connection, refreshed by exactly one worker at a time.

QuickBooks and Xero rotate refresh tokens: two refreshes racing leave one of them holding a dead
token and the connection ends in invalid_grant. So a refresh happens under a lease on the
connection row (owner, expiry, and a fencing counter that only grows). The holder re-reads the
row first (another worker may have refreshed already), refreshes, and writes the new tokens on
condition that the counter is still its own, releasing the lease in the same write. Workers that
find the lease held wait for the new token instead of refreshing themselves.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from booksync.errors import ConnectionDown, NeedsReconnection, TransientError
from booksync.providers.port import OAuthClient, TokenSet
from booksync.providers.profile import provider_label
from booksync.security.vault import PlainTokens, TokenCipher
from booksync.store.connections import (
    ConnectionRepository,
    ConnectionStatus,
    TokenTimes,
    sealed_tokens,
    token_context,
)
from booksync.store.models import ConnectionModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefreshPolicy:
    refresh_margin_seconds: float = 300.0  # refresh when under 5 minutes are left
    # Outlives one token call at the HTTP client's worst (connects retried, a full read): a lease
    # that ran out mid-call lets a second worker spend the same refresh token, and Intuit answers
    # the later of the two with invalid_grant (the connection would need reconnecting).
    lease_seconds: float = 90.0
    wait_seconds: float = 20.0  # how long a worker waits for another's refresh
    poll_seconds: float = 0.1
    keepalive_every_seconds: float = 86_400.0  # refresh tokens older than a day (keep-alive)


class ConnectionTokenSource:
    """``TokenSource`` for one connection (the adapter asks it for tokens)."""

    def __init__(
        self,
        *,
        company_id: str,
        provider: str,
        repository: ConnectionRepository,
        cipher: TokenCipher,
        oauth: OAuthClient,
        policy: RefreshPolicy | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        owner: str | None = None,
    ) -> None:
        self.company_id = company_id
        self.provider = provider
        self._repo = repository
        self._cipher = cipher
        self._oauth = oauth
        self._policy = policy or RefreshPolicy()
        self._clock = clock
        self._sleep = sleep
        self._owner = owner or uuid.uuid4().hex
        self._cached: tuple[int, PlainTokens, float] | None = None

    # -- TokenSource -------------------------------------------------------------------------
    def access_token(self) -> str:
        row = self._load()
        if self._fresh(row):
            return self._tokens(row).access_token
        return self._refresh(seen_version=int(row.token_version))

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        row = self._load()
        current = self._tokens(row)
        if current.access_token != rejected_token and self._fresh(row):
            return current.access_token
        return self._refresh(seen_version=int(row.token_version), force=True)

    # -- refresh under the lease ---------------------------------------------------------------
    def _refresh(self, *, seen_version: int, force: bool = False) -> str:
        deadline = self._clock() + self._policy.wait_seconds
        while True:
            row = self._load()
            if int(row.token_version) != seen_version and self._fresh(row):
                return self._tokens(row).access_token
            fence = self._repo.try_acquire_lease(
                row, owner=self._owner, now=self._clock(), lease_seconds=self._policy.lease_seconds
            )
            if fence is not None:
                return self._refresh_holding_lease(row, fence, seen_version=seen_version, force=force)
            if self._clock() >= deadline:
                raise TransientError(
                    "Another worker is refreshing this connection's token and has not finished.",
                    provider=self.provider,
                )
            self._sleep(self._policy.poll_seconds)

    def _refresh_holding_lease(
        self, row: ConnectionModel, fence: int, *, seen_version: int, force: bool
    ) -> str:
        try:
            # Re-read under the lease: the tokens may have changed since we decided to refresh.
            row = self._load()
            if int(row.token_version) != seen_version and self._fresh(row):
                return self._tokens(row).access_token
            if not force and self._fresh(row):
                return self._tokens(row).access_token
            tokens = self._tokens(row)
            if not tokens.refresh_token:
                self._mark_needs_reconnection(row, tokens, "The connection has no refresh token.")
                return self._newer_than(row)
            new = self._call_refresh(row, tokens)
            if new is None or not self._store(row, fence, new):
                # This lease lapsed and another worker (or a reconnect) stored newer tokens:
                # those stand, never this worker's older ones over them.
                return self._newer_than(row)
            return new.access_token
        finally:
            self._repo.release_lease(row, owner=self._owner, fence=fence)

    def _call_refresh(self, row: ConnectionModel, tokens: PlainTokens) -> TokenSet | None:
        """The provider's new tokens; None when it refused a refresh token that newer tokens had
        already replaced (the refusal is then no news about the connection)."""
        assert tokens.refresh_token is not None
        try:
            return self._oauth.refresh(tokens.refresh_token)
        except NeedsReconnection as exc:
            self._mark_needs_reconnection(row, tokens, exc.message)
            return None

    def _newer_than(self, row: ConnectionModel) -> str:
        """The access token stored after ``row``'s, when fresh; else the refresh is retried later."""
        now = self._load()
        if int(now.token_version) != int(row.token_version) and self._fresh(now):
            return self._tokens(now).access_token
        raise TransientError(
            "The token refresh lease expired before the new token was stored.", provider=self.provider
        )

    def _store(self, row: ConnectionModel, fence: int, new: TokenSet) -> bool:
        plain = PlainTokens(access_token=new.access_token, refresh_token=new.refresh_token)
        stored = self._repo.write_tokens_fenced(
            row,
            owner=self._owner,
            fence=fence,
            sealed=self._cipher.seal(plain, token_context(row)),
            times=TokenTimes(
                access_expires_at=new.access_expires_at.timestamp(),
                refresh_expires_at=new.refresh_expires_at.timestamp() if new.refresh_expires_at else None,
            ),
            has_refresh_token=bool(new.refresh_token),
            now=self._clock(),
            refresh_every=self._policy.keepalive_every_seconds,
        )
        if stored:
            logger.info("token refreshed", extra={"company_id": row.company_id, "provider": row.provider})
        return stored

    def _mark_needs_reconnection(self, row: ConnectionModel, tokens: PlainTokens, reason: str) -> None:
        """Needs Reconnection, said and raised; unless the tokens that failed are no longer those
        stored (a worker whose lease lapsed, refused a refresh token another already rotated, or
        a reconnect meanwhile): then nothing is written and this returns."""
        marked = self._repo.mark_broken(
            row,
            status=ConnectionStatus.NEEDS_RECONNECTION,
            code="invalid_grant",
            message=reason,
            sealed_without_refresh=self._cipher.seal(tokens.without_refresh(), token_context(row)),
            only_version=int(row.token_version),
        )
        if not marked:
            return
        raise NeedsReconnection(
            f"{provider_label(self.provider)} no longer accepts this connection's refresh token: {reason}",
            provider=self.provider,
            fix="Reconnect the integration (Settings > Integrations > Reconnect).",
        )

    # -- reading -------------------------------------------------------------------------------
    def _load(self) -> ConnectionModel:
        row = self._repo.get(self.company_id, self.provider)
        if row is None or row.status == ConnectionStatus.DISCONNECTED:
            raise NeedsReconnection(
                f"The company is not connected to {provider_label(self.provider)}.",
                provider=self.provider,
                fix="Connect the integration first (Settings > Integrations > Connect).",
            )
        if row.status == ConnectionStatus.NEEDS_RECONNECTION:
            raise NeedsReconnection(
                row.last_error_message or "The connection needs to be reconnected.",
                provider=self.provider,
                fix="Reconnect the integration (Settings > Integrations > Reconnect).",
            )
        if row.status == ConnectionStatus.CONNECTION_DOWN:
            raise ConnectionDown(
                row.last_error_message or "The connection is down.",
                provider=self.provider,
                fix="Reconnect the integration (Settings > Integrations > Reconnect).",
            )
        return row

    def _fresh(self, row: ConnectionModel) -> bool:
        expires = row.access_expires_at or 0
        return float(expires) - self._clock() > self._policy.refresh_margin_seconds

    def _tokens(self, row: ConnectionModel) -> PlainTokens:
        version = int(row.token_version)
        if self._cached and self._cached[0] == version and self._cached[2] == row.access_expires_at:
            return self._cached[1]
        sealed = sealed_tokens(row)
        if sealed is None:
            raise NeedsReconnection(
                "No tokens are stored for this connection.",
                provider=self.provider,
                fix="Reconnect the integration (Settings > Integrations > Reconnect).",
            )
        tokens = self._cipher.open(sealed, token_context(row))
        self._cached = (version, tokens, float(row.access_expires_at or 0))
        return tokens

    def keep_alive(self) -> None:
        """Refresh now, whatever the access token's age, so the refresh token never lapses.

        Runs under the same lease as every other refresh: a keep-alive racing a worker's refresh
        makes one token call, not two.
        """
        row = self._load()
        self._refresh(seen_version=int(row.token_version), force=True)
