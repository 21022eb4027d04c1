"""The composition root: production dependencies built from each function's settings.

Handlers call these once per cold start (lazily, on first use). Tests build the same objects
with fakes instead (every constructor takes its dependencies as parameters).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from booksync.settings import (
    ApiSettings,
    CatalogWorkerSettings,
    EmbedBillingSettings,
    PayoutDepositSettings,
    SchedulerSettings,
    SquareEventsSettings,
    SyncWorkerSettings,
    ThinEventsSettings,
    WebhookSecretsSettings,
)

# Imports live inside the builders: a handler module loads in a fraction of the time, and what a
# path does not use (pynamodb and botocore for /health) is never loaded.
if TYPE_CHECKING:
    from booksync.account_mapping import AccountMapping
    from booksync.api.app import ApiServices
    from booksync.integrations import Connected
    from booksync.memory.ask import MemoryAnswers
    from booksync.memory.feed import EmbedFeed
    from booksync.memory.ingest import EmbedSweep, EmbedWorker
    from booksync.memory.ports import Embedder
    from booksync.onboarding.wizard import Wizard
    from booksync.payments.square import SquarePayments
    from booksync.payouts.deposits import PayoutDeposits
    from booksync.payouts.sweep import PayoutSweep
    from booksync.payouts.views import PayoutViews
    from booksync.providers.bulk import CatalogProvider, Gate
    from booksync.providers.declaration import EventConsumer, WebhookSubscriptions
    from booksync.providers.port import AccountingProvider, OAuthClient
    from booksync.providers.square.client import SquareClient
    from booksync.security.tokens import ConnectionTokenSource
    from booksync.security.vault import KmsTokenVault
    from booksync.store.connections import ConnectionRepository
    from booksync.store.documents import DocumentRepository
    from booksync.store.models import ConnectionModel
    from booksync.store.notifications import NotificationRepository
    from booksync.store.runs import RunRepository
    from booksync.sync.catalog import CatalogSync
    from booksync.sync.catalog_jobs import CatalogRequests
    from booksync.sync.keepalive import KeepAlive
    from booksync.sync.limiter import Limits
    from booksync.sync.rate_limits import ConnectionGate, RateLimiter
    from booksync.sync.sweep import Sweep
    from booksync.sync.worker import SyncWorker
    from booksync.webhooks.receiver import SecretLookup, WebhookReceiver
    from booksync.webhooks.secrets import StoredWebhookSecrets

# The settings of every function that decrypts a company's tokens and calls its providers.
ProviderAccess = (
    ApiSettings
    | SyncWorkerSettings
    | CatalogWorkerSettings
    | PayoutDepositSettings
    | SchedulerSettings
    | ThinEventsSettings
)


def api_services(settings: ApiSettings) -> ApiServices:
    from booksync.api.app import ApiServices
    from booksync.integrations import Integrations
    from booksync.store.connections import ConnectionRepository
    from booksync.store.documents import DocumentRepository
    from booksync.store.models import bind_tables
    from booksync.store.notifications import NotificationRepository
    from booksync.store.oauth_states import OAuthStateRepository
    from booksync.store.runs import RunRepository
    from booksync.sync.jobs import SqsJobQueue
    from booksync.sync.records import DocumentService
    from booksync.sync.sweep import Sweep

    bind_tables(settings)
    documents, connections, runs = DocumentRepository(), ConnectionRepository(), RunRepository()
    notifications = NotificationRepository()
    queue = SqsJobQueue(settings.sync_invoice_queue_url)
    parked = Sweep(documents=documents, connections=connections, runs=runs, queue=queue)
    catalog = _catalog_requests(settings, runs, connections)
    accounts = _account_mapping(
        settings, connections, documents, on_payment_account=payments_resumed(notifications, parked)
    )
    wizard = _wizard(settings, connections, documents, accounts)
    webhooks = ConnectionWebhooks(settings, connections, notifications)
    return ApiServices(
        documents=DocumentService(
            documents=documents,
            connections=connections,
            runs=runs,
            queue=queue,
            embeds=_embed_feed(settings),
        ),
        integrations=Integrations(
            connections=connections,
            documents=documents,
            cipher=_vault(settings.token_key_id),
            oauth_for=lambda provider: oauth_client(provider, settings),
            redirect_uri_for=settings.redirect_uri,
            notifications=notifications,
            on_connected=[
                lambda done: parked.resume(done.company_id),
                lambda done: wizard.open(done.company_id, done.provider),
                *([catalog.after_connect] if catalog is not None else []),
                webhooks.after_connect,
            ],
            on_disconnecting=[webhooks.before_disconnect],
            income_account_check=accounts.check_income_account,
            deposit_account_check=accounts.check_deposit_account,
            payment_account_set=accounts.set_payment_account,
            on_payments_connected=[_square_locations(settings, connections)],
            states=OAuthStateRepository(),
        ),
        runs=runs,
        notifications=notifications,
        app_return_url=settings.app_return_url,
        catalog=catalog,
        accounts=accounts,
        square=square_payments_api(settings, documents),
        payouts=_payout_views(settings),
        wizard=wizard,
        memory=memory_answers(settings),
    )


def _wizard(
    settings: ApiSettings,
    connections: ConnectionRepository,
    documents: DocumentRepository,
    accounts: AccountMapping,
) -> Wizard:
    """The post-connection wizard, with the classifier CUSTOMER_CLASSIFIER chooses."""
    from booksync.errors import NotFoundError
    from booksync.onboarding.classifier import CustomerClassifier, RulesClassifier
    from booksync.onboarding.wizard import Wizard
    from booksync.providers.port import ProviderDirectory
    from booksync.providers.profile import provider_label
    from booksync.providers.registry import declaration

    vault = _vault(settings.token_key_id)
    limiter = shared_limiter(settings)

    def directory_for(connection: ConnectionModel) -> ProviderDirectory:
        build = declaration(connection.provider).builders.directory
        if build is None:
            raise NotFoundError(
                f"Importing customers and items from {provider_label(connection.provider)} "
                "is not supported yet.",
                fix="Add customers and items with PUT /customers/{id} and PUT /items/{id}.",
            )
        return build(
            *_parts_of(connection, settings, connections, vault), connection_gate(connection, limiter)
        )

    classifier: CustomerClassifier = RulesClassifier()
    if settings.customer_classifier == "llm":
        from booksync.onboarding.llm import LlmClassifier

        classifier = LlmClassifier(settings.chat_model())
    return Wizard(
        connections=connections,
        documents=documents,
        directory_for=directory_for,
        classifier=classifier,
        check_income_account=accounts.check_income_account,
    )


def _account_mapping(
    settings: ApiSettings,
    connections: ConnectionRepository,
    documents: DocumentRepository,
    on_payment_account: Callable[[str, str], object] | None = None,
) -> AccountMapping:
    from booksync.account_mapping import AccountMapping

    vault = _vault(settings.token_key_id)
    limiter = shared_limiter(settings)
    return AccountMapping(
        connections=connections,
        documents=documents,
        provider_for=lambda connection: accounting_provider(
            connection, settings, connections, vault, limiter
        ),
        on_payment_account=on_payment_account,
    )


def payments_resumed(notifications: NotificationRepository, parked: Sweep) -> Callable[[str, str], None]:
    """Once the account payments go into is chosen (company, provider): the payments that waited
    for it are queued, and the notification that asked for it ends."""
    import time

    from booksync.errors import PaymentAccountNotChosen

    def resumed(company_id: str, provider: str) -> None:
        notifications.resolve(company_id, f"{provider}:{PaymentAccountNotChosen.code}", time.time())
        parked.resume(company_id)

    return resumed


def _embed_feed(settings: ApiSettings | SquareEventsSettings) -> EmbedFeed | None:
    """The billing memory's feed while RAG_BILLING_EMBED_ENABLED is on (None: off)."""
    if not settings.rag_billing_embed_enabled or settings.embed_billing_queue_url is None:
        return None
    from booksync.memory.feed import EmbedFeed, SqsEmbedQueue

    return EmbedFeed(SqsEmbedQueue(settings.embed_billing_queue_url))


