"""Xero, declared once (``booksync.providers.declaration``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
from booksync.providers.profile import ProviderProfile
from booksync.providers.xero.mapping import (
    DESCRIPTION_MAX,
    INCOME_ACCOUNT_NAMES,
    INVOICE_NUMBER_MAX,
    PERSON_REFERENCE_MAX,
)
from booksync.providers.xero.oauth import LABEL, PROVIDER
from booksync.settings import ThinEventsSettings, XeroSettings

if TYPE_CHECKING:
    from booksync.providers.bulk import Gate
    from booksync.providers.port import TokenSource
    from booksync.providers.xero.adapter import XeroProvider
    from booksync.providers.xero.bulk import XeroCatalog
    from booksync.providers.xero.client import XeroClient
    from booksync.providers.xero.directory import XeroDirectory
    from booksync.providers.xero.oauth import XeroOAuth
    from booksync.providers.xero.webhooks import XeroWebhookReceiver, XeroWebhookSettings
    from booksync.sync.rate_limits import RequestGate
    from booksync.webhooks.events import ChangeEventProcessor


def _limits(environ: Mapping[str, str]) -> Limits:
    """Xero's limits per tenant (providers.md 7.1): 5 calls in flight, 60 a minute, and a day's
    cap by the app's tier (``XERO_DAY_LIMIT``: 1000 or 5000); 10,000 a minute per app across
    tenants (a 429 "appminute" is waited out)."""
    settings = XeroSettings.from_env({k: v for k, v in environ.items() if k == "XERO_DAY_LIMIT"})
    return Limits(max_concurrent=5, requests_per_minute=60, requests_per_day=settings.day_limit)


# What Xero keeps whole of a document's text (xero_accounting.yaml).
TEXT_LIMITS = TextLimits(
    fields={
        (DocumentKind.INVOICE, "number"): TextLimit(
            INVOICE_NUMBER_MAX, f"{LABEL} keeps at most that as the invoice's number (InvoiceNumber)"
        ),
        (DocumentKind.INVOICE, "memo"): TextLimit(
            DESCRIPTION_MAX, f"{LABEL} shows it as a line of the invoice, which holds at most that"
        ),
        (DocumentKind.PAYMENT, "reference"): TextLimit(
            PERSON_REFERENCE_MAX, f"{LABEL} keeps it in the payment's Reference after booksync's marker"
        ),
        (DocumentKind.REFUND, "reference"): TextLimit(
            PERSON_REFERENCE_MAX, f"{LABEL} keeps it in the credit note's Reference after booksync's marker"
        ),
        (DocumentKind.REFUND, "reason"): TextLimit(
            DESCRIPTION_MAX, f"{LABEL} keeps it as the credit note line's description"
        ),
    }
)


def _oauth(settings: XeroSettings) -> XeroOAuth:
    from booksync.providers.xero.oauth import XeroOAuth

    return XeroOAuth.from_settings(settings)


def _client(
    settings: XeroSettings, tenant_id: str, tokens: TokenSource, gate: RequestGate | None
) -> XeroClient:
    from booksync.providers.xero.client import XeroClient

    return XeroClient(api_base_url=settings.api_base_url, tenant_id=tenant_id, tokens=tokens, gate=gate)


def _adapter(
    settings: XeroSettings, tenant_id: str, tokens: TokenSource, gate: RequestGate | None
) -> XeroProvider:
    from booksync.providers.xero.adapter import XeroProvider

    return XeroProvider(_client(settings, tenant_id, tokens, gate), sales_tax_type=settings.sales_tax_type)


def _catalog(
    settings: XeroSettings,
    tenant_id: str,
    tokens: TokenSource,
    gate: RequestGate | None,
    pacing: Gate,
    deadline: Callable[[], float | None],
) -> XeroCatalog:
    """Sync Now's writer: contacts and items through Xero's arrays (``bulk.py``)."""
    from booksync.providers.xero.bulk import XeroCatalog

    return XeroCatalog(_client(settings, tenant_id, tokens, gate), pacing, deadline=deadline)


def _directory(
    settings: XeroSettings, tenant_id: str, tokens: TokenSource, gate: RequestGate | None
) -> XeroDirectory:
    """The wizard's reads of the contacts and items already in the organisation (``directory.py``)."""
    from booksync.providers.xero.directory import XeroDirectory

    return XeroDirectory(_client(settings, tenant_id, tokens, gate))


