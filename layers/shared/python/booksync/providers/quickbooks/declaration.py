"""QuickBooks Online, declared once (``booksync.providers.declaration``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from booksync.documents import DocumentKind
from booksync.providers.declaration import (
    Builders,
    Capability,
    ConsumerParts,
    Limits,
    ProviderDeclaration,
    ReceiverParts,
    TextLimit,
    TextLimits,
    WebhookParts,
)
from booksync.providers.quickbooks.faults import LABEL, PROVIDER
from booksync.providers.quickbooks.mapping import (
    DESCRIPTION_MAX,
    DOC_NUMBER_MAX,
    INVOICE_MEMO_MAX,
    NOTE_MEMO_MAX,
    PAYMENT_REF_MAX,
    PRIVATE_NOTE_MAX,
)
from booksync.providers.quickbooks.names import utf16_length
from booksync.providers.quickbooks.profile import PROFILE
from booksync.settings import QuickBooksEventsSettings, QuickBooksSettings, QuickBooksWebhookSettings

if TYPE_CHECKING:
    from booksync.providers.bulk import Gate
    from booksync.providers.port import TokenSource
    from booksync.providers.quickbooks.adapter import QuickBooksProvider
    from booksync.providers.quickbooks.bulk import QuickBooksCatalog
    from booksync.providers.quickbooks.client import QuickBooksClient
    from booksync.providers.quickbooks.oauth import QuickBooksOAuth
    from booksync.sync.rate_limits import RequestGate
    from booksync.webhooks.events import ChangeEventProcessor
    from booksync.webhooks.quickbooks import QuickBooksWebhookReceiver

# Intuit's throttles per realm and app (providers.md 1.6): 10 concurrent, 500 requests and 40
# batch requests a minute; no daily cap for the Accounting API.
LIMITS = Limits(max_concurrent=10, requests_per_minute=500, batches_per_minute=40)

# What QuickBooks keeps whole of a document's text (Finance.xsd), counted in UTF-16 code units.
TEXT_LIMITS = TextLimits(
    fields={
        (DocumentKind.INVOICE, "number"): TextLimit(
            DOC_NUMBER_MAX, f"{LABEL} keeps at most that as the invoice's number (DocNumber)"
        ),
        (DocumentKind.INVOICE, "memo"): TextLimit(
            INVOICE_MEMO_MAX, f"{LABEL} shows at most that on the invoice (its message)"
        ),
        (DocumentKind.PAYMENT, "reference"): TextLimit(
            PAYMENT_REF_MAX, f"{LABEL} keeps at most that as the payment's reference number"
        ),
        (DocumentKind.PAYMENT, "memo"): TextLimit(
            NOTE_MEMO_MAX,
            f"{LABEL} keeps it in a {PRIVATE_NOTE_MAX}-character private note after booksync's marker",
        ),
        (DocumentKind.REFUND, "reference"): TextLimit(
            PAYMENT_REF_MAX, f"{LABEL} keeps at most that as the refund receipt's reference number"
        ),
        (DocumentKind.REFUND, "reason"): TextLimit(
            DESCRIPTION_MAX, f"{LABEL} keeps it as the refund line's description"
        ),
    },
    length=utf16_length,
    counting="an emoji counts as two",
)


def _oauth(settings: QuickBooksSettings) -> QuickBooksOAuth:
    from booksync.providers.quickbooks.oauth import QuickBooksOAuth

    client_id, client_secret = settings.credentials()
    return QuickBooksOAuth(
        client_id=client_id,
        client_secret=client_secret,
        auth_url=settings.auth_url,
        token_url=settings.token_url,
        revoke_url=settings.revoke_url,
        api_base_url=settings.api_base_url,
    )


def _client(
    settings: QuickBooksSettings, realm_id: str, tokens: TokenSource, gate: RequestGate | None
) -> QuickBooksClient:
    from booksync.providers.quickbooks.client import QuickBooksClient

    return QuickBooksClient(
        api_base_url=settings.api_base_url,
        realm_id=realm_id,
        tokens=tokens,
        minor_version=settings.minor_version,
        gate=gate,
    )


def _adapter(
    settings: QuickBooksSettings, realm_id: str, tokens: TokenSource, gate: RequestGate | None
) -> QuickBooksProvider:
    from booksync.providers.quickbooks.adapter import QuickBooksProvider

    return QuickBooksProvider(_client(settings, realm_id, tokens, gate))


def _catalog(
    settings: QuickBooksSettings,
    realm_id: str,
    tokens: TokenSource,
    gate: RequestGate | None,
    pacing: Gate,
    deadline: Callable[[], float | None],
) -> QuickBooksCatalog:
    from booksync.providers.quickbooks.bulk import QuickBooksCatalog

    return QuickBooksCatalog(_client(settings, realm_id, tokens, gate), pacing, deadline=deadline)


def _webhook_receiver(settings: QuickBooksWebhookSettings, parts: ReceiverParts) -> QuickBooksWebhookReceiver:
    """intuit-signature: base64(HMAC-SHA256(the app's verifier token, raw body)), one token for
    every realm (SSM, QBO_WEBHOOK_VERIFIER_PARAM)."""
    from booksync.webhooks.quickbooks import QuickBooksWebhookReceiver
    from booksync.webhooks.sources import SsmVerifierToken

    return QuickBooksWebhookReceiver(
        token=SsmVerifierToken(parameter_name=settings.verifier_param, local_value=settings.verifier_token),
        inbox=parts.inbox,
        production=parts.production,
    )


def _webhook_consumer(settings: QuickBooksEventsSettings, parts: ConsumerParts) -> ChangeEventProcessor:
    from booksync.webhooks.events import change_processor
    from booksync.webhooks.quickbooks import FEED

    return change_processor(PROVIDER, PROFILE.label, FEED, parts)


WEBHOOKS = WebhookParts(
    receiver_settings=QuickBooksWebhookSettings.from_env,
    receiver=_webhook_receiver,
    consumer_settings=QuickBooksEventsSettings.from_env,
    consumer=_webhook_consumer,
)


DECLARATION = ProviderDeclaration[QuickBooksSettings](
    name=PROVIDER,
    kind="accounting",
    profile=PROFILE,
    # Every one but choosing an organisation: a consent grants the one company (realm) chosen on it.
    capabilities=frozenset(
        {
            Capability.BATCH_WRITES,
            Capability.VERSIONS,  # SyncToken
            Capability.PAYMENTS,
            Capability.PAYMENTS_ACROSS_INVOICES,
            Capability.REFUNDS,  # as refund receipts
            Capability.VOIDS,
            Capability.DEPOSITS,
            Capability.WEBHOOKS,
            Capability.INCOME_ACCOUNT_PER_ITEM,
        }
    ),
    limits=LIMITS,
    text_limits=TEXT_LIMITS,
    read_settings=QuickBooksSettings.from_env,
    # The adapter is also the wizard's directory (paged queries of customers and items).
    builders=Builders(
        oauth=_oauth, adapter=_adapter, catalog=_catalog, directory=_adapter, webhooks=WEBHOOKS
    ),
    account_on_redirect="company (realmId)",
    account_parameter="realmId",
    # Intuit's refresh tokens roll over 100 days from last use (and end after 5 years).
    refresh_lapses=lambda _settings: True,
    # The income accounts QuickBooks' charts of accounts start with.
    income_account_names=("Services", "Sales", "Sales of Product Income"),
)