def _catalog_requests(
    settings: ApiSettings | SchedulerSettings, runs: RunRepository, connections: ConnectionRepository
) -> CatalogRequests | None:
    if settings.sync_catalog_queue_url is None:
        return None
    from booksync.documents import DocumentKind
    from booksync.store.catalog_runs import CatalogRunStore, documents_page
    from booksync.sync.catalog_jobs import CatalogRequests, SqsCatalogQueue

    def has_documents(company_id: str, kind: str) -> bool:
        kinds = {"customers": DocumentKind.CUSTOMER, "items": DocumentKind.ITEM}
        return bool(documents_page(company_id, kinds[kind], after=None, limit=1)[0])

    return CatalogRequests(
        runs=runs,
        connections=connections,
        queue=SqsCatalogQueue(settings.sync_catalog_queue_url),
        parked=CatalogRunStore(),
        has_documents=has_documents,
    )


# A catalog step waits this long for a slot other work holds (within its invocation's time), where
# an invoice job would rather go back to its queue.
CATALOG_SLOT_WAIT_SECONDS = 60.0


def sync_catalog(
    settings: CatalogWorkerSettings,
    *,
    window_scale: float = 1.0,
    max_steps: int | None = None,
    reserve_seconds: float | None = None,
    page_size: int | None = None,
) -> tuple[CatalogSync, Callable[[Any], None]]:
    """The catalog job, and what to call at the start of each invocation with its Lambda context.

    ``window_scale`` > 1 shortens the limiter's minute as a sandbox's ``clock_scale`` does (bench);
    ``max_steps``, ``reserve_seconds``, ``page_size``: the run's step cap, how long before the
    deadline a step stops, documents per page (defaults: ``sync.catalog``'s constants).
    """
    from booksync.errors import NotFoundError
    from booksync.providers.http import bind_lambda_deadline
    from booksync.providers.registry import catalog_writer, declaration
    from booksync.store.catalog_runs import CatalogRunStore
    from booksync.store.connections import ConnectionRepository
    from booksync.store.documents import DocumentRepository
    from booksync.store.intents import IntentRepository
    from booksync.store.models import bind_tables
    from booksync.sync.catalog import MAX_STEPS, PAGE_SIZE, RESERVE_SECONDS, CatalogSync
    from booksync.sync.catalog_jobs import SqsCatalogQueue
    from booksync.sync.jobs import SqsJobQueue
    from booksync.sync.rate_limits import declared_limits

    bind_tables(settings)
    connections = ConnectionRepository()
    vault = _vault(settings.token_key_id)
    limiter = shared_limiter(settings)

    def catalog_for(
        connection: ConnectionModel, pacing: Gate, deadline: Callable[[], float | None]
    ) -> CatalogProvider:
        # The gate is shared with every other process calling this company; the walk's own
        # limiter (``pacing``) paces this step's threads within it.
        gate = connection_gate(
            connection, limiter, limits_for(connection.provider), max_wait=CATALOG_SLOT_WAIT_SECONDS
        )
        return catalog_writer(
            declaration(connection.provider),
            *_parts_of(connection, settings, connections, vault),
            gate,
            pacing,
            deadline,
        )

    def limits_for(provider: str) -> Limits:
        limits = declared_limits(provider)
        if limits is None:
            raise NotFoundError(
                f"{provider} declares no limits.", fix="Sync Now is for accounting providers."
            )
        return limits.scaled(window_scale)

    def income_account(connection: ConnectionModel) -> str | None:
        return default_income_account(
            connection, accounting_provider(connection, settings, connections, vault, limiter)
        )

    engine = CatalogSync(
        documents=DocumentRepository(),
        connections=connections,
        intents=IntentRepository(),
        runs=CatalogRunStore(),
        catalog_for=catalog_for,
        income_account_for=income_account,
        requeue=SqsCatalogQueue(settings.sync_catalog_queue_url).enqueue,
        invoices=SqsJobQueue(settings.sync_invoice_queue_url),
        limits_for=limits_for,
        max_steps=MAX_STEPS if max_steps is None else max_steps,
        reserve_seconds=RESERVE_SECONDS if reserve_seconds is None else reserve_seconds,
        page_size=PAGE_SIZE if page_size is None else page_size,
    )

    def begin_invocation(context: Any) -> None:
        bind_lambda_deadline(context)

    return engine, begin_invocation


