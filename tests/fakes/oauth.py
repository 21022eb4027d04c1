"""An in-memory OAuth server behaving as Intuit's: rotating refresh tokens, invalid_grant on reuse.
With ``uses_pkce`` it plays a PKCE client's server: it remembers each code challenge it was sent and
refuses an exchange whose verifier does not hash to it."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from booksync.errors import NeedsReconnection, Rejected
from booksync.providers.oauth_common import code_challenge, the_one_organisation
from booksync.providers.port import Organisation, TokenSet


class FakeOAuth:
    name = "quickbooks"

    def __init__(
        self,
        *,
        delay: float = 0.0,
        access_lifetime: float = 3600.0,
        uses_pkce: bool = False,
        organisations: Sequence[Organisation] = (),
    ) -> None:
        self.uses_pkce = uses_pkce
        # What every consent grants, as Xero's connections list it; none: the one account the
        # redirect names, as QuickBooks.
        self.organisations = tuple(organisations)
        self.disconnected: list[Mapping[str, str]] = []  # the ids of every disconnect
        self.challenges: list[str | None] = []  # the code_challenge of every authorization URL
        self.verifiers: list[str | None] = []  # the code_verifier of every exchange
        self.refresh_calls = 0
        self.exchanges = 0
        self.revoked: list[str] = []
        self._approved: dict[str, str] = {}  # code -> the account its consent was given for
        self._granted: dict[str, str] = {}  # access token -> that account
        self._live_refresh: set[str] = set()
        self._live_access: set[str] = set()  # what its API accepts as a bearer token
        self._lock = threading.Lock()
        self._delay = delay
        self._lifetime = access_lifetime

    def issue(self) -> TokenSet:
        refresh = "rt-" + secrets.token_hex(8)
        self._live_refresh.add(refresh)
        access = "at-" + secrets.token_hex(8)
        self._live_access.add(access)
        now = datetime.now(UTC)
        return TokenSet(
            access_token=access,
            refresh_token=refresh,
            access_expires_at=now + timedelta(seconds=self._lifetime),
            refresh_expires_at=now + timedelta(days=100),
        )

    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        self.challenges.append(code_challenge)
        return f"https://fake.example/authorize?state={state}&redirect_uri={redirect_uri}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        self.exchanges += 1
        self.verifiers.append(code_verifier)
        if self.uses_pkce and (code_verifier is None or code_challenge(code_verifier) not in self.challenges):
            raise Rejected("The code_verifier does not match the code_challenge.", provider=self.name)
        tokens = self.issue()
        if code in self._approved:
            self._granted[tokens.access_token] = self._approved[code]
        return tokens

    def refresh(self, refresh_token: str) -> TokenSet:
        with self._lock:
            self.refresh_calls += 1
            if refresh_token not in self._live_refresh:
                raise NeedsReconnection("invalid_grant", provider=self.name)
            self._live_refresh.discard(refresh_token)
        if self._delay:
            time.sleep(self._delay)
        with self._lock:
            return self.issue()

    def approve(self, code: str, account_id: str) -> None:
        """The consent page: ``code`` is granted for ``account_id`` (a code never approved here
        is granted for whatever account the callback names, as the tests that do not care assume)."""
        self._approved[code] = account_id

    def owns_account(self, tokens: TokenSet, account_id: str) -> bool:
        return self._granted.get(tokens.access_token, account_id) == account_id

    def revoke(self, token: str) -> None:
        self.revoked.append(token)
        self._live_refresh.discard(token)
        self._live_access.discard(token)

    def accepts(self, access_token: str) -> bool:
        """The API's bearer check: a token this server issued whose grant was not revoked."""
        return access_token in self._live_access

    def revoke_grants(self) -> None:
        """The user disconnects the app in the provider: every token issued so far dies."""
        with self._lock:
            self._live_refresh.clear()
            self._live_access.clear()

    def list_organisations(self, tokens: TokenSet) -> Sequence[Organisation]:
        return self.organisations or the_one_organisation(tokens, self.name)

    def disconnect(self, *, access_token: str, refresh_token: str | None, ids: Mapping[str, str]) -> bool:
        self.disconnected.append(dict(ids))
        self.revoke(refresh_token or access_token)
        return True
