"""What a provider package declares once, and everything outside the package reads.

A provider is one ``ProviderDeclaration`` (``providers/<name>/declaration.py``), listed in
``providers/registry.py``: its name and label, its kind (accounting books, or a payments
processor), what it can do (``Capability``), what it allows (``Limits``), where its settings
come from, and the builders of its parts (OAuth client, adapter, catalog writer, directory,
webhook receiver and consumer).
The registry, the wiring, the connect flow, the job types, the keep-alive and the sync engines
ask the declaration instead of naming a provider; what a provider cannot do is said to people as
"<what> is not supported by <label>" (``not_supported``), never tried and failed.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from booksync.documents import DocumentKind
from booksync.errors import PaymentAccountNotChosen, ProviderError, Rejected
from booksync.providers.profile import ProviderProfile

if TYPE_CHECKING:
    from booksync.providers.bulk import CatalogProvider, Gate
    from booksync.providers.port import AccountingProvider, OAuthClient, ProviderDirectory, TokenSource
    from booksync.store.connections import ConnectionRepository
    from booksync.store.models import ConnectionModel
    from booksync.store.runs import RunRepository
    from booksync.store.webhook_events import WebhookEventRepository
    from booksync.sync.rate_limits import RequestGate
    from booksync.webhooks.receiver import Inbox, SecretLookup, WebhookReceiver
    from booksync.webhooks.secrets import StoredWebhookSecrets

S = TypeVar("S")
R = TypeVar("R")  # a webhook receiver function's settings
C = TypeVar("C")  # a webhook consumer function's settings
ProviderKind = Literal["accounting", "payments"]


class Capability(enum.Enum):
    """What a provider may or may not do; the engines ask before they try."""

    BATCH_WRITES = "batch_writes"  # many customers or items in one request (Sync Now's catalog)
    VERSIONS = "versions"  # its records carry a version an update must name (QuickBooks SyncToken)
    PAYMENTS = "payments"
    # One payment applied to several invoices; without it (Xero), a payment across invoices is
    # recorded as one payment per invoice (the engine's link keeps each: LinkMap.parts).
    PAYMENTS_ACROSS_INVOICES = "payments_across_invoices"
    REFUNDS = "refunds"
    VOIDS = "voids"
    # Book a payout: a bank deposit of its payments, fees and refunds (the adapter is a PayoutBooks).
    DEPOSITS = "deposits"
    WEBHOOKS = "webhooks"
    ORGANISATION_CHOICE = "organisation_choice"  # one consent may grant several organisations
    INCOME_ACCOUNT_PER_ITEM = "income_account_per_item"

    @property
    def action(self) -> str:
        """What it is, as the start of a sentence people read: "Recording refunds"."""
        return _ACTIONS[self]


_ACTIONS: Mapping[Capability, str] = {
    Capability.BATCH_WRITES: "Writing many customers or items in one request",
    Capability.VERSIONS: "Versioned records",
    Capability.PAYMENTS: "Recording payments",
    Capability.PAYMENTS_ACROSS_INVOICES: "Recording one payment across several invoices",
    Capability.REFUNDS: "Recording refunds",
    Capability.VOIDS: "Voiding an invoice",
    Capability.DEPOSITS: "Booking a payout",
    Capability.WEBHOOKS: "Receiving webhooks",
    Capability.ORGANISATION_CHOICE: "Choosing an organisation after consent",
    Capability.INCOME_ACCOUNT_PER_ITEM: "An income account per item",
}


@dataclass(frozen=True)
class Limits:
    """What the provider allows per provider company (QuickBooks: per realm and app).

    ``window_seconds`` is the length of a "minute": a bench shortens it as a sandbox's scaled
    clock does (``scaled``)."""

    max_concurrent: int  # requests in flight at once
    requests_per_minute: int
    # Batch requests a minute (counted in the requests too); None: no cap of their own.
    batches_per_minute: int | None = None
    window_seconds: float = 60.0
    # Requests a day per company (None: no daily cap), counted in the provider's day: the IANA
    # zone its day begins in (UTC unless it declares another). Held across processes by
    # ``sync/rate_limits.py``, not by the in-process ``sync/limiter.py``.
    requests_per_day: int | None = None
    day_zone: str = "UTC"

    def scaled(self, scale: float) -> Limits:
        """The same limits on a clock running ``scale`` times faster."""
        return replace(self, window_seconds=self.window_seconds / scale)


@dataclass(frozen=True)
class TextLimit:
    """The longest text the provider keeps whole in one field, and what it keeps it as (said
    with a refusal: "QuickBooks shows at most that on the invoice (its message)")."""

    limit: int
    where: str


@dataclass(frozen=True)
class TooLong:
    """A field's text over the provider's limit, in the words of a refusal."""

    field: str
    limit: int
    used: int
    where: str
    counting: str

    @property
    def message(self) -> str:
        counted = f"; {self.counting}" if self.counting else ""
        return (
            f"must be at most {self.limit} characters (got {self.used}{counted}): {self.where}, "
            "and booksync does not cut it"
        )

    @property
    def fix(self) -> str:
        return f"Shorten {self.field} to {self.limit} characters or fewer."


@dataclass(frozen=True)
class TextLimits:
    """What the provider keeps of a document's text, per (kind, field): longer would be cut or
    refused there. Checked at the door for a company whose books are with the provider (a 422
    naming the field), and before each push for the rest (``TextTooLong``); booksync never cuts."""

    fields: Mapping[tuple[DocumentKind, str], TextLimit] = field(default_factory=dict)
    length: Callable[[str], int] = len  # how the provider counts characters
    counting: str = ""  # said with a count: "an emoji counts as two"

    def limit(self, kind: DocumentKind, name: str) -> int | None:
        """The longest text the provider keeps whole in ``name`` of ``kind``; None: no limit of its own."""
        rule = self.fields.get((kind, name))
        return rule.limit if rule is not None else None

    def too_long(self, kind: DocumentKind, document: object) -> list[TooLong]:
        found = []
        for (of, name), rule in self.fields.items():
            value = getattr(document, name, None) if of is kind else None
            if isinstance(value, str) and (used := self.length(value)) > rule.limit:
                found.append(TooLong(name, rule.limit, used, rule.where, self.counting))
        return found


@dataclass(frozen=True)
class Unsayable:
    """A value of a document the provider cannot hold as given (FreshBooks: a tax rate finer than
    the percentages it keeps), in the words of a refusal: "<field> <message>", and its fix."""

    field: str
    message: str
    fix: str


def _nothing_unsayable(_kind: DocumentKind, _document: object) -> Sequence[Unsayable]:
    return ()


class TextTooLong(Rejected):
    """A document's text the provider would cut (its declared ``TextLimits``), found before a push:
    a person shortens it; nothing is sent."""

    code = "text_too_long"


class NotSupported(ProviderError):
    """The provider cannot do what the document asks (its declaration says so). Not a failure: no
    retry changes it and no admin is told; the document and its history say it, once."""

    code = "not_supported"


@dataclass(frozen=True)
class ReceiverParts:
    """What the generic wiring gives a provider's webhook receiver builder."""

    inbox: Inbox  # its events queue
    production: bool  # unverifiable deliveries are refused (in development they are let through)
    # Each connection's own signing secret, read from its connection row (``webhooks/secrets.py``;
    # built on first call: it needs the Connections table and the token key in the settings).
    connection_secrets: Callable[[], SecretLookup]