def sync_worker(settings: SyncWorkerSettings) -> tuple[SyncWorker, Callable[[Any], None]]:
    """The worker, and what to call at the start of each invocation with its Lambda context."""
    from booksync.providers.http import bind_lambda_deadline
    from booksync.store.connections import ConnectionRepository
    from booksync.store.documents import DocumentRepository
    from booksync.store.intents import IntentRepository
    from booksync.store.models import bind_tables
    from booksync.store.notifications import NotificationRepository
    from booksync.store.runs import RunRepository
    from booksync.sync.engine import InvoiceSync
    from booksync.sync.jobs import SqsJobQueue
    from booksync.sync.worker import PowertoolsIdempotency, SyncWorker

    bind_tables(settings)
    connections = ConnectionRepository()
    vault = _vault(settings.token_key_id)
    limiter = shared_limiter(settings)
    engine = InvoiceSync(
        documents=DocumentRepository(),
        connections=connections,
        intents=IntentRepository(),
        runs=RunRepository(),
        provider_for=lambda connection: accounting_provider(
            connection, settings, connections, vault, limiter
        ),
        income_account_for=default_income_account,
        notifications=NotificationRepository(),
    )
    idempotency = PowertoolsIdempotency(settings.idempotency_table)
    queue = SqsJobQueue(settings.sync_invoice_queue_url)

    def begin_invocation(context: Any) -> None:
        idempotency.register_lambda_context(context)
        bind_lambda_deadline(context)

    return SyncWorker(engine, queue, idempotent=idempotency), begin_invocation


