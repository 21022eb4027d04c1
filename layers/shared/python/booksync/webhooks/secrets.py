"""Each connection's own webhook signing secret, kept on its connection row (FreshBooks signs each
account's callbacks with the verifier it gave for that account's callbacks).

The secret is sealed as the tokens are (KMS data key, AES-256-GCM), under a context of its own
(the provider's name with ``#webhook-secret``): the token blob and the secret blob of one row, or
another connection's, never open as this one. The receiver asks by the account a delivery names,
and only the connection that acts for that account (its owner's) answers, so a delivery signed
with another connection's secret does not verify.

A read costs a DynamoDB query and a KMS call, too slow for every delivery before a provider's
ack deadline: what is read is kept ``SECRET_TTL_SECONDS`` (an account without a secret
``MISSING_TTL_SECONDS``, so one set a moment later is soon seen). A signature that does not
match re-reads, at most every ``REFRESH_AT_MOST_EVERY_SECONDS`` per account (a secret set anew).
A store that cannot be read raises (the receiver answers 503, the provider delivers again).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from booksync.errors import ConcurrentChange
from booksync.security.vault import PlainTokens, SealedTokens, TokenCipher, TokenContext, VaultError
from booksync.store.connections import ConnectionRepository, ConnectionStatus, sealed_webhook_secret
from booksync.store.models import ConnectionModel

SECRET_TTL_SECONDS = 300.0
MISSING_TTL_SECONDS = 10.0
REFRESH_AT_MOST_EVERY_SECONDS = 30.0
# A callback's verification amends the one secret every callback of the account shares, and
# FreshBooks sends them all at once after a registration: writers that lost the race wait a
# jittered, growing pause before reading again (full jitter), so they do not collide anew in step.
AMEND_ATTEMPTS = 10
AMEND_PAUSE_BASE_SECONDS = 0.05
AMEND_PAUSE_CAP_SECONDS = 1.0


def amend_pause(attempt: int, rand: Callable[[], float] = random.random) -> float:
    """The pause after the ``attempt``-th lost write (from 0): uniform up to base x 2^attempt, capped."""
    ceiling: float = min(AMEND_PAUSE_CAP_SECONDS, AMEND_PAUSE_BASE_SECONDS * 2.0**attempt)
    return rand() * ceiling


def secret_context(row: ConnectionModel) -> TokenContext:
    """The seal's context: the connection's, under the provider's name and ``#webhook-secret``."""
    return TokenContext(
        company_id=str(row.company_id),
        provider=f"{row.provider}#webhook-secret",
        connection_id=str(row.connection_id),
    )


@dataclass
class _Read:
    secret: str | None = field(repr=False)
    reason: str | None
    at: float


class StoredWebhookSecrets:
    """``SecretLookup`` over the connection rows of one provider, with a small cache; and where
    the provider hands booksync a connection's secret, ``keep`` stores it."""

    def __init__(
        self,
        provider: str,
        connections: ConnectionRepository,
        cipher: TokenCipher,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self._provider = provider
        self._pause = pause
        self._connections = connections
        self._cipher = cipher
        self._clock = clock
        self._wall_clock = wall_clock
        self._cache: dict[str, _Read] = {}

    # -- SecretLookup ----------------------------------------------------------------------------
    def current(self, account: str | None) -> tuple[str | None, str | None]:
        if account is None:
            return None, f"the delivery names no {self._label()} account"
        cached = self._cache.get(account)
        if cached is None or self._clock() - cached.at >= self._ttl(cached):
            cached = self._read(account)
        return cached.secret, cached.reason

    def refreshed(self, account: str | None) -> str | None:
        if account is None:
            return None
        cached = self._cache.get(account)
        if cached is not None and self._clock() - cached.at < REFRESH_AT_MOST_EVERY_SECONDS:
            return None
        return self._read(account).secret

    # -- setting it --------------------------------------------------------------------------------
    def keep(self, account: str, secret: str) -> bool:
        """Seal and store the secret the provider gave for ``account``'s deliveries on the
        connection that acts for it. False when no connected company holds that account (or its
        connection was replaced meanwhile): nothing is stored."""
        row = self._owner(account)
        if row is None:
            return False
        stored = self._connections.store_webhook_secret(row, self._seal(row, secret), now=self._wall_clock())
        self._cache.pop(account, None)
        return stored

    def amend(self, account: str, change: Callable[[str | None], str | None]) -> bool:
        """Replace the secret kept for ``account`` with ``change(the one kept now)`` (None
        where none can be read), read afresh and written only over what was read: a writer that
        amended it meanwhile makes this one read again, so neither change is lost. False when no
        connected company holds that account; None from ``change`` keeps what is there."""
        for attempt in range(AMEND_ATTEMPTS):
            if attempt:
                self._pause(amend_pause(attempt - 1))
            row = self._owner(account)
            if row is None:
                return False
            sealed = sealed_webhook_secret(row)
            current: str | None = None
            if sealed is not None:
                try:
                    current = self._cipher.open(sealed, secret_context(row)).access_token
                except VaultError:  # sealed for an older connection: replaced, not kept
                    current = None
            wanted = change(current)
            if wanted is None:
                return True
            fresh = self._seal(row, wanted)
            if self._connections.store_webhook_secret(row, fresh, now=self._wall_clock(), replacing=sealed):
                self._cache.pop(account, None)
                return True
        raise ConcurrentChange(
            f"The webhook secret of {self._label()} account {account} kept changing while it was "
            "being amended.",
            fix="Nothing to do: the delivery that brought it is retried.",
        )

    def _seal(self, row: ConnectionModel, secret: str) -> SealedTokens:
        return self._cipher.seal(PlainTokens(access_token=secret, refresh_token=None), secret_context(row))

    # -- reading -----------------------------------------------------------------------------------
    @staticmethod
    def _ttl(read: _Read) -> float:
        return SECRET_TTL_SECONDS if read.secret is not None else MISSING_TTL_SECONDS

    def _owner(self, account: str) -> ConnectionModel | None:
        rows = [
            row
            for row in self._connections.owner_connections(self._provider, account)
            if row.status != ConnectionStatus.DISCONNECTED
        ]
        return rows[0] if len(rows) == 1 else None

    def _label(self) -> str:
        from booksync.providers.profile import provider_label

        return provider_label(self._provider)

    def _read(self, account: str) -> _Read:
        row = self._owner(account)
        secret: str | None = None
        where = f"{self._label()} account {account}"
        if row is None:
            reason = f"no company is connected to {where}"
        elif (sealed := sealed_webhook_secret(row)) is None:
            reason = f"the connection of {where} holds no signing secret yet"
        else:
            try:
                secret = self._cipher.open(sealed, secret_context(row)).access_token
                reason = None
            except VaultError:
                # Sealed for another connection (a reconnect since): it is set anew, not retried.
                reason = f"the signing secret stored for {where} is not its connection's"
        read = _Read(secret=secret, reason=reason, at=self._clock())
        self._cache[account] = read
        return read