class WebhookSubscriptions(Protocol):
    """A provider's webhooks registered per connection through its API (FreshBooks' callbacks):
    made when the connection works (connect, reconnect, an organisation chosen), each once,
    and deleted before it is disconnected."""

    def subscribe(self, url: str) -> object: ...

    def unsubscribe(self, url: str) -> object: ...


# (its settings, the connection's account id, the company's tokens, the gate, the connection's
# own webhook secrets) -> its subscriptions on that account.
SubscriptionsBuilder = Callable[
    [Any, str, "TokenSource", "RequestGate | None", "StoredWebhookSecrets"], WebhookSubscriptions
]


@dataclass(frozen=True)
class ConsumerParts:
    """What the generic wiring gives a provider's webhook consumer builder: its tables, and for
    events that name a record only (thin), the connection's adapter, with its tokens, behind its
    gate (built on call: the consumer's settings then name the token key and the Intents table)."""

    events: WebhookEventRepository
    connections: ConnectionRepository
    runs: RunRepository
    adapter_for: Callable[[ConnectionModel], AccountingProvider]
    # Where the provider registers its webhooks per connection (``WebhookParts.subscriptions``):
    # the connection's subscriptions, with its tokens; and the connection rows' own secrets.
    subscriptions_for: Callable[[ConnectionModel], WebhookSubscriptions] | None = None
    connection_secrets: Callable[[], StoredWebhookSecrets] | None = None