def sweep(settings: SchedulerSettings) -> Sweep:
    from booksync.store.connections import ConnectionRepository
    from booksync.store.documents import DocumentRepository
    from booksync.store.models import bind_tables
    from booksync.store.runs import RunRepository
    from booksync.sync.jobs import SqsJobQueue
    from booksync.sync.sweep import Sweep

    bind_tables(settings)
    return Sweep(
        documents=DocumentRepository(),
        connections=ConnectionRepository(),
        runs=RunRepository(),
        queue=SqsJobQueue(settings.sync_invoice_queue_url),
        grace_seconds=settings.sweep_grace_seconds,
    )


def catalog_resumer(settings: SchedulerSettings) -> CatalogRequests | None:
    """The sweep's resumer of parked catalog runs; None when the stack has no catalog job."""
    from booksync.store.connections import ConnectionRepository
    from booksync.store.models import bind_tables
    from booksync.store.runs import RunRepository

    bind_tables(settings)
    return _catalog_requests(settings, RunRepository(), ConnectionRepository())


def _vault(key_id: str) -> KmsTokenVault:
    from booksync.security.vault import KmsTokenVault

    return KmsTokenVault(key_id)


def oauth_client(provider: str, settings: ProviderAccess) -> OAuthClient:
    from booksync.providers.registry import oauth_client as build

    return build(provider, settings)


def accounting_provider(
    connection: ConnectionModel,
    settings: ProviderAccess,
    connections: ConnectionRepository,
    vault: KmsTokenVault,
    limiter: RateLimiter | None = None,
) -> AccountingProvider:
    from booksync.providers.registry import accounting_provider as build

    tokens = token_source(connection.company_id, connection.provider, settings, connections, vault)
    return build(connection, settings, tokens, connection_gate(connection, limiter))


def _parts_of(
    connection: ConnectionModel,
    settings: ProviderAccess,
    connections: ConnectionRepository,
    vault: KmsTokenVault,
) -> tuple[Any, str, ConnectionTokenSource]:
    """What a provider's builders take: its own settings (typed by its declaration), the
    connection's account, the company's tokens."""
    tokens = token_source(connection.company_id, connection.provider, settings, connections, vault)
    return settings.provider_settings(connection.provider), str(connection.account_id), tokens


def token_source(
    company_id: str,
    provider: str,
    settings: ProviderAccess,
    connections: ConnectionRepository,
    vault: KmsTokenVault,
) -> ConnectionTokenSource:
    """The company's tokens for ``provider``, refreshed through the OAuth client its declaration
    builds: the one place a token source is made (adapters, directories, catalog writers, the
    keep-alive and the Square client all take theirs from here)."""
    from booksync.security.tokens import ConnectionTokenSource

    return ConnectionTokenSource(
        company_id=company_id,
        provider=provider,
        repository=connections,
        cipher=vault,
        oauth=oauth_client(provider, settings),
    )


def shared_limiter(settings: ProviderAccess) -> RateLimiter | None:
    """The rate limiter every process calling a provider company shares (rows in the Intents
    table); None in ApiFunction (``API_PART=core``), which may only read that table: its only
    provider reads are an admin's settings checks, while the setup screens' run in SetupApiFunction."""
    if isinstance(settings, ApiSettings) and settings.api_part == "core":
        return None
    from booksync.store.rate_limits import DynamoRateLimiter

    return DynamoRateLimiter()


