"""The token-refresh lease outlives the token call it guards."""

from __future__ import annotations

from booksync.providers.http import HttpSettings
from booksync.security.tokens import RefreshPolicy


def test_the_refresh_lease_outlives_a_token_call_at_the_http_clients_worst() -> None:
    """A lease that ran out mid-call lets a second worker spend the same refresh token (Intuit
    rotates it: the later call is invalid_grant and the connection needs reconnecting)."""
    http = HttpSettings()
    attempts = http.max_retries + 1  # a connect that fails is retried, even for a token call
    worst_call = (
        attempts * (http.pool_timeout + http.connect_timeout)
        + http.read_timeout
        + http.max_retries * http.backoff_cap
    )
    assert RefreshPolicy().lease_seconds > worst_call