class EventConsumer(Protocol):
    def handle_message(self, body: str) -> object:
        """Act on one queued delivery; raises only for what a redelivery can fix."""
        ...


@dataclass(frozen=True)
class WebhookParts(Generic[R, C]):
    """How a provider's webhooks are received (POST /webhooks/<name>) and consumed (its events
    queue), each built by the generic wiring from its function's own settings.

    The receiver says how a delivery is verified (its signature header, its algorithm, compared
    in constant time, and whose secret: one for the provider, or each connection's own through
    ``ReceiverParts.connection_secrets``) and parsed before it is queued (``webhooks/receiver.py``)."""

    receiver_settings: Callable[[], R]
    receiver: Callable[[R, ReceiverParts], WebhookReceiver]
    consumer_settings: Callable[[], C]
    consumer: Callable[[C, ConsumerParts], EventConsumer]
    # Registered per connection through the provider's API (FreshBooks): subscribed when the
    # connection works, unsubscribed before a disconnect; None where the app's settings at the
    # provider hold the webhook (QuickBooks, Xero, Square).
    subscriptions: SubscriptionsBuilder | None = None


@dataclass(frozen=True)
class Builders(Generic[S]):
    """How the core builds the provider's parts from its settings (``S``). Each imports its own
    modules when called, so a function loads only the providers it uses. The parts take the
    connection's account id (QuickBooks realm), the company's tokens and the gate every request
    to that provider company passes (``sync/rate_limits.py``; None: not limited here)."""

    oauth: Callable[[S], OAuthClient]
    adapter: Callable[[S, str, TokenSource, RequestGate | None], AccountingProvider] | None = None
    # The bulk catalog writer (Sync Now), also paced by the walk's own gate, within its deadline.
    catalog: (
        Callable[[S, str, TokenSource, RequestGate | None, Gate, Callable[[], float | None]], CatalogProvider]
        | None
    ) = None
    # The wizard's reads of the customers and items already in the books.
    directory: Callable[[S, str, TokenSource, RequestGate | None], ProviderDirectory] | None = None
    # Its webhook receiver and consumer (declared with Capability.WEBHOOKS).
    webhooks: WebhookParts[Any, Any] | None = None