def connection_gate(
    connection: ConnectionModel,
    limiter: RateLimiter | None,
    limits: Limits | None = None,
    *,
    max_wait: float | None = None,
) -> ConnectionGate | None:
    """The gate every request to ``connection``'s provider company passes, with the provider's
    declared limits (None: no limiter here, or the provider declares no limits)."""
    from booksync.providers.http import time_left
    from booksync.sync.rate_limits import MAX_WAIT_SECONDS, ConnectionGate, declared_limits

    limits = limits or declared_limits(str(connection.provider))
    if limiter is None or limits is None:
        return None
    return ConnectionGate(
        limiter,
        provider=str(connection.provider),
        account_id=str(connection.account_id or ""),
        limits=limits,
        remaining=time_left,
        max_wait=MAX_WAIT_SECONDS if max_wait is None else max_wait,
    )


def default_income_account(connection: ConnectionModel, provider: AccountingProvider) -> str | None:
    from booksync.providers.registry import pick_default_income_account

    return pick_default_income_account(connection, provider)


def keep_alive(settings: SchedulerSettings) -> KeepAlive:
    from booksync.providers.registry import refreshed_by_keep_alive
    from booksync.store.connections import ConnectionRepository
    from booksync.store.models import bind_tables
    from booksync.store.notifications import NotificationRepository
    from booksync.sync.keepalive import KeepAlive

    bind_tables(settings)
    connections = ConnectionRepository()
    vault = _vault(settings.token_key_id)

    def refresher(connection: ConnectionModel) -> ConnectionTokenSource:
        return token_source(connection.company_id, connection.provider, settings, connections, vault)

    return KeepAlive(
        connections=connections,
        notifications=NotificationRepository(),
        refresher_for=refresher,
        providers=refreshed_by_keep_alive(settings),
        warning_seconds=settings.refresh_expiry_warning_days * 86_400,
    )


def webhook_subscriptions(
    connection: ConnectionModel,
    settings: ProviderAccess,
    connections: ConnectionRepository,
    limiter: RateLimiter | None = None,
) -> WebhookSubscriptions | None:
    """The webhooks ``connection``'s provider registers per connection through its API (its
    declaration's ``WebhookParts.subscriptions``), with the company's tokens; None where the
    provider has none (its app's settings hold the webhook)."""
    from booksync.providers.registry import declaration
    from booksync.webhooks.secrets import StoredWebhookSecrets

    parts = declaration(connection.provider).builders.webhooks
    if parts is None or parts.subscriptions is None or not connection.account_id:
        return None
    vault = _vault(settings.token_key_id)
    return parts.subscriptions(
        *_parts_of(connection, settings, connections, vault),
        connection_gate(connection, limiter),
        StoredWebhookSecrets(connection.provider, connections, vault),
    )


