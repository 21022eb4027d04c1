"""FreshBooks, declared once (``booksync.providers.declaration``).

FreshBooks has no idempotency key (providers.md 3, 7.2): every write is claimed as an intent
first and, after an uncertain outcome, looked up by what FreshBooks can search on before anything
is created again (the adapter's ``find_*``). Its rate limits are unpublished: booksync keeps its
requests to one business modest (``FRESHBOOKS_MAX_CONCURRENT``, ``FRESHBOOKS_REQUESTS_PER_MINUTE``)
and honours a 429's Retry-After (``providers/http.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from booksync.providers.declaration import (
    Builders,
    Capability,
    ConsumerParts,
    Limits,
    ProviderDeclaration,
    ReceiverParts,
    WebhookParts,
)
from booksync.providers.freshbooks import LABEL, PROVIDER
from booksync.providers.freshbooks.mapping import unsayable
from booksync.providers.profile import ProviderProfile
from booksync.settings import FreshBooksSettings, ThinEventsSettings, WebhookSecretsSettings

if TYPE_CHECKING:
    from booksync.providers.freshbooks.adapter import FreshBooksProvider
    from booksync.providers.freshbooks.directory import FreshBooksDirectory
    from booksync.providers.freshbooks.oauth import FreshBooksOAuth
    from booksync.providers.freshbooks.webhooks import (
        FreshBooksCallbacks,
        FreshBooksEvents,
        FreshBooksWebhookReceiver,
    )
    from booksync.providers.port import TokenSource
    from booksync.sync.rate_limits import RequestGate
    from booksync.webhooks.secrets import StoredWebhookSecrets

_LIMIT_SETTINGS = ("FRESHBOOKS_MAX_CONCURRENT", "FRESHBOOKS_REQUESTS_PER_MINUTE")


def _limits(environ: Mapping[str, str]) -> Limits:
    """Per business: the requests in flight and a minute its settings allow (none published)."""
    settings = FreshBooksSettings.from_env({k: v for k, v in environ.items() if k in _LIMIT_SETTINGS})
    return Limits(max_concurrent=settings.max_concurrent, requests_per_minute=settings.requests_per_minute)


def _oauth(settings: FreshBooksSettings) -> FreshBooksOAuth:
    from booksync.providers.freshbooks.oauth import FreshBooksOAuth

    return FreshBooksOAuth.from_settings(settings)


def _adapter(
    settings: FreshBooksSettings, account_id: str, tokens: TokenSource, gate: RequestGate | None
) -> FreshBooksProvider:
    from booksync.providers.freshbooks.adapter import FreshBooksProvider

    return FreshBooksProvider.build(settings, account_id, tokens, gate)


def _directory(
    settings: FreshBooksSettings, account_id: str, tokens: TokenSource, gate: RequestGate | None
) -> FreshBooksDirectory:
    """The wizard's reads of the clients and items already in the business (``directory.py``)."""
    from booksync.providers.freshbooks.client import FreshBooksClient
    from booksync.providers.freshbooks.directory import FreshBooksDirectory

    return FreshBooksDirectory(
        FreshBooksClient(api_base_url=settings.api_base_url, account_id=account_id, tokens=tokens, gate=gate)
    )


def _webhook_receiver(settings: WebhookSecretsSettings, parts: ReceiverParts) -> FreshBooksWebhookReceiver:
    """X-FreshBooks-Hmac-SHA256, checked with the verifiers of the account's callbacks."""
    from booksync.providers.freshbooks.webhooks import receiver

    return receiver(settings, parts)


def _webhook_consumer(settings: ThinEventsSettings, parts: ConsumerParts) -> FreshBooksEvents:
    """Verifications sent back and kept; thin events read through the adapter."""
    from booksync.providers.freshbooks.webhooks import consumer

    return consumer(settings, parts)


def _webhook_subscriptions(
    settings: FreshBooksSettings,
    account_id: str,
    tokens: TokenSource,
    gate: RequestGate | None,
    secrets: StoredWebhookSecrets,
) -> FreshBooksCallbacks:
    """The callbacks booksync registers on the business at connect (deleted at disconnect)."""
    from booksync.providers.freshbooks.webhooks import subscriptions

    return subscriptions(settings, account_id, tokens, gate, secrets)


WEBHOOKS = WebhookParts(
    receiver_settings=WebhookSecretsSettings.from_env,
    receiver=_webhook_receiver,
    consumer_settings=ThinEventsSettings.from_env,
    consumer=_webhook_consumer,
    subscriptions=_webhook_subscriptions,
)


PROFILE = ProviderProfile(
    label=LABEL,
    name_rules=f"{LABEL} keeps a client's organisation, first and last name and an item's name "
    "as given, without control characters",
    multicurrency_setting="each client's currency (Settings > Client Settings)",
    account_id_key="account",
    tax_settings=f"the taxes of the business in {LABEL} (two at most on a line, as percentages)",
)


DECLARATION = ProviderDeclaration[FreshBooksSettings](
    name=PROVIDER,
    kind="accounting",
    profile=PROFILE,
    # No versions, no batch writes, no income account per item (FreshBooks items carry none),
    # one payment per invoice (the core splits a payment across invoices).
    capabilities=frozenset(
        {
            Capability.PAYMENTS,
            Capability.ORGANISATION_CHOICE,  # /users/me may list several businesses
            Capability.WEBHOOKS,  # callbacks registered at connect, thin (webhooks.py)
        }
    ),
    limits=None,  # read_limits({}): the settings' defaults
    read_limits=_limits,  # the environment when asked
    # A tax rate or discount its percentages cannot say, refused at the door.
    unsayable=unsayable,
    read_settings=FreshBooksSettings.from_env,
    builders=Builders(oauth=_oauth, adapter=_adapter, directory=_directory, webhooks=WEBHOOKS),
    # An invoice names its own currency, whatever its client's.
    customer_currency_binds=False,
    # The business comes from /users/me after the consent, not on the redirect.
    account_on_redirect=None,
    # Its refresh tokens never expire (single use, not timed): no keep-alive refreshes an idle
    # FreshBooks connection.
    refresh_lapses=lambda _settings: False,
)
