"""Typed errors: the class of an error decides what happens next (design.md, rule 5).

Messages never carry a token, secret or signature. Every error that a person must act on
carries ``fix``: what to do, in words a bookkeeper understands.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


class BooksyncError(Exception):
    """Base of every error booksync raises on purpose."""

    code = "booksync_error"

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class ConfigurationError(BooksyncError):
    """A setting is missing or unusable; raised at cold start, naming the variable."""

    code = "configuration_error"


class NotFoundError(BooksyncError):
    code = "not_found"


class InvalidRequest(BooksyncError):
    code = "invalid_request"


class NoBooksConnected(InvalidRequest):
    """A request about the company's books (a sync, a sync state) while no accounting system is
    connected, and none named."""

    code = "no_accounting_connection"


class SeveralBooks(BooksyncError):
    """Several accounting systems are connected: which keeps the company's books is not known, so
    nothing is synced to either automatically (a request may still name one)."""

    code = "several_accounting_connections"


@dataclass(frozen=True)
class FieldError:
    """One field's problem, as a problem document's errors list it: the field's path (lines[2].item_id;
    body for the body as a whole), what is wrong with the form expected, and what to send instead."""

    field: str
    message: str
    fix: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


class FieldProblem(InvalidRequest):
    """A request refused for one of its fields by a check that runs once the body parsed (the
    door's own: a payment over the open balance, an unknown invoice, a number in use...)."""

    def __init__(self, field: str, message: str, fix: str) -> None:
        super().__init__(f"{field}: {message}", fix=fix)
        self.field = field
        self.reason = message  # the field's own message (the detail above names the field too)

    @property
    def error(self) -> FieldError:
        return FieldError(self.field, self.reason, self.fix or None)


class AccountTaken(BooksyncError):
    """The provider account (QuickBooks company, Square seller) is connected to another booksync
    company: one account belongs to one company, or webhooks would act for both."""

    code = "account_connected_elsewhere"


class ConsentNotYours(BooksyncError):
    """A provider consent was confirmed by another user or company than the one that started the
    connection (e.g. a consent link sent to someone else): nothing is connected."""

    code = "consent_not_yours"


class ConcurrentChange(BooksyncError):
    """Other requests kept changing what this one was checked against (e.g. refunds of the same
    payment): nothing was saved; sending the same request again is safe."""

    code = "concurrent_change"


class AlreadyExists(FieldProblem):
    """Another document already holds what must be unique (an invoice number): nothing was saved."""

    code = "already_exists"


class ProviderError(BooksyncError):
    """The accounting provider (or Square) refused or failed a call."""

    code = "provider_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        fix: str = "",
        provider_code: str | None = None,
        detail: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, fix=fix)
        self.provider = provider
        self.provider_code = provider_code
        self.detail = detail
        self.status = status


class NeedsReconnection(ProviderError):
    """The grant is gone (invalid_grant, revoked): only the user can fix it by reconnecting."""

    code = "needs_reconnection"


class OrganisationNotChosen(NeedsReconnection):
    """The consent granted several organisations and an admin has not chosen one yet: work waits
    (parked, as for a reconnection) and resumes once one is chosen."""

    code = "choose_organisation"


class NotConnectable(ProviderError):
    """The consent reached the provider's accounts, and the provider lets none of them be
    connected to an app (Wave: a business on its free plan, or in a currency it does not serve):
    nothing is connected, and the integration's card says why and what to do."""

    code = "not_connectable"


class ConnectionDown(ProviderError):
    """The provider refuses a freshly refreshed token (401): the connection is unusable."""

    code = "connection_down"


class RateLimited(ProviderError):
    """Throttled: wait ``retry_after`` seconds, then try again."""

    code = "rate_limited"
    retryable = True

    def __init__(self, message: str, *, provider: str, retry_after: float, **kw: object) -> None:
        super().__init__(message, provider=provider, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class DailyLimitReached(RateLimited):
    """The provider's requests for the day are spent for this connection: the work is parked (not
    retried) until ``resume_at``, the start of the provider's next day, and says so."""

    code = "daily_limit_reached"

    def __init__(self, message: str, *, provider: str, resume_at: float, now: float, **kw: object) -> None:
        super().__init__(message, provider=provider, retry_after=max(1.0, resume_at - now), **kw)
        self.resume_at = resume_at


class TransientError(ProviderError):
    """5xx, timeout, reset: safe to retry, but a write may have happened (see ``uncertain``)."""

    code = "transient"
    retryable = True

    def __init__(self, message: str, *, provider: str, uncertain: bool = False, **kw: object) -> None:
        super().__init__(message, provider=provider, **kw)  # type: ignore[arg-type]
        self.uncertain = uncertain


class WriteInProgress(TransientError):
    """Another worker holds this write's claim right now: try again soon if it took the claim a
    moment ago (it is most likely alive and about to finish), else once its lease has run out (it
    may have died, and keeps the claim that long)."""

    code = "write_in_progress"

    # A holder that took the claim less than this ago is most likely alive and about to finish
    # (two invoices' jobs writing the payment that covers both): its rival retries this soon, and
    # never sooner whoever holds it.
    RECENT_HOLD_SECONDS = 5.0
    # A claim is free only once its lease has ended, so a wait for a holder that may have died
    # goes just past it: a dead holder then costs its rivals two refused receives at most, well under the
    # dead-letter queue's 5 (which faults share), and a live one that took the claim moments ago
    # costs a retry after ``RECENT_HOLD_SECONDS``.
    _PAST_LEASE = 1.0

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        held_for: float = 0.0,
        lease_left: float = 0.0,
    ) -> None:
        super().__init__(message, provider=provider)
        recent = self.RECENT_HOLD_SECONDS
        self.retry_after = max(recent, lease_left + self._PAST_LEASE) if held_for >= recent else recent


class Rejected(ProviderError):
    """The provider refused the data: a person must act. Keep the provider's message."""

    code = "rejected"


class CurrencyNotBookable(ProviderError):
    """The books cannot hold the document's currency (a single-currency company, a customer kept
    in another currency): the document is held, shown Blocked with the reason, until a person acts.
    Never sent: it would be booked as if it were in the company's (or customer's) currency."""

    code = "currency_not_bookable"


class PaymentAccountNotChosen(BooksyncError):
    """A payment for books that need the account it goes into (their declaration's
    ``payment_account_required``) while none is chosen: it waits, said on it and on the
    integration's card, and resumes by itself once an admin chooses one."""

    code = "payment_account_not_chosen"


class DuplicateName(Rejected):
    """The name is taken in the provider (QuickBooks 6240): look the object up and link it."""

    code = "duplicate_name"


class Conflict(ProviderError):
    """Stale version (QuickBooks 5010 SyncToken): re-read and retry."""

    code = "conflict"
    retryable = True


class RemoteNotFound(ProviderError):
    """The linked object no longer exists in the provider (deleted or merged there)."""

    code = "remote_not_found"


def error_code(exc: BooksyncError) -> str:
    """The code history and sync records keep: booksync's, then the provider's own (``rejected:6240``)."""
    if isinstance(exc, ProviderError) and exc.provider_code:
        return f"{exc.code}:{exc.provider_code}"
    return exc.code


def error_entry(document: str, exc: BooksyncError) -> dict[str, str | None]:
    """One error of a run's history: the document, its code, what happened and what to do."""
    return {"document": document, "code": error_code(exc), "message": exc.message, "fix": exc.fix or None}