class ConnectionWebhooks:
    """The connect flow's part in webhooks registered per connection: subscribed to booksync's
    ``/webhooks/<provider>`` once the connection works, unsubscribed before a disconnect. A
    registration the provider refused is said to the company's admins (a notification, until
    a connect registers them), never left silent: edits made in the books would go unseen."""

    def __init__(
        self,
        settings: ApiSettings,
        connections: ConnectionRepository,
        notifications: NotificationRepository,
        *,
        subscriptions_for: Callable[[ConnectionModel], WebhookSubscriptions | None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._connections = connections
        self._notifications = notifications
        self._subscriptions_for = subscriptions_for or (
            lambda row: webhook_subscriptions(row, settings, connections)
        )
        self._clock = clock

    def url(self, provider: str) -> str:
        return f"{self._settings.public_api_base_url.rstrip('/')}/webhooks/{provider}"

    def after_connect(self, done: Connected) -> None:
        row = self._connections.get(done.company_id, done.provider)
        subscriptions = self._subscriptions_for(row) if row is not None else None
        if not subscriptions:
            return
        kind = f"{done.provider}:webhooks_not_registered"
        try:
            subscriptions.subscribe(self.url(done.provider))
        except Exception:
            from booksync.providers.profile import provider_label

            label = provider_label(done.provider)
            self._notifications.raise_once(
                done.company_id,
                kind,
                title=f"{label} webhooks are not registered",
                message=(
                    f"{label} did not accept booksync's webhook registration, so changes made in "
                    f"{label} (edits, deletes) are not seen; syncing to {label} goes on."
                ),
                fix=f"Reconnect {label} (Settings > Integrations > Reconnect): booksync registers again.",
                now=self._clock(),
            )
            raise  # the connect flow logs it; the connection stays connected
        self._notifications.resolve(done.company_id, kind, self._clock())

    def before_disconnect(self, row: ConnectionModel) -> None:
        subscriptions = self._subscriptions_for(row)
        if subscriptions:
            subscriptions.unsubscribe(self.url(row.provider))


def webhook_receiver(provider: str, settings: Any = None) -> WebhookReceiver:
    """POST /webhooks/<provider>: the receiver its declaration builds from its function's settings
    (read from the environment unless given). Only its secret and its queue: no table, no
    provider call before the answer, unless it signs per connection (its connection rows)."""
    from booksync.providers.declaration import ReceiverParts
    from booksync.providers.registry import declaration
    from booksync.webhooks.sources import SqsInbox

    parts = declaration(provider).webhook_parts()
    settings = parts.receiver_settings() if settings is None else settings

    def connection_secrets() -> SecretLookup:
        from booksync.errors import ConfigurationError
        from booksync.store.connections import ConnectionRepository
        from booksync.store.models import bind_tables
        from booksync.webhooks.secrets import StoredWebhookSecrets

        if not isinstance(settings, WebhookSecretsSettings):
            raise ConfigurationError(
                f"{provider} signs each connection's webhooks with its own secret, kept on the "
                "connection row: its receiver's settings name no Connections table or token key.",
                fix="Give its webhook function WebhookSecretsSettings (CONNECTIONS_TABLE, TOKEN_KEY_ID).",
            )
        bind_tables(settings)
        return StoredWebhookSecrets(provider, ConnectionRepository(), _vault(settings.token_key_id))

    return parts.receiver(
        settings,
        ReceiverParts(
            inbox=SqsInbox(settings.queue_url),
            production=settings.is_prod,
            connection_secrets=connection_secrets,
        ),
    )


def webhook_consumer(provider: str, settings: Any = None) -> EventConsumer:
    """The consumer of <provider>'s events queue, as its declaration builds it from its function's
    settings (read from the environment unless given). Where it fetches records for thin events,
    it calls the provider as the sync worker does: the company's tokens, the shared limiter's
    gate, the deadline its handler binds (``bind_lambda_deadline``)."""
    from booksync.providers.declaration import ConsumerParts
    from booksync.providers.registry import declaration
    from booksync.store.connections import ConnectionRepository
    from booksync.store.models import bind_tables
    from booksync.store.runs import RunRepository
    from booksync.store.webhook_events import WebhookEventRepository

    parts = declaration(provider).webhook_parts()
    settings = parts.consumer_settings() if settings is None else settings
    bind_tables(settings)
    connections = ConnectionRepository()

    def thin() -> ThinEventsSettings:
        from booksync.errors import ConfigurationError

        if not isinstance(settings, ThinEventsSettings):
            raise ConfigurationError(
                f"{provider}'s events are thin: its consumer reads records with the company's "
                "tokens, but its settings name no token key or Intents table.",
                fix="Give its events function ThinEventsSettings "
                "(TOKEN_KEY_ID, INTENTS_TABLE, the provider's OAuth settings).",
            )
        return settings

    def adapter_for(connection: ConnectionModel) -> AccountingProvider:
        access = thin()
        return accounting_provider(
            connection, access, connections, _vault(access.token_key_id), shared_limiter(access)
        )

    def subscriptions_for(connection: ConnectionModel) -> WebhookSubscriptions:
        access = thin()
        subscriptions = webhook_subscriptions(connection, access, connections, shared_limiter(access))
        if subscriptions is None:
            raise ValueError(f"{provider} registers no webhooks per connection")
        return subscriptions

    def connection_secrets() -> StoredWebhookSecrets:
        from booksync.webhooks.secrets import StoredWebhookSecrets

        return StoredWebhookSecrets(provider, connections, _vault(thin().token_key_id))

    return parts.consumer(
        settings,
        ConsumerParts(
            events=WebhookEventRepository(),
            connections=connections,
            runs=RunRepository(),
            adapter_for=adapter_for,
            subscriptions_for=subscriptions_for,
            connection_secrets=connection_secrets,
        ),
    )


# -- Square ---------------------------------------------------------------------------------------


def square_client(
    company_id: str, settings: ProviderAccess, connections: ConnectionRepository, vault: KmsTokenVault
) -> SquareClient:
    """Square's API with the company's own tokens (its merchant's)."""
    from booksync.providers.square.client import PROVIDER, SquareClient

    return SquareClient(
        tokens=token_source(company_id, PROVIDER, settings, connections, vault),
        api_base_url=settings.square.api_base_url,
        square_version=settings.square.square_version,
    )


def _square_locations(
    settings: ApiSettings, connections: ConnectionRepository
) -> Callable[[Connected], None]:
    """After Square connects: record the seller's locations on the connection (GET /v2/locations)."""

    def record(done: Connected) -> None:
        client = square_client(done.company_id, settings, connections, _vault(settings.token_key_id))
        locations = [location.to_json() for location in client.list_locations()]
        connections.record_locations(done.company_id, done.provider, locations)

    return record


def square_payments_api(settings: ApiSettings, documents: DocumentRepository) -> SquarePayments | None:
    """The unmatched-payments routes' service, when the API is given the SquareActivity table."""
    if not settings.square_activity_table:
        return None
    return square_payments(settings, documents)


def square_payments(
    settings: ApiSettings | SquareEventsSettings, documents: DocumentRepository | None
) -> SquarePayments:
    from booksync.payments.square import SquarePayments
    from booksync.store.connections import ConnectionRepository
    from booksync.store.documents import DocumentRepository
    from booksync.store.notifications import NotificationRepository
    from booksync.store.runs import RunRepository
    from booksync.store.square_activity import SquareActivityRepository
    from booksync.sync.jobs import SqsJobQueue
    from booksync.sync.records import DocumentService

    documents = documents or DocumentRepository()
    runs = RunRepository()
    return SquarePayments(
        activity=SquareActivityRepository(),
        documents=documents,
        service=DocumentService(
            documents=documents,
            connections=ConnectionRepository(),
            runs=runs,
            queue=SqsJobQueue(settings.sync_invoice_queue_url),
            embeds=_embed_feed(settings),
        ),
        runs=runs,
        notifications=NotificationRepository(),
    )


def payout_deposits(settings: PayoutDepositSettings) -> PayoutDeposits:
    """The payout deposit job: the company's accounting connection books the payout (and the
    payments synced first), Square gives the payout's entries, both with the company's own tokens."""
    from booksync.payouts.deposits import PayoutDeposits
    from booksync.store.connections import ConnectionRepository
    from booksync.store.documents import DocumentRepository
    from booksync.store.intents import IntentRepository
    from booksync.store.models import bind_tables
    from booksync.store.notifications import NotificationRepository
    from booksync.store.payouts import PayoutRepository
    from booksync.store.runs import RunRepository
    from booksync.sync.engine import InvoiceSync

    bind_tables(settings)
    connections, documents, runs = ConnectionRepository(), DocumentRepository(), RunRepository()
    notifications = NotificationRepository()
    vault = _vault(settings.token_key_id)
    limiter = shared_limiter(settings)

    def provider_for(connection: ConnectionModel) -> AccountingProvider:
        return accounting_provider(connection, settings, connections, vault, limiter)

    def square_for(company_id: str) -> SquareClient:
        return square_client(company_id, settings, connections, vault)

    # Payments not yet in the books are synced first, in-process, as the sync worker does.
    invoices = InvoiceSync(
        documents=documents,
        connections=connections,
        intents=IntentRepository(),
        runs=runs,
        provider_for=provider_for,
        income_account_for=default_income_account,
        notifications=notifications,
    )
    return PayoutDeposits(
        payouts=PayoutRepository(),
        connections=connections,
        documents=documents,
        intents=IntentRepository(),
        runs=runs,
        notifications=notifications,
        provider_for=provider_for,
        square_for=square_for,
        sync_invoice=invoices.run,
        grace_seconds=settings.payout_wait_grace_hours * 3600,
    )


def payout_sweep(settings: SchedulerSettings) -> PayoutSweep | None:
    """Waiting payouts back to their queue (None where the stack has no payout deposit job)."""
    if not settings.payouts_table or not settings.payout_deposit_queue_url:
        return None
    from booksync.payouts.sweep import PayoutSweep, SqsPayoutQueue
    from booksync.store.models import bind_tables
    from booksync.store.payouts import PayoutRepository

    bind_tables(settings)
    return PayoutSweep(
        payouts=PayoutRepository(), send=SqsPayoutQueue(settings.payout_deposit_queue_url).send
    )


def _payout_views(settings: ApiSettings) -> PayoutViews | None:
    """GET /payouts and the admin's retry (None where the stack has no payouts table)."""
    if not settings.payouts_table:
        return None
    from booksync.payouts.sweep import SqsPayoutQueue
    from booksync.payouts.views import PayoutViews
    from booksync.store.payouts import PayoutRepository

    url = settings.payout_deposit_queue_url
    return PayoutViews(PayoutRepository(), send=SqsPayoutQueue(url).send if url else None)


# -- the billing memory ------------------------------------------------------------------------------
def memory_embedder() -> Embedder:
    """The billing memory's embedder: Voyage when its key is named (VoyageSettings: the variable
    VOYAGE_API_KEY or the SSM SecureString VOYAGE_API_KEY_PARAM), else the local embedder, which
    needs no network. Records and questions must be embedded by the same one."""
    from booksync.settings import VoyageSettings

    voyage = VoyageSettings.from_env()
    if voyage.key_named:
        from booksync.memory.voyage import VoyageEmbedder

        return VoyageEmbedder.from_settings(voyage)
    from booksync.memory.local_embedder import HashedNgramEmbedder

    return HashedNgramEmbedder()


def embed_worker(settings: EmbedBillingSettings) -> EmbedWorker:
    """EmbedBillingFunction's worker: the indexer (embedder, stores) is built on the first message
    that needs it, so a message while the feed is off loads none of it."""
    from functools import cache

    from booksync.memory.choice import memory_vector_store
    from booksync.memory.indexer import MemoryIndexer
    from booksync.memory.ingest import EmbedWorker
    from booksync.store.documents import DocumentRepository
    from booksync.store.memory import DynamoRecordStore
    from booksync.store.models import bind_tables

    bind_tables(settings)

    @cache
    def indexer() -> MemoryIndexer:
        embedder = memory_embedder()
        return MemoryIndexer(embedder, DynamoRecordStore(), memory_vector_store(embedder.dimension))

    return EmbedWorker(
        documents=DocumentRepository(), indexer=indexer, enabled=settings.rag_billing_embed_enabled
    )


def embed_sweep(settings: SchedulerSettings) -> EmbedSweep | None:
    """The scheduler's sweep of lost embed messages while the feed is on (None: off)."""
    if not settings.rag_billing_embed_enabled or settings.embed_billing_queue_url is None:
        return None
    from booksync.memory.feed import SqsEmbedQueue
    from booksync.memory.ingest import EmbedSweep
    from booksync.store.documents import DocumentRepository
    from booksync.store.models import bind_tables

    bind_tables(settings)
    return EmbedSweep(
        documents=DocumentRepository(),
        queue=SqsEmbedQueue(settings.embed_billing_queue_url),
        grace_seconds=settings.embed_sweep_grace_seconds,
    )


def memory_answers(settings: ApiSettings) -> Callable[[], MemoryAnswers] | None:
    """The billing memory's routes' service (search, prices, ask) while MEMORY_TABLE is set and
    RAG_BILLING_EMBED_ENABLED on (off, no embedding call is ever made: a question is not embedded
    either), built on the first request that needs it: a Voyage or vector-store setting that
    cannot be used fails those routes alone, saying why, and the other routes never load them."""
    if settings.memory_table is None or not settings.rag_billing_embed_enabled:
        return None
    from functools import cache

    @cache
    def build() -> MemoryAnswers:
        from booksync.memory.ask import MemoryAnswers
        from booksync.memory.choice import memory_vector_store
        from booksync.memory.prices import PriceBook
        from booksync.memory.search import MemorySearch
        from booksync.store.memory import DynamoRecordStore

        embedder = memory_embedder()
        records = DynamoRecordStore()
        chat = settings.chat_model() if settings.memory_answers == "llm" else None
        search = MemorySearch(embedder, records, memory_vector_store(embedder.dimension))
        return MemoryAnswers(search, PriceBook(records), chat)

    return build