def _webhook_settings() -> XeroWebhookSettings:
    from booksync.providers.xero.webhooks import XeroWebhookSettings

    return XeroWebhookSettings.from_env()


def _webhook_receiver(settings: XeroWebhookSettings, parts: ReceiverParts) -> XeroWebhookReceiver:
    """x-xero-signature: base64(HMAC-SHA256(the app's webhook key, raw body)), one key for every
    organisation (SSM, XERO_WEBHOOK_KEY_PARAM; XERO_WEBHOOK_KEY locally)."""
    from booksync.providers.xero.webhooks import KEY_PARAM_SETTING, KEY_SETTING, XeroWebhookReceiver
    from booksync.webhooks.sources import SsmVerifierToken

    key = SsmVerifierToken(
        parameter_name=settings.key_param,
        local_value=settings.key,
        value_setting=KEY_SETTING,
        param_setting=KEY_PARAM_SETTING,
    )
    return XeroWebhookReceiver(token=key, inbox=parts.inbox, production=parts.production)


def _webhook_consumer(settings: ThinEventsSettings, parts: ConsumerParts) -> ChangeEventProcessor:
    """Thin events: each linked record is read through the adapter with the company's tokens."""
    from booksync.providers.xero.webhooks import FEED
    from booksync.webhooks.events import change_processor

    return change_processor(PROVIDER, LABEL, FEED, parts)


WEBHOOKS = WebhookParts(
    receiver_settings=_webhook_settings,
    receiver=_webhook_receiver,
    consumer_settings=ThinEventsSettings.from_env,
    consumer=_webhook_consumer,
)


PROFILE = ProviderProfile(
    label=LABEL,
    name_rules=f"{LABEL} limits the length of names (a contact's to 255 characters, an item's to 50 "
    "and its code to 30) and removes control characters",
    multicurrency_setting="Settings > Currencies (on plans with multi-currency)",
    account_id_key="tenant",
    tax_settings=f"the tax rates of the organisation in {LABEL} (its tax type for sales lines)",
)


DECLARATION = ProviderDeclaration[XeroSettings](
    name=PROVIDER,
    kind="accounting",
    profile=PROFILE,
    # No versions (Xero keeps none), one payment per invoice (the core splits
    # a payment across invoices), no deposits.
    capabilities=frozenset(
        {
            Capability.BATCH_WRITES,  # arrays of contacts and items (Sync Now: bulk.py)
            Capability.PAYMENTS,
            Capability.REFUNDS,  # a credit note paid out
            Capability.VOIDS,
            Capability.ORGANISATION_CHOICE,  # a consent may grant several organisations
            Capability.INCOME_ACCOUNT_PER_ITEM,  # an item's SalesDetails.AccountCode
            Capability.WEBHOOKS,  # contacts and invoices, thin (providers/xero/webhooks.py)
        }
    ),
    limits=None,  # read_limits({}): 5,000 calls a day
    read_limits=_limits,  # the environment when asked
    text_limits=TEXT_LIMITS,
    read_settings=XeroSettings.from_env,
    builders=Builders(
        oauth=_oauth, adapter=_adapter, catalog=_catalog, directory=_directory, webhooks=WEBHOOKS
    ),
    # The organisation comes from /connections after the consent, not on the redirect.
    account_on_redirect=None,
    # Xero's refresh tokens lapse after 60 days unused.
    refresh_lapses=lambda _settings: True,
    refresh_lapse_when_idle=True,  # each refresh extends them: no hard end
    income_account_names=INCOME_ACCOUNT_NAMES,
    # A payment is made into an account Xero names (a bank account, or one that takes payments):
    # none is Xero's default, so payments wait until an admin chooses it.
    payment_account_required=True,
    # An item's sales account is its SalesDetails.AccountCode: an account without a code cannot be one.
    item_account_by_code=True,
)
