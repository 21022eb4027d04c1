"""Connection rows: status, encrypted tokens and the refresh lease with its fencing counter."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.update import Action

from booksync.errors import FieldProblem, NoBooksConnected, OrganisationNotChosen, SeveralBooks
from booksync.providers.profile import provider_label
from booksync.providers.registry import REGISTRY, is_accounting
from booksync.security.vault import SealedTokens, TokenContext
from booksync.store.models import AccountClaimModel, ConnectionModel, update_connection_settings


class ConnectionStatus:
    CONNECTED = "connected"
    NEEDS_RECONNECTION = "needs_reconnection"
    CONNECTION_DOWN = "connection_down"
    DISCONNECTED = "disconnected"
    # Consent given for several organisations (Xero tenants): tokens stored, nothing claimed or
    # synced until an admin picks one (``Integrations.choose_organisation``).
    CHOOSE_ORGANISATION = "choose_organisation"


@dataclass(frozen=True)
class TokenTimes:
    access_expires_at: float
    refresh_expires_at: float | None


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def held(row: ConnectionModel, now: float) -> bool:
    """The connection's work is parked until its provider's next day (daily limit reached)."""
    return row.held_until is not None and now < float(row.held_until)


def _claim_key(provider: str, account_id: str) -> str:
    return f"account#{provider}#{account_id}"


def token_context(row: ConnectionModel) -> TokenContext:
    return TokenContext(company_id=row.company_id, provider=row.provider, connection_id=row.connection_id)


def provider_ids(row: ConnectionModel) -> dict[str, str]:
    """The provider's ids of the connected account, by kind ({"realm": ...}). A row stored before
    connections kept them holds its account id alone: read under the key its provider declares."""
    if row.account_ids:
        return {str(kind): str(value) for kind, value in dict(row.account_ids).items()}
    if not row.account_id:
        return {}
    from booksync.providers.profile import profile

    return {profile(str(row.provider)).account_id_key: str(row.account_id)}


def organisation_not_chosen(provider: str, waiting: str = "") -> OrganisationNotChosen:
    """Why work waits on a connection in choose_organisation, and what ends the wait; ``waiting``
    names what waits ("the invoice")."""
    from booksync.providers.profile import provider_label

    name = provider_label(provider)
    return OrganisationNotChosen(
        f"{name} is connected for several organisations and none is chosen yet"
        + (f"; {waiting} waits until one is." if waiting else "."),
        provider=provider,
        fix=f"An admin chooses one with POST /integrations/{provider}/organisation "
        f"(GET /integrations/{provider} lists them); waiting work then resumes by itself.",
    )


def accounting_rows(rows: Iterable[ConnectionModel]) -> list[ConnectionModel]:
    """The accounting connections among ``rows``, unless disconnected."""
    # Payment processors (Square) are connections too, but never the company's books.
    return [r for r in rows if r.status != ConnectionStatus.DISCONNECTED and is_accounting(r.provider)]


def several_books(providers: Sequence[str], waiting: str = "") -> SeveralBooks:
    """Why work waits while several accounting systems are connected, and what ends the wait;
    ``waiting`` names what waits ("invoice inv-1")."""
    named = " and ".join(f"{provider_label(p)} ({p})" for p in providers)
    return SeveralBooks(
        f"{len(providers)} accounting systems are connected ({named}) and booksync does not know "
        "which keeps the company's books, so nothing is synced to either automatically"
        + (f"; {waiting} waits until one remains." if waiting else "."),
        fix="Disconnect the one that does not keep them (POST /integrations/{provider}/disconnect): "
        "waiting work then syncs to the other by itself. Or sync an invoice to one by name "
        f"(POST /invoices/{{id}}/sync?provider=, one of: {', '.join(providers)}).",
    )


def sealed_webhook_secret(row: ConnectionModel) -> SealedTokens | None:
    key, nonce, ciphertext = row.webhook_secret_key, row.webhook_secret_nonce, row.webhook_secret_ciphertext
    if key is None or nonce is None or ciphertext is None:
        return None
    return SealedTokens(encrypted_key=key, nonce=nonce, ciphertext=ciphertext)


def sealed_tokens(row: ConnectionModel) -> SealedTokens | None:
    if row.token_ciphertext is None or row.token_key is None or row.token_nonce is None:
        return None
    return SealedTokens(encrypted_key=row.token_key, nonce=row.token_nonce, ciphertext=row.token_ciphertext)


class ConnectionRepository:
    def get(self, company_id: str, provider: str) -> ConnectionModel | None:
        try:
            return ConnectionModel.get(company_id, provider, consistent_read=True)
        except ConnectionModel.DoesNotExist:
            return None

    def list_for_company(self, company_id: str) -> list[ConnectionModel]:
        return list(ConnectionModel.query(company_id, consistent_read=True))

    def accounting_connections(self, company_id: str) -> list[ConnectionModel]:
        """The company's accounting connections, unless disconnected."""
        return accounting_rows(self.list_for_company(company_id))

    def accounting_connection(self, company_id: str) -> ConnectionModel | None:
        """The company's accounting connection, unless disconnected (None: none is). Raises
        ``SeveralBooks`` while several are: which keeps the books is not known, and picking one
        (the first by name) would sync the company's documents to books it may not keep."""
        rows = self.accounting_connections(company_id)
        if len(rows) > 1:
            raise several_books([str(r.provider) for r in rows])
        return rows[0] if rows else None

    def books_provider(self, company_id: str, provider: str | None) -> str:
        """The accounting provider a request is about: ``provider`` where it names one, else the
        company's accounting connection; refused, saying how to name one, when none is connected
        or several are."""
        if provider:
            return provider
        rows = self.accounting_connections(company_id)
        if len(rows) == 1:
            return str(rows[0].provider)
        if not rows:
            known = ", ".join(REGISTRY.names("accounting"))
            raise NoBooksConnected(
                "No accounting system is connected to this company, so there are no books to sync "
                "to or to read a sync state from.",
                fix=f"Connect one in Settings > Integrations (POST /integrations/{{provider}}/connect, "
                f"provider one of: {known}).",
            )
        named = ", ".join(f"{provider_label(r.provider)} ({r.provider})" for r in rows)
        raise FieldProblem(
            "provider",
            f"{len(rows)} accounting systems are connected ({named}) and the request does not say which",
            f"Add ?provider= with one of: {', '.join(str(r.provider) for r in rows)}.",
        )

    def refresh_due(self, provider: str, now: float) -> Iterator[ConnectionModel]:
        """The provider's connections whose refresh is due by ``now`` (the sparse refresh-index)."""
        return iter(ConnectionModel.refresh_index.query(provider, ConnectionModel.refresh_due_at <= now))

    def save_wizard(self, row: ConnectionModel, state: dict[str, Any]) -> None:
        """The post-connection wizard's progress (one attribute: tokens untouched)."""
        row.update(actions=[ConnectionModel.wizard.set(state)])

    def update_settings(self, row: ConnectionModel, changes: Mapping[str, Any]) -> None:
        """Only these settings: a full save could overwrite tokens a worker just refreshed."""
        update_connection_settings(row, dict(changes))

    def find_by_account(self, provider: str, account_id: str) -> list[ConnectionModel]:
        return list(ConnectionModel.account_index.query(f"{provider}#{account_id}"))

    # -- who owns a provider account -------------------------------------------------------------
    def claim_account(self, provider: str, account_id: str, company_id: str, *, now: float) -> str | None:
        """Claim the account for the company (again, if it is its own already). None when the
        company holds it; else the company that does (a conditional put: one wins a race).

        An account connected before claims existed has no claim: it goes first to the company
        that connected it earliest (and is still connected), so no newcomer takes its webhooks."""
        if self.account_owner(provider, account_id) is None:
            earliest = min(
                (
                    row
                    for row in self.find_by_account(provider, account_id)
                    if row.status != ConnectionStatus.DISCONNECTED
                ),
                key=lambda row: (row.connected_at or 0.0, row.company_id),
                default=None,
            )
            if earliest is not None and earliest.company_id != company_id:
                self.claim_account(provider, account_id, str(earliest.company_id), now=now)
        key = _claim_key(provider, account_id)
        claim = AccountClaimModel(key, owner_company_id=company_id, claimed_at=now)
        try:
            claim.save(
                condition=AccountClaimModel.claim_key.does_not_exist()
                | (AccountClaimModel.owner_company_id == company_id)
            )
        except PutError as exc:
            if not _conditional_failed(exc):
                raise
            return self.account_owner(provider, account_id) or self.claim_account(
                provider, account_id, company_id, now=now
            )  # released in between: try again
        return None

    def release_account(self, provider: str, account_id: str, company_id: str) -> None:
        """Give the account up, if this company holds it (another's claim is left alone)."""
        try:
            AccountClaimModel(_claim_key(provider, account_id)).delete(
                condition=AccountClaimModel.owner_company_id == company_id
            )
        except DeleteError as exc:
            if not _conditional_failed(exc):
                raise

    def account_owner(self, provider: str, account_id: str) -> str | None:
        try:
            claim = AccountClaimModel.get(_claim_key(provider, account_id), "#owner", consistent_read=True)
        except AccountClaimModel.DoesNotExist:
            return None
        return str(claim.owner_company_id)

    def owner_connections(self, provider: str, account_id: str) -> list[ConnectionModel]:
        """The connection that acts for this account (webhooks): its owner's. An account nobody
        claimed (connected before claims existed) is acted on only when one company connected it."""
        rows = self.find_by_account(provider, account_id)
        owner = self.account_owner(provider, account_id)
        if owner is not None:
            return [row for row in rows if row.company_id == owner]
        return rows if len(rows) == 1 else []

    def store_webhook_secret(
        self,
        row: ConnectionModel,
        sealed: SealedTokens,
        *,
        now: float,
        replacing: SealedTokens | Literal["any"] | None = "any",
    ) -> bool:
        """Keep the connection's webhook signing secret (sealed), if the row is still this
        connection (a newer consent's row is left alone: its secret is set anew). False if not.
        ``replacing``: only over that secret (None: where there is none), so that two writers
        amending the secret at once never lose one's change (``StoredWebhookSecrets.amend``)."""
        condition = ConnectionModel.connection_id == row.connection_id
        if replacing is None:
            condition &= ConnectionModel.webhook_secret_ciphertext.does_not_exist()
        elif replacing != "any":
            condition &= ConnectionModel.webhook_secret_ciphertext == replacing.ciphertext
        try:
            row.update(
                actions=[
                    ConnectionModel.webhook_secret_key.set(sealed.encrypted_key),
                    ConnectionModel.webhook_secret_nonce.set(sealed.nonce),
                    ConnectionModel.webhook_secret_ciphertext.set(sealed.ciphertext),
                    ConnectionModel.webhook_secret_set_at.set(now),
                ],
                condition=condition,
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def record_locations(self, company_id: str, provider: str, locations: list[dict[str, Any]]) -> None:
        """A payment processor's locations (Square), updated alone: tokens stay as they are."""
        ConnectionModel(company_id, provider).update(
            actions=[ConnectionModel.locations.set(locations)],
            condition=ConnectionModel.company_id.exists(),
        )

    def new_connection_id(self) -> str:
        return uuid.uuid4().hex

    def store_connection(
        self,
        *,
        company_id: str,
        provider: str,
        connection_id: str,
        account_id: str | None,
        sealed: SealedTokens,
        times: TokenTimes,
        has_refresh_token: bool,
        connected_by: str,
        now: float,
        refresh_every: float,
        account_ids: Mapping[str, str] | None = None,
        choices: Sequence[Mapping[str, Any]] | None = None,
    ) -> ConnectionModel:
        """Create or replace the connection after a consent; settings and links are kept.

        With ``choices`` (the consent granted several organisations) the row waits in
        choose_organisation with them, keeping the account it had (and its claim) until one is
        picked; ``account_id`` is then ignored."""
        existing = self.get(company_id, provider)
        row = existing or ConnectionModel(company_id, provider)
        row.connection_id = connection_id
        if choices is not None:
            row.status = ConnectionStatus.CHOOSE_ORGANISATION
            row.organisations = [dict(choice) for choice in choices]
        else:
            row.status = ConnectionStatus.CONNECTED
            self._set_account(row, provider, account_id, account_ids)
            row.organisations = None
        self._apply_tokens(row, sealed, times, has_refresh_token, now, refresh_every)
        row.token_version = (row.token_version or 0) + 1
        row.connected_by = connected_by
        row.connected_at = int(now)
        row.last_error_code = None
        row.last_error_message = None
        row.lease_owner = None
        row.lease_expires_at = None
        row.save()
        return row

    @staticmethod
    def _set_account(
        row: ConnectionModel, provider: str, account_id: str | None, account_ids: Mapping[str, str] | None
    ) -> None:
        row.account_id = account_id
        row.account_key = f"{provider}#{account_id}" if account_id else None
        row.account_ids = dict(account_ids) if account_ids else None

    def choose_organisation(
        self, row: ConnectionModel, *, account_id: str, account_ids: Mapping[str, str]
    ) -> bool:
        """Connect the organisation an admin picked, if the row still waits for that choice from
        the same consent (a newer consent's row is left alone). False when it no longer does."""
        try:
            row.update(
                actions=[
                    ConnectionModel.status.set(ConnectionStatus.CONNECTED),
                    ConnectionModel.account_id.set(account_id),
                    ConnectionModel.account_key.set(f"{row.provider}#{account_id}"),
                    ConnectionModel.account_ids.set(dict(account_ids)),
                    ConnectionModel.organisations.remove(),
                ],
                condition=(ConnectionModel.status == ConnectionStatus.CHOOSE_ORGANISATION)
                & (ConnectionModel.connection_id == row.connection_id),
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    @staticmethod
    def _apply_tokens(
        row: ConnectionModel,
        sealed: SealedTokens,
        times: TokenTimes,
        has_refresh_token: bool,
        now: float,
        refresh_every: float,
    ) -> None:
        row.token_key = sealed.encrypted_key
        row.token_nonce = sealed.nonce
        row.token_ciphertext = sealed.ciphertext
        row.has_refresh_token = has_refresh_token
        row.access_expires_at = times.access_expires_at
        row.refresh_expires_at = times.refresh_expires_at
        row.refreshed_at = now
        row.refresh_due_at = now + refresh_every if has_refresh_token else None

    def try_acquire_lease(
        self, row: ConnectionModel, *, owner: str, now: float, lease_seconds: float
    ) -> int | None:
        """Take the refresh lease if free or expired; return the new fence, or None if held."""
        try:
            row.update(
                actions=[
                    ConnectionModel.lease_owner.set(owner),
                    ConnectionModel.lease_expires_at.set(now + lease_seconds),
                    ConnectionModel.fence.set(ConnectionModel.fence + 1),
                ],
                condition=ConnectionModel.company_id.exists()
                & (ConnectionModel.lease_owner.does_not_exist() | (ConnectionModel.lease_expires_at < now)),
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return None
            raise
        return int(row.fence)

    def write_tokens_fenced(
        self,
        row: ConnectionModel,
        *,
        owner: str,
        fence: int,
        sealed: SealedTokens,
        times: TokenTimes,
        has_refresh_token: bool,
        now: float,
        refresh_every: float,
    ) -> bool:
        """Store refreshed tokens only if this lease is still ours; release it in the same write."""
        refresh_due = now + refresh_every if has_refresh_token else None
        actions: list[Action] = [
            ConnectionModel.token_key.set(sealed.encrypted_key),
            ConnectionModel.token_nonce.set(sealed.nonce),
            ConnectionModel.token_ciphertext.set(sealed.ciphertext),
            ConnectionModel.token_version.set(ConnectionModel.token_version + 1),
            ConnectionModel.has_refresh_token.set(has_refresh_token),
            ConnectionModel.access_expires_at.set(times.access_expires_at),
            ConnectionModel.refreshed_at.set(now),
            ConnectionModel.lease_owner.remove(),
            ConnectionModel.lease_expires_at.remove(),
        ]
        actions.append(
            ConnectionModel.refresh_expires_at.set(times.refresh_expires_at)
            if times.refresh_expires_at is not None
            else ConnectionModel.refresh_expires_at.remove()
        )
        actions.append(
            ConnectionModel.refresh_due_at.set(refresh_due)
            if refresh_due is not None
            else ConnectionModel.refresh_due_at.remove()
        )
        try:
            row.update(
                actions=actions,
                condition=(ConnectionModel.fence == fence) & (ConnectionModel.lease_owner == owner),
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def release_lease(self, row: ConnectionModel, *, owner: str, fence: int) -> None:
        try:
            row.update(
                actions=[ConnectionModel.lease_owner.remove(), ConnectionModel.lease_expires_at.remove()],
                condition=(ConnectionModel.fence == fence) & (ConnectionModel.lease_owner == owner),
            )
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise

    def mark_broken(
        self,
        row: ConnectionModel,
        *,
        status: str,
        code: str,
        message: str,
        sealed_without_refresh: SealedTokens | None = None,
        only_version: int | None = None,
    ) -> bool:
        """Record a dead grant. With ``sealed_without_refresh`` the refresh token is cleared too.
        With ``only_version``: only while the stored tokens are still that version (the ones that
        failed), so newer tokens are never overwritten by older ones; False when they are not."""
        actions: list[Action] = [
            ConnectionModel.status.set(status),
            ConnectionModel.last_error_code.set(code),
            ConnectionModel.last_error_message.set(message),
        ]
        if sealed_without_refresh is not None:
            actions += [
                ConnectionModel.token_key.set(sealed_without_refresh.encrypted_key),
                ConnectionModel.token_nonce.set(sealed_without_refresh.nonce),
                ConnectionModel.token_ciphertext.set(sealed_without_refresh.ciphertext),
                ConnectionModel.has_refresh_token.set(False),
                ConnectionModel.refresh_due_at.remove(),
                ConnectionModel.token_version.set(ConnectionModel.token_version + 1),
            ]
        try:
            row.update(
                actions=actions,
                condition=ConnectionModel.token_version == only_version if only_version is not None else None,
            )
        except UpdateError as exc:
            if only_version is not None and _conditional_failed(exc):
                return False
            raise
        return True

    def mark_down(self, used: ConnectionModel, *, message: str) -> bool:
        """Connection Down: the provider refused ``used`` (the connection a job's call was made
        with) although its token was fresh. Written only while the stored row is still that
        connection and connected, in one conditional write: an admin's reconnect in between
        (a new connection id) is never overwritten. True when the failing connection is still the
        stored one (marked now, or already broken); False when a reconnect replaced it."""
        try:
            ConnectionModel(used.company_id, used.provider).update(
                actions=[
                    ConnectionModel.status.set(ConnectionStatus.CONNECTION_DOWN),
                    ConnectionModel.last_error_code.set("unauthorized"),
                    ConnectionModel.last_error_message.set(message),
                ],
                condition=(ConnectionModel.connection_id == used.connection_id)
                & (ConnectionModel.status == ConnectionStatus.CONNECTED),
            )
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
            stored = self.get(used.company_id, used.provider)
            return stored is not None and stored.connection_id == used.connection_id
        return True

    def record_refusal(self, company_id: str, provider: str, *, code: str, message: str) -> None:
        """A consent the provider refused (or whose accounts it lets none be connected): said on
        the integration's card (its reason) while the connection does not work. A connection that
        works (or waits for its organisation) is left alone; none yet: a Not Connected row is made
        to say it, holding no token or account."""
        said: list[Action] = [
            ConnectionModel.last_error_code.set(code),
            ConnectionModel.last_error_message.set(message),
        ]
        broken = (
            ConnectionStatus.DISCONNECTED,
            ConnectionStatus.NEEDS_RECONNECTION,
            ConnectionStatus.CONNECTION_DOWN,
        )
        try:
            ConnectionModel(company_id, provider).update(
                actions=said, condition=ConnectionModel.status.is_in(*broken)
            )
            return
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
        row = ConnectionModel(
            company_id,
            provider,
            connection_id=self.new_connection_id(),
            status=ConnectionStatus.DISCONNECTED,
            last_error_code=code,
            last_error_message=message,
        )
        try:
            row.save(condition=ConnectionModel.company_id.does_not_exist())
        except PutError as exc:
            if not _conditional_failed(exc):
                raise

    def disconnect(self, row: ConnectionModel, *, now: float) -> None:
        """Forget the tokens; keep settings, mappings and history so a reconnect picks up where it was."""
        row.update(
            actions=[
                ConnectionModel.status.set(ConnectionStatus.DISCONNECTED),
                ConnectionModel.token_key.remove(),
                ConnectionModel.token_nonce.remove(),
                ConnectionModel.token_ciphertext.remove(),
                # The webhook signing secret is a credential too: a reconnect is sent a new one.
                ConnectionModel.webhook_secret_key.remove(),
                ConnectionModel.webhook_secret_nonce.remove(),
                ConnectionModel.webhook_secret_ciphertext.remove(),
                ConnectionModel.webhook_secret_set_at.remove(),
                ConnectionModel.has_refresh_token.set(False),
                ConnectionModel.refresh_due_at.remove(),
                ConnectionModel.token_version.set(ConnectionModel.token_version + 1),
                ConnectionModel.last_error_code.set("disconnected"),
                ConnectionModel.last_error_message.set("Disconnected by an admin."),
            ]
        )

    def record_currencies(self, row: ConnectionModel, home: str, multicurrency: bool, now: float) -> None:
        """Cache the company's currencies on its connection (one attribute update: tokens untouched)."""
        try:
            row.update(
                actions=[
                    ConnectionModel.home_currency.set(home),
                    ConnectionModel.multicurrency.set(multicurrency),
                    ConnectionModel.currencies_read_at.set(int(now)),
                ],
                condition=ConnectionModel.company_id.exists(),
            )
        except (UpdateError, PutError) as exc:
            if not _conditional_failed(exc):
                raise

    def hold_until(self, company_id: str, provider: str, until: float, reason: str) -> None:
        """Park the connection's work until ``until`` (its daily limit is reached), saying why."""
        try:
            ConnectionModel(company_id, provider).update(
                actions=[ConnectionModel.held_until.set(until), ConnectionModel.held_reason.set(reason)],
                condition=ConnectionModel.company_id.exists(),
            )
        except (UpdateError, PutError) as exc:
            if not _conditional_failed(exc):
                raise

    def record_sync(self, company_id: str, provider: str, now: float) -> None:
        try:
            ConnectionModel(company_id, provider).update(
                actions=[ConnectionModel.last_sync_at.set(int(now))],
                condition=ConnectionModel.company_id.exists(),
            )
        except (UpdateError, PutError) as exc:
            if not _conditional_failed(exc):
                raise
