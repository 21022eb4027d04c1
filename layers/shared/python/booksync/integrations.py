"""Connecting, status and sync state: what the seeds' Integrations screens show and do."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from booksync.account_mapping import payment_account_state
from booksync.documents import DocumentKind, InvoiceStatus
from booksync.errors import (
    AccountTaken,
    BooksyncError,
    ConsentNotYours,
    FieldProblem,
    InvalidRequest,
    NoBooksConnected,
    NotConnectable,
    NotFoundError,
)
from booksync.keys import KEY_MAX_CHARS, fits_key
from booksync.providers.declaration import Capability
from booksync.providers.oauth_common import code_challenge, new_code_verifier
from booksync.providers.port import OAuthClient, Organisation, TokenSet
from booksync.providers.profile import profile, provider_label
from booksync.providers.registry import REGISTRY, declaration
from booksync.providers.text import line
from booksync.security.vault import PlainTokens, SealedTokens, TokenCipher, TokenContext
from booksync.store.connections import (
    ConnectionRepository,
    ConnectionStatus,
    TokenTimes,
    accounting_rows,
    held,
    organisation_not_chosen,
    provider_ids,
    sealed_tokens,
    several_books,
    token_context,
)
from booksync.store.documents import DELETED, DocumentRepository
from booksync.store.models import (
    ConnectionModel,
    DocumentModel,
    LinkMap,
    OAuthStateModel,
    link_parts,
    settings_dict,
)
from booksync.store.notifications import NotificationRepository
from booksync.store.oauth_states import OAuthStateRepository

logger = logging.getLogger(__name__)
STATE_TTL_SECONDS = 600
STATUS_LABELS = {
    ConnectionStatus.CONNECTED: "Connected",
    ConnectionStatus.NEEDS_RECONNECTION: "Needs Reconnection",
    ConnectionStatus.CONNECTION_DOWN: "Connection Down",
    ConnectionStatus.DISCONNECTED: "Not Connected",
    ConnectionStatus.CHOOSE_ORGANISATION: "Choose Organisation",
}


@dataclass(frozen=True)
class Connected:
    company_id: str
    provider: str
    account_id: str | None
    # No connection row existed before: the company's first connection to this provider.
    first: bool = False
    # choose_organisation: the consent granted several organisations (``organisations``, each
    # {"id", "name"}); nothing is claimed or synced until an admin picks one.
    status: str = ConnectionStatus.CONNECTED
    organisations: tuple[dict[str, str | None], ...] = ()


# The payout deposit settings whose account ids are checked against the chart (account_mapping).
DEPOSIT_ACCOUNT_SETTINGS = frozenset(
    {
        "deposit_bank_account_id",
        "merchant_fees_account_id",
        "tips_account_id",
        "refunds_account_id",
        "adjustments_account_id",
        "payout_fees_account_id",
        "refunds_from_account_id",  # not a deposit's, but checked the same way (account_mapping)
    }
)


class OAuthStates(Protocol):
    """Where a started connection's state waits for the provider's redirect, and is spent once
    (``store.oauth_states.OAuthStateRepository``; an in-memory one in tests/fakes/store.py)."""

    def create(self, row: OAuthStateModel) -> None: ...

    def get(self, state: str) -> OAuthStateModel | None: ...

    def seal_code(
        self, row: OAuthStateModel, *, consent_hash: str, sealed: SealedTokens, account_id: str | None
    ) -> bool: ...

    def spend(self, row: OAuthStateModel, *, consent_hash: str | None = None) -> bool: ...


class Integrations:
    def __init__(
        self,
        *,
        connections: ConnectionRepository,
        documents: DocumentRepository,
        cipher: TokenCipher,
        oauth_for: Callable[[str], OAuthClient],
        redirect_uri_for: Callable[[str], str],
        clock: Callable[[], float] = time.time,
        keepalive_every_seconds: float = 86_400.0,
        notifications: NotificationRepository | None = None,
        on_connected: Sequence[Callable[[Connected], object]] = (),
        income_account_check: Callable[[str, str, str], object] | None = None,
        # (company, provider, setting, account id): raises when payout deposits cannot use it.
        deposit_account_check: Callable[[str, str, str, str], object] | None = None,
        # (company, provider, account id): checks and saves the account payments go into, and
        # resumes the payments that waited for it (AccountMapping.set_payment_account).
        payment_account_set: Callable[[str, str, str], object] | None = None,
        on_payments_connected: Sequence[Callable[[Connected], object]] = (),
        states: OAuthStates | None = None,
        on_disconnecting: Sequence[Callable[[ConnectionModel], object]] = (),
    ) -> None:
        # Run before a connection's grant is revoked, while its tokens still work (e.g. delete
        # the webhooks registered through the provider's API for it).
        self._on_disconnecting = tuple(on_disconnecting)
        self._states: OAuthStates = states or OAuthStateRepository()  # the connect flow's one-time states
        # Run after a payment processor (Square) connects, e.g. record its locations.
        self._on_payments_connected = tuple(on_payments_connected)
        # (company, provider, account id): raises when items cannot post to that account.
        self._income_account_check = income_account_check
        self._deposit_account_check = deposit_account_check
        self._payment_account_set = payment_account_set
        self._notifications = notifications
        # Run after every successful (re)connection, e.g. resume the work parked while it was down.
        self._on_connected = tuple(on_connected)
        self._connections = connections
        self._docs = documents
        self._cipher = cipher
        self._oauth_for = oauth_for
        self._redirect_uri_for = redirect_uri_for
        self._clock = clock
        self._keepalive = keepalive_every_seconds

    # -- connect ----------------------------------------------------------------------------------
    def start_connect(self, *, company_id: str, user_id: str, provider: str) -> str:
        """The consent URL with a one-time state; bad credentials fail here, before any redirect.
        A PKCE client also gets a code challenge, whose verifier waits in the state row."""
        _require_supported(provider)
        oauth = self._oauth_for(provider)  # raises ConfigurationError on empty/placeholder credentials
        state = secrets.token_urlsafe(32)
        redirect_uri = self._redirect_uri_for(provider)
        verifier = new_code_verifier() if oauth.uses_pkce else None
        self._states.create(
            OAuthStateModel(
                state,
                company_id=company_id,
                provider=provider,
                user_id=user_id,
                redirect_uri=redirect_uri,
                code_verifier=verifier,
                ttl=int(self._clock() + STATE_TTL_SECONDS),
            )
        )
        return oauth.authorization_url(
            state=state,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge(verifier) if verifier is not None else None,
        )

    def accept_callback(
        self,
        *,
        provider: str,
        state: str | None,
        code: str | None,
        account_id: str | None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> str:
        """The provider's redirect, in whichever browser finishes the consent: nothing is connected
        yet. The code waits (KMS-sealed) on the state's row, and the answer is a one-time consent
        token that only this browser gets; ``confirm_connect`` redeems it for the user who started
        the connection, so a consent link sent to someone else connects nothing."""
        _require_supported(provider)
        if not state:
            raise InvalidRequest(
                "The callback has no state.", fix="Start the connection again from Settings > Integrations."
            )
        if not fits_key(state) or (account_id is not None and not fits_key(account_id)):
            # Both become keys (the state's row, the account's connections): neither is read.
            raise InvalidRequest(
                "This callback's state or realmId is not one a connection link carries "
                f"(over {KEY_MAX_CHARS} characters).",
                fix="Start the connection again from Settings > Integrations.",
            )
        pending = self._pending_state(state, provider)
        if error:
            self._spend(pending)
            # A provider that lets only some accounts be connected (Wave: paid plans, USD or CAD)
            # may refuse the consent for that: its card says what the account must be.
            requirements = profile(provider).connect_requirements
            # The provider's own words for it, from the browser's URL: one bounded line.
            said = line(error_description, 300) if requirements else None
            refused = InvalidRequest(
                f"{provider_label(provider) if requirements else provider} did not grant access "
                f"({error}{f': {said}' if said else ''})." + (f" {requirements}" if requirements else ""),
                fix="Start the connection again and choose Connect on the provider's consent screen"
                + (", for an account that meets them." if requirements else "."),
            )
            if requirements:
                self._connections.record_refusal(
                    pending.company_id,
                    provider,
                    code="consent_refused",
                    message=f"{refused.message} {refused.fix}",
                )
            raise refused
        if not code:
            raise InvalidRequest("The callback has no authorization code.", fix="Start the connection again.")
        named = declaration(provider).account_on_redirect
        if named is not None and not account_id:
            raise InvalidRequest(
                f"{provider_label(provider)} did not say which {named} was connected.",
                fix="Start the connection again.",
            )
        secret = secrets.token_urlsafe(32)
        sealed = self._cipher.seal(PlainTokens(code, None), _code_context(pending))
        # QuickBooks names the realm on the redirect, Square with the tokens.
        if not self._states.seal_code(
            pending, consent_hash=_digest(secret), sealed=sealed, account_id=account_id
        ):
            raise _used()
        return f"{state}.{secret}"

    def confirm_connect(self, *, company_id: str, user_id: str, provider: str, consent: str) -> Connected:
        """Connect with the consent ``accept_callback`` answered, for the user and company that
        started the connection only (the business's app sends its signed-in user's token). The
        consent is spent whoever sends it: one that another account sends connects nothing, ever."""
        _require_supported(provider)
        state, _, secret = consent.partition(".")
        if not (fits_key(state) and secret and len(secret) <= KEY_MAX_CHARS):
            raise _used()
        pending = self._pending_state(state, provider)
        given = _digest(secret)
        if pending.consent_hash is None or not hmac.compare_digest(pending.consent_hash, given):
            raise _used()
        self._spend(pending, consent_hash=given)
        if (pending.company_id, pending.user_id) != (company_id, user_id):
            logger.warning("consent confirmed by another account", extra={"provider": provider})
            raise ConsentNotYours(
                "This connection was started by another account, so nothing was connected: a "
                f"{provider_label(provider)} consent connects only the company and user "
                "that started it, whoever's browser gives it.",
                fix="Start the connection again from your own account (Settings > Integrations > Connect) "
                "and approve it in the same browser.",
            )
        code = self._cipher.open(_sealed_code(pending), _code_context(pending)).access_token
        return self._connect(pending, provider, code, pending.account_id)

    def _connect(
        self, pending: OAuthStateModel, provider: str, code: str, account_id: str | None
    ) -> Connected:
        oauth = self._oauth_for(provider)
        tokens = oauth.exchange_code(
            code=code, redirect_uri=pending.redirect_uri, code_verifier=pending.code_verifier
        )
        account = account_id or tokens.account_id
        if account is not None:
            # Claimed once the grant is shown to be the account's (a realmId comes on the
            # browser's redirect: one call bound to it confirms it; Square's merchant_id comes
            # with the tokens). A refused grant is not revoked: revoking it would end the
            # owner's grant for the same app.
            if not fits_key(account):
                raise _no_account(provider)
            if not oauth.owns_account(tokens, account):
                raise _not_granted(provider, account)
            tokens = replace(tokens, account_id=account)
        try:
            listed = oauth.list_organisations(tokens)
        except NotConnectable as exc:  # its card says why, and what to do
            self._connections.record_refusal(
                pending.company_id, provider, code=exc.code, message=f"{exc.message} {exc.fix}"
            )
            raise
        # Ids that cannot be keys are no organisation booksync can keep.
        granted = [o for o in listed if fits_key(o.id)]
        if not granted:
            raise _no_account(provider)
        if len(granted) > 1 and not declaration(provider).supports(Capability.ORGANISATION_CHOICE):
            raise InvalidRequest(
                f"{provider_label(provider)} granted {len(granted)} accounts for one consent, but booksync "
                "connects one account per consent there, so nothing was connected.",
                fix="Start the connection again and choose one account on the consent screen.",
            )
        previous = self._connections.get(pending.company_id, provider)
        chosen = granted[0] if len(granted) == 1 else _kept_choice(previous, granted)
        if chosen is not None:
            self._claim(provider, chosen.id, pending.company_id)
        connection_id = self._connections.new_connection_id()
        context = TokenContext(company_id=pending.company_id, provider=provider, connection_id=connection_id)
        sealed = self._cipher.seal(PlainTokens(tokens.access_token, tokens.refresh_token), context)
        self._connections.store_connection(
            company_id=pending.company_id,
            provider=provider,
            connection_id=connection_id,
            account_id=chosen.id if chosen is not None else None,
            account_ids=chosen.ids if chosen is not None else None,
            choices=None if chosen is not None else [_choice(o) for o in granted],
            sealed=sealed,
            times=_token_times(tokens),
            has_refresh_token=bool(tokens.refresh_token),
            connected_by=pending.user_id,
            now=self._clock(),
            refresh_every=self._keepalive,
        )
        first = previous is None or (chosen is None and previous.account_id is None)
        if chosen is None:
            # Several organisations: the tokens wait here, nothing is claimed or synced yet.
            return Connected(
                company_id=pending.company_id,
                provider=provider,
                account_id=None,
                first=first,
                status=ConnectionStatus.CHOOSE_ORGANISATION,
                organisations=tuple(_public(o) for o in (_choice(g) for g in granted)),
            )
        return self._connected(
            pending.company_id, provider, chosen.id, previous.account_id if previous else None, first=first
        )

    def _connected(
        self, company_id: str, provider: str, account: str, previous: str | None, *, first: bool
    ) -> Connected:
        """The connection works with ``account`` (after a consent, or an admin's choice of
        organisation): the account it left is freed, reconnect notices end, the hooks run."""
        if previous and previous != account:
            # Reconnected to another account: the one it left is free for another company.
            self._connections.release_account(provider, previous, company_id)
        if self._notifications is not None:
            # The connection works again: its "reconnect" notifications are over.
            for kind in ("needs_reconnection", "connection_down"):
                self._notifications.resolve(company_id, f"{provider}:{kind}", self._clock())
        connected = Connected(company_id=company_id, provider=provider, account_id=account, first=first)
        # A payment processor is never the company's books: no catalog, no parked invoices, no
        # account mapping or drift (the on_connected hooks are for accounting systems).
        payments = declaration(provider).kind == "payments"
        hooks = self._on_payments_connected if payments else self._on_connected
        for hook in hooks:
            try:
                hook(connected)
            except Exception:  # the connection is stored; each hook redoes or says what it did not
                logger.exception("after-connect step failed", extra={"provider": provider})
        return connected

    def choose_organisation(self, *, company_id: str, provider: str, organisation_id: str) -> dict[str, Any]:
        """An admin picks the organisation a consent for several is to connect: it is claimed as
        a consent's one account is (one booksync company each), then the connection works and
        the wizard and first sync start, as after a consent for one."""
        _require_supported(provider)
        name = provider_label(provider)
        row = self._connections.get(company_id, provider)
        if row is None or row.status != ConnectionStatus.CHOOSE_ORGANISATION:
            status = STATUS_LABELS[row.status if row is not None else ConnectionStatus.DISCONNECTED]
            raise InvalidRequest(
                f"{name} has no organisation waiting to be chosen (it is {status}): an organisation "
                "is chosen after a consent that granted several.",
                fix=f"Connect {name} (POST /integrations/{provider}/connect); if its consent grants "
                "several organisations, choose one here then.",
            )
        choices = [dict(c) for c in row.organisations or []]
        chosen = next((c for c in choices if c.get("id") == organisation_id), None)
        if chosen is None:
            named = "; ".join(f"{c.get('name') or c['id']} ({c['id']})" for c in choices)
            raise InvalidRequest(
                f"{organisation_id!r} is not one of the organisations this {name} consent granted: {named}.",
                fix="Send one of their ids as organisation_id: "
                + ", ".join(str(c["id"]) for c in choices)
                + ".",
            )
        account = str(chosen["id"])
        previous = row.account_id
        self._claim(provider, account, company_id)
        ids = {str(k): str(v) for k, v in dict(chosen.get("ids") or {}).items()}
        if not self._connections.choose_organisation(row, account_id=account, account_ids=ids):
            if account != previous:  # the row moved on (a newer consent): the claim is not its
                self._connections.release_account(provider, account, company_id)
            raise InvalidRequest(
                f"The {name} connection changed while the organisation was being chosen.",
                fix=f"Read GET /integrations/{provider} again and choose from what it lists now.",
            )
        self._connected(company_id, provider, account, previous, first=previous is None)
        return self.describe(company_id, provider)

    def _claim(self, provider: str, account_id: str, company_id: str) -> None:
        if self._connections.claim_account(provider, account_id, company_id, now=self._clock()) is None:
            return
        name = provider_label(provider)
        raise AccountTaken(
            f"This {name} account ({account_id}) is already connected to another booksync company, "
            "so it was not connected here: one account's books and webhooks belong to one company.",
            fix=f"Connect a different {name} account, or ask the admin of the company that connected "
            "it to disconnect it there first, then connect again.",
        )

    def _pending_state(self, state: str, provider: str) -> OAuthStateModel:
        """The state's row, unspent. One that came back to another provider's callback is refused
        before it is spent: its own callback can still use it."""
        row = self._states.get(state)
        if row is None:
            raise _used()
        if row.provider != provider:
            raise InvalidRequest(
                f"This connection link was started for {row.provider}, but it came back to the "
                f"{provider} callback.",
                fix=f"Check the redirect URI registered with {provider}: it must be booksync's "
                f"/oauth/{provider}/callback.",
            )
        if row.ttl < self._clock():
            raise InvalidRequest("This connection link has expired.", fix="Start the connection again.")
        return row

    def _spend(self, row: OAuthStateModel, consent_hash: str | None = None) -> None:
        """One-time: exactly one request uses a state."""
        if not self._states.spend(row, consent_hash=consent_hash):
            raise _used()

    def disconnect(self, *, company_id: str, provider: str) -> dict[str, Any]:
        """Revoke the grant at the provider and delete the tokens here. Nothing is deleted in the
        books; history, settings and links stay for a later reconnect."""
        _require_supported(provider)
        row = self._connections.get(company_id, provider)
        if row is None or row.status == ConnectionStatus.DISCONNECTED:
            raise NotFoundError(f"{provider_label(provider)} is not connected.", fix="Nothing to disconnect.")
        for hook in self._on_disconnecting:
            try:
                hook(row)
            except Exception:  # best effort, as the revocation: the disconnect goes on
                logger.exception("before-disconnect step failed", extra={"provider": provider})
        if self._on_disconnecting:
            # A hook's calls may have refreshed the tokens, spending the refresh token read
            # above (FreshBooks' are single use): revoke with the ones stored now.
            row = self._connections.get(company_id, provider) or row
        revoked = self._revoke(row)
        self._connections.disconnect(row, now=self._clock())
        if row.account_id:  # another company may connect this account now
            self._connections.release_account(provider, row.account_id, company_id)
        return {**self._card(company_id, provider), "revoked": revoked}

    def _revoke(self, row: ConnectionModel) -> bool:
        """Best effort: a grant the provider already dropped must not keep the user connected here."""
        sealed = sealed_tokens(row)
        if sealed is None:
            return False
        try:
            tokens = self._cipher.open(sealed, token_context(row))
            return self._oauth_for(row.provider).disconnect(
                access_token=tokens.access_token,
                refresh_token=tokens.refresh_token,
                ids=_granted_ids(row),
            )
        except BooksyncError as exc:
            logger.warning("token revocation failed; tokens deleted anyway", extra={"code": exc.code})
            return False

    # -- status and settings ---------------------------------------------------------------------
    def overview(self, company_id: str) -> list[dict[str, Any]]:
        rows = {row.provider: row for row in self._connections.list_for_company(company_id)}
        books = _books(rows.values())
        return [self._describe(provider, rows.get(provider), books) for provider in REGISTRY.names()]

    def describe(self, company_id: str, provider: str) -> dict[str, Any]:
        _require_supported(provider)
        rows = self._connections.list_for_company(company_id)
        row = next((r for r in rows if r.provider == provider), None)
        described = self._describe(provider, row, _books(rows))
        if declaration(provider).kind == "payments":
            return {**described, "locations": (row.locations or []) if row is not None else []}
        drifted = self._docs.drifted_counts(company_id, provider, DRIFT_CHANGES)
        return {**described, "drift": drift_summary(provider, drifted)}

    def _describe(self, provider: str, row: ConnectionModel | None, books: Sequence[str]) -> dict[str, Any]:
        """``books``: the company's accounting connections (not disconnected); with several, each
        says it waits, and why (``waiting_for``)."""
        status = row.status if row is not None else ConnectionStatus.DISCONNECTED
        actions = {
            ConnectionStatus.CONNECTED: ["manage", "disconnect"],
            ConnectionStatus.NEEDS_RECONNECTION: ["manage", "reconnect", "disconnect"],
            ConnectionStatus.CONNECTION_DOWN: ["manage", "reconnect", "disconnect"],
            ConnectionStatus.DISCONNECTED: ["connect"],
            ConnectionStatus.CHOOSE_ORGANISATION: ["choose_organisation", "disconnect"],
        }[status]
        settings = settings_dict(row) if row is not None else {}
        choices = (row.organisations or []) if row is not None else []
        choosing = status == ConnectionStatus.CHOOSE_ORGANISATION
        hold = (
            (row.held_until, row.held_reason)
            if row is not None and held(row, self._clock())
            else (None, None)
        )
        return {
            "provider": provider,
            "status": status,
            "status_label": STATUS_LABELS[status],
            "account_id": row.account_id if row is not None and not choosing else None,
            "account_ids": provider_ids(row) if row is not None and not choosing else {},
            # choose_organisation: what the consent granted, to pick one of
            # (POST /integrations/{provider}/organisation).
            "organisations": [_public(c) for c in choices] if choosing else [],
            # What its work waits for: an organisation to be chosen, or one of several accounting
            # connections to be disconnected (which keeps the books is not known until then).
            "waiting_for": _waiting(organisation_not_chosen(provider))
            if choosing
            else _held_books(provider, books),
            "connected_by": row.connected_by if row is not None else None,
            "connected_at": _iso(row.connected_at) if row is not None else None,
            "last_sync_at": _iso(row.last_sync_at) if row is not None else None,
            "needs_reconnection_reason": row.last_error_message
            if row is not None and status != "connected"
            else None,
            # The provider's daily request limit is reached: its work is parked until then, and why.
            "held_until": _iso(hold[0]),
            "held_reason": hold[1],
            # The account payments go into (books once connected); while they need one and none is
            # chosen, payments wait and ``waiting_for`` says what ends it (Account mapping).
            "payment_account": payment_account_state(provider, settings.get("payment_account_id"))
            if row is not None and declaration(provider).kind == "accounting"
            else None,
            "settings": settings,
            "actions": actions,
        }

    def update_settings(self, company_id: str, provider: str, changes: dict[str, Any]) -> dict[str, Any]:
        row = self._connections.get(company_id, provider)
        if row is None:
            raise NotFoundError(f"{provider_label(provider)} is not connected.", fix="Connect it first.")
        account_id = changes.get("default_income_account_id")
        if account_id and self._income_account_check is not None:
            self._income_account_check(company_id, provider, str(account_id))
        for setting, value in changes.items():
            if value and setting in DEPOSIT_ACCOUNT_SETTINGS and self._deposit_account_check is not None:
                self._deposit_account_check(company_id, provider, setting, str(value))
        payment_account = changes.pop("payment_account_id", None)
        if payment_account is not None:
            if self._payment_account_set is None:
                raise InvalidRequest(
                    "The account payments go into cannot be set here.",
                    fix=f"Use PUT /integrations/{provider}/account-mapping/payment-account.",
                )
            self._payment_account_set(company_id, provider, str(payment_account))
        if changes:
            # Only the settings: a full save could overwrite tokens a worker just refreshed.
            self._connections.update_settings(row, changes)
        return self._card(company_id, provider)

    def _card(self, company_id: str, provider: str) -> dict[str, Any]:
        """The provider's card as it stands, said with the company's other books in mind."""
        rows = self._connections.list_for_company(company_id)
        row = next((r for r in rows if r.provider == provider), None)
        return self._describe(provider, row, _books(rows))

    # -- sync state of documents -----------------------------------------------------------------
    def invoice_badges(self, company_id: str, provider: str, *, days: int = 7) -> list[dict[str, Any]]:
        connection = self._connections.get(company_id, provider)
        since = self._clock() - days * 86_400
        rows = sorted(self._docs.sent_since(company_id, since), key=lambda r: -(r.sent_at or 0))
        invoices = [row for row in rows if row.kind == DocumentKind.INVOICE.value]
        payments = self._dependents(company_id, invoices)
        return [self.sync_state(row, provider, connection, payments) for row in invoices]

    def document_state(
        self, company_id: str, kind: DocumentKind, doc_id: str, provider: str | None
    ) -> dict[str, Any]:
        """The document's sync state in ``provider``'s books (none: the company's accounting
        connection's; refused when none is connected, or several)."""
        row = self._docs.get(company_id, kind, doc_id)
        if row is None:
            raise NotFoundError(f"No {kind.value} {doc_id!r}.", fix="Check the id.")
        provider = self._connections.books_provider(company_id, provider)
        connection = self._connections.get(company_id, provider)
        return self.sync_state(row, provider, connection, self._dependents(company_id, [row]))

    def document_sync(
        self, company_id: str, kind: DocumentKind, doc_id: str, provider: str | None
    ) -> dict[str, Any] | None:
        """``document_state``, or None while no books are connected, or several and none named: the
        document reads without (its sync-status route says which to name)."""
        try:
            return self.document_state(company_id, kind, doc_id, provider)
        except NoBooksConnected:
            return None
        except FieldProblem:
            if provider:
                raise
            books = [str(r.provider) for r in self._connections.accounting_connections(company_id)]
            if len(books) < 2:
                raise
            return self._held(company_id, kind, doc_id, books)

    def _held(self, company_id: str, kind: DocumentKind, doc_id: str, books: list[str]) -> dict[str, Any]:
        """A document's state while several accounting systems are connected and none is named:
        it waits (nothing is synced to either automatically), saying which to disconnect or name."""
        row = self._docs.get(company_id, kind, doc_id)
        if row is None:
            raise NotFoundError(f"No {kind.value} {doc_id!r}.", fix="Check the id.")
        draft = row.kind == DocumentKind.INVOICE.value and row.status == InvoiceStatus.DRAFT
        reason = several_books(books, f"this {row.kind}")
        return {
            "id": row.doc_id,
            "kind": row.kind,
            "status": row.status,
            "badge": None if draft else "Blocked",
            "remote_id": None,
            "remote_parts": None,
            "synced_at": None,
            "pending": bool(row.pending_bucket),
            "drift": None,
            "remote_name": None,
            "note": None,
            "error": None if draft else {"code": reason.code, "message": reason.message, "fix": reason.fix},
        }

    def _dependents(self, company_id: str, rows: Sequence[DocumentModel]) -> dict[str, list[DocumentModel]]:
        """The payments of each invoice among ``rows`` and those payments' refunds (two batch reads)."""
        invoices = [row for row in rows if row.kind == DocumentKind.INVOICE.value]
        payments = self._docs.get_many(
            company_id, DocumentKind.PAYMENT, [p for row in invoices for p in sorted(row.payment_ids or ())]
        )
        refunds = self._docs.get_many(
            company_id,
            DocumentKind.REFUND,
            [r for p in payments.values() for r in sorted(p.refund_ids or ())],
        )
        found: dict[str, list[DocumentModel]] = {}
        for row in invoices:
            paid = [payments[p] for p in sorted(row.payment_ids or ()) if p in payments]
            given_back = [refunds[r] for p in paid for r in sorted(p.refund_ids or ()) if r in refunds]
            found[row.doc_id] = paid + given_back
        return found

    @staticmethod
    def sync_state(
        row: DocumentModel,
        provider: str,
        connection: ConnectionModel | None,
        dependents: dict[str, list[DocumentModel]] | None = None,
    ) -> dict[str, Any]:
        """A document's badge and state; an invoice's also reflects its payments' and refunds'
        (``dependents``): one that failed makes it Failed, one not in the books yet Out of Date."""
        link = row.link(provider)
        blocked = connection is None or connection.status != ConnectionStatus.CONNECTED
        badge = _badge(
            row,
            link.remote_id if link else None,
            link.pushed_hash if link else None,
            link.outcome if link else None,
            blocked,
        )
        error = (
            {"code": link.error_code, "message": link.error_message, "fix": link.error_fix}
            if link is not None and link.error_message and badge in ("Failed", "Blocked", "Not Supported")
            else None
        )
        choosing = connection is not None and connection.status == ConnectionStatus.CHOOSE_ORGANISATION
        if badge == "Blocked" and choosing:
            # Not this document's fault: it waits for an admin's choice of organisation.
            waiting = organisation_not_chosen(provider, f"this {row.kind}")
            error = {"code": waiting.code, "message": waiting.message, "fix": waiting.fix}
        if badge in ("Synced", "Out of Date"):
            badge, error = _worst_dependent(badge, (dependents or {}).get(row.doc_id, []), provider) or (
                badge,
                error,
            )
        return {
            "id": row.doc_id,
            "kind": row.kind,
            "status": row.status,
            "badge": badge,
            "remote_id": link.remote_id if link else None,
            # A document recorded as several remote objects (a payment split per invoice): each
            # one in the books, by part (local invoice id -> remote id); null for one object.
            "remote_parts": link_parts(link) or None,
            "synced_at": _iso(link.synced_at) if link and link.synced_at else None,
            "pending": bool(row.pending_bucket),
            "drift": _drift(link, provider),
            # Customers and items: the provider's name for it when not its own, and why.
            "remote_name": link.remote_name if link else None,
            "note": link.note if link else None,
            "error": error,
        }


def _worst_dependent(
    badge: str, rows: Sequence[DocumentModel], provider: str
) -> tuple[str, dict[str, Any] | None] | None:
    """What an invoice's payments and refunds make of its badge: the first one that failed (and was
    not changed since: pending again, it waits for its next sync) makes it Failed with that one's
    error, one waiting for an admin's setting (the account payments go into) makes it Out of Date
    with why, one not in the books as it stands makes a Synced one Out of Date."""
    for row in rows:
        link = row.link(provider)
        if link is not None and link.outcome == "failed" and not row.pending_bucket:
            return "Failed", _dependent_error(row, link)
    for row in rows:
        link = row.link(provider)
        if link is not None and link.outcome == "blocked" and link.error_message:  # waits for a setting
            return "Out of Date", _dependent_error(row, link)
    behind = any(
        (link := row.link(provider)) is None
        or link.pushed_hash != row.content_hash
        or (not link.remote_id and bool(link_parts(link)))  # only some of its parts in the books
        for row in rows
    )
    return ("Out of Date", None) if behind and badge == "Synced" else None


def _dependent_error(row: DocumentModel, link: LinkMap) -> dict[str, Any]:
    return {
        "code": link.error_code,
        "message": f"{row.kind.capitalize()} {row.doc_id}: {link.error_message}",
        "fix": link.error_fix,
    }


DRIFT_CHANGES = ("Update", "Void")


def _drift(link: LinkMap | None, provider: str) -> dict[str, Any] | None:
    """A change someone made in the provider since booksync's last push, in plain words."""
    change = link.remote_change if link is not None else None
    if change not in DRIFT_CHANGES or link is None:
        return None
    name = provider_label(provider)
    when = f" ({link.remote_change_at})" if link.remote_change_at else ""
    message = (
        f"Voided in {name}{when}, but not in your app. booksync does not copy changes back."
        if change == "Void"
        else f"Changed in {name}{when} after booksync sent it. booksync does not copy changes back; "
        f"your app's version is sent again on its next edit."
    )
    fix = (
        "Void it in your app too, so both agree; booksync never un-voids it."
        if change == "Void"
        else f"Make the change in your app instead, then sync; edits made in {name} are overwritten."
    )
    return {"change": change, "at": link.remote_change_at or None, "message": message, "fix": fix}


def drift_summary(provider: str, by_kind: dict[str, int]) -> dict[str, Any]:
    """For the integration detail page: how many documents were changed in the provider."""
    count = sum(by_kind.values())
    name = provider_label(provider)
    message = (
        f"{count} document{'s were' if count != 1 else ' was'} changed or voided in {name} "
        "after booksync sent them. booksync does not copy changes back."
        if count
        else f"Nothing was changed in {name} behind booksync's back."
    )
    return {"count": count, "by_kind": by_kind, "message": message}


def _badge(
    row: DocumentModel, remote_id: str | None, pushed: str | None, outcome: str | None, blocked: bool
) -> str | None:
    if row.kind == DocumentKind.INVOICE.value and row.status == InvoiceStatus.DRAFT:
        return None
    if row.status == DELETED:
        return "Deleted" if remote_id is None or outcome == "deleted" else "Out of Date"
    in_sync = remote_id is not None and pushed == row.content_hash and outcome == "synced"
    if in_sync:
        return "Synced"
    if outcome == "not_supported" and pushed == row.content_hash:
        return "Not Supported"  # the provider cannot take it as it stands (its declaration says so)
    if blocked or outcome == "blocked":
        return "Blocked"
    if outcome == "failed":
        return "Failed"
    if remote_id is not None:
        return "Out of Date"
    return "Not Synced"


def _require_supported(provider: str) -> None:
    declaration(provider)  # an unknown provider is refused, naming those booksync knows


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(float(epoch), UTC).isoformat().replace("+00:00", "Z")


def _used() -> InvalidRequest:
    return InvalidRequest(
        "This connection link was already used or is unknown.",
        fix="Start the connection again from Settings > Integrations.",
    )


def _no_account(provider: str) -> InvalidRequest:
    return InvalidRequest(
        f"{provider_label(provider)} did not say which account was connected.",
        fix="Start the connection again.",
    )


def _kept_choice(previous: ConnectionModel | None, granted: Sequence[Organisation]) -> Organisation | None:
    """A reconnection keeps the organisation an admin chose when its consent still grants it
    (with the ids Xero answers now); else, or after a disconnect, the admin chooses again."""
    if previous is None or previous.status == ConnectionStatus.DISCONNECTED or not previous.account_id:
        return None
    return next((org for org in granted if org.id == previous.account_id), None)


def _choice(organisation: Organisation) -> dict[str, Any]:
    """An organisation as the connection keeps it while one is chosen (names and ids only)."""
    return {"id": organisation.id, "name": organisation.name, "ids": dict(organisation.ids)}


def _public(choice: dict[str, Any]) -> dict[str, str | None]:
    return {"id": str(choice["id"]), "name": choice.get("name")}


def _granted_ids(row: ConnectionModel) -> dict[str, str]:
    """The provider's ids of the connected organisation; none while one is being chosen (the
    grant alone is given up then: revoking it ends what it covers)."""
    return {} if row.status == ConnectionStatus.CHOOSE_ORGANISATION else provider_ids(row)


def _books(rows: Iterable[ConnectionModel]) -> list[str]:
    """The accounting connections among ``rows`` (not disconnected), by provider name."""
    return [str(r.provider) for r in accounting_rows(rows)]


def _held_books(provider: str, books: Sequence[str]) -> str | None:
    """Why ``provider``'s work waits while it is one of several accounting connections."""
    return _waiting(several_books(books, "every invoice")) if provider in books and len(books) > 1 else None


def _waiting(reason: BooksyncError) -> str:
    return f"{reason.message} {reason.fix}"


def _token_times(tokens: TokenSet) -> TokenTimes:
    return TokenTimes(
        access_expires_at=tokens.access_expires_at.timestamp(),
        refresh_expires_at=tokens.refresh_expires_at.timestamp() if tokens.refresh_expires_at else None,
    )


def _not_granted(provider: str, account_id: str) -> InvalidRequest:
    name = provider_label(provider)
    return InvalidRequest(
        f"{name} says this authorization was not given for the account the callback names "
        f"({account_id}), so nothing was connected: the callback's address was changed on its way.",
        fix=f"Start the connection again from Settings > Integrations and choose the account on {name}'s "
        f"consent screen; the address {name} redirects to must reach booksync unchanged.",
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _code_context(row: OAuthStateModel) -> TokenContext:
    """The code waiting for its confirmation is sealed like tokens, bound to its state's row."""
    state_id = hashlib.sha256(str(row.state).encode()).hexdigest()[:32]
    return TokenContext(company_id=row.company_id, provider=row.provider, connection_id=f"consent-{state_id}")


def _sealed_code(row: OAuthStateModel) -> SealedTokens:
    if row.code_key is None or row.code_nonce is None or row.code_ciphertext is None:
        raise _used()
    return SealedTokens(encrypted_key=row.code_key, nonce=row.code_nonce, ciphertext=row.code_ciphertext)