@dataclass(frozen=True)
class ProviderDeclaration(Generic[S]):
    name: str  # the key in connections, links, jobs and routes: "quickbooks"
    kind: ProviderKind
    profile: ProviderProfile  # its label, naming rules, where its settings are in its menus
    capabilities: frozenset[Capability]
    # Its published throttles; None only for a payments provider that publishes none (its 429s
    # are honoured through Retry-After), or where ``read_limits`` gives them: then they are what
    # ``read_limits({})`` says (its settings unset), derived here.
    limits: Limits | None
    read_settings: Callable[[], S]  # its own settings (pydantic, from the environment)
    builders: Builders[S]
    # What the consent's redirect must name, said when it does not ("company (realmId)");
    # None: the account comes with the tokens.
    account_on_redirect: str | None = None
    # The redirect's query parameter that names it (QuickBooks: realmId), read by the callback.
    account_parameter: str | None = None
    # Whether its refresh tokens lapse unless used (the keep-alive refreshes them), by its settings.
    refresh_lapses: Callable[[S], bool] = field(default=lambda _settings: False)
    # What its refresh tokens' end (``refresh_expires_at``) is: False, a hard end no refresh
    # pushes back (Intuit's 5 years, Square's PKCE 90 days); True, a lapse after so long unused,
    # which every refresh extends (Xero: 60 days). The keep-alive's warning says which.
    refresh_lapse_when_idle: bool = False
    # The text it keeps whole per document field (none declared: no limit of its own).
    text_limits: TextLimits = field(default_factory=TextLimits)
    # The values of a document it cannot hold as given, judged at the door as its text limits are.
    unsayable: Callable[[DocumentKind, object], Sequence[Unsayable]] = _nothing_unsayable
    # With INCOME_ACCOUNT_PER_ITEM: the names its charts give the usual income account, most
    # usual first. A first sync with no default income account set takes the first one the
    # chart has (else its first income account) and saves it as the default.
    income_account_names: tuple[str, ...] = ()
    # Whether it keeps each customer in one currency, set when created, its invoices then in it
    # only (QuickBooks, Xero: in a multicurrency company booksync holds an invoice in another
    # currency, and a customer waits for its first invoice to be created). False: an invoice
    # names its own currency whatever its customer's (FreshBooks), so neither is needed.
    customer_currency_binds: bool = True
    # Its payments need the account the money goes into (Xero: a bank account, or one with
    # EnablePaymentsToAccount): chosen in Account mapping (the connection's payment_account_id);
    # until then a payment waits, saying so. False: the provider has a default (QuickBooks:
    # Undeposited Funds) and the setting is optional.
    payment_account_required: bool = False
    # Its items name their income account by the account's code, not its id (Xero's
    # SalesDetails.AccountCode): an income account without a code (``Account.code``) is refused
    # for items at the door (Account mapping, the default, the wizard's import).
    item_account_by_code: bool = False
    # Limits its own settings tune (FreshBooks and Wave publish none: each deployment sets them;
    # Xero's day by the app's tier), from the environment given: read and validated each time they
    # are asked for (``current_limits``), never at import, so a value set after import counts and
    # a wrong one is said where used, not in every process importing the registry.
    read_limits: Callable[[Mapping[str, str]], Limits] | None = None

    def __post_init__(self) -> None:
        if self.read_limits is not None:
            if self.limits is not None:
                raise ValueError(f"{self.name}: limits are declared or read (read_limits), not both")
            object.__setattr__(self, "limits", self.read_limits({}))
        if self.kind == "accounting" and (self.limits is None or self.builders.adapter is None):
            raise ValueError(f"{self.name}: an accounting provider declares its limits and its adapter")

    @property
    def label(self) -> str:
        return self.profile.label

    def current_limits(self) -> Limits | None:
        """Its limits now: as its settings set them (``read_limits``: a wrong value raises a
        ConfigurationError naming the variable), else as declared."""
        return self.read_limits(os.environ) if self.read_limits is not None else self.limits

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def payments_wait(self, payment_account_id: str | None) -> bool:
        """Whether its payments wait for the account they go into (required, none chosen)."""
        return self.payment_account_required and not payment_account_id

    def payment_account_not_chosen(self, what: str = "") -> PaymentAccountNotChosen:
        """Why a payment waits, and what ends the wait (``what``: "payment p-1")."""
        waits = f"{what} waits" if what else "payments wait"
        return PaymentAccountNotChosen(
            f"{self.label} needs the account payments go into, and none is chosen: {waits} until one is.",
            fix="Choose the account payments go into in Account mapping "
            f"(PUT /integrations/{self.name}/account-mapping/payment-account with one of "
            f"GET /integrations/{self.name}/accounts?type=payments); waiting payments then sync "
            "by themselves.",
        )

    def webhook_parts(self) -> WebhookParts[Any, Any]:
        """Its webhook receiver and consumer; a provider without webhooks is refused saying so."""
        if self.builders.webhooks is None:
            raise self.not_supported(
                Capability.WEBHOOKS, fix=f"Point no {self.label} webhook subscription at booksync."
            )
        return self.builders.webhooks

    def refusals(self, kind: DocumentKind, document: object) -> list[TooLong | Unsayable]:
        """What it would refuse of ``document``: text longer than it keeps, values it cannot hold."""
        return [*self.text_limits.too_long(kind, document), *self.unsayable(kind, document)]

    def refuse_too_long(self, kind: DocumentKind, document: object, doc_id: str) -> None:
        """Raises ``TextTooLong`` for the first field of ``document`` longer than it keeps."""
        for found in self.text_limits.too_long(kind, document):
            raise TextTooLong(
                f"{kind.value.capitalize()} {doc_id}: {found.field} {found.message}.",
                provider=self.name,
                fix=f"{found.fix} Then sync it again.",
            )

    def not_supported(self, capability: Capability, what: str = "", fix: str | None = None) -> NotSupported:
        """The refusal people read: "Recording refunds is not supported by Wave (refund r-1)."."""
        where = f" ({what})" if what else ""
        return NotSupported(
            f"{capability.action} is not supported by {self.label}{where}.",
            provider=self.name,
            fix=fix or f"Record it in {self.label} yourself if it belongs in the books there.",
        )


AnyDeclaration = ProviderDeclaration[Any]
