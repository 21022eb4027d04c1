"""Square, declared once (``booksync.providers.declaration``): a payments connection, never the
company's books (no adapter, catalog or directory)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from booksync.providers.declaration import (
    Builders,
    Capability,
    ConsumerParts,
    ProviderDeclaration,
    ReceiverParts,
    WebhookParts,
)
from booksync.providers.profile import ProviderProfile
from booksync.providers.square.client import LABEL, PROVIDER
from booksync.settings import SquareEventsSettings, SquareSettings, SquareWebhookSettings

if TYPE_CHECKING:
    from booksync.providers.square.oauth import SquareOAuth
    from booksync.webhooks.square import SquareWebhookReceiver
    from booksync.webhooks.square_events import SquareEventProcessor


def _oauth(settings: SquareSettings) -> SquareOAuth:
    from booksync.providers.square.oauth import SquareOAuth

    application_id, application_secret = settings.credentials()
    return SquareOAuth(
        application_id=application_id,
        application_secret=application_secret,
        base_url=settings.api_base_url,
        square_version=settings.square_version,
        uses_pkce=settings.uses_pkce,
    )


def _webhook_receiver(settings: SquareWebhookSettings, parts: ReceiverParts) -> SquareWebhookReceiver:
    """x-square-hmacsha256-signature: base64(HMAC-SHA256(the subscription's signature key,
    notification URL + raw body)), one key for every merchant (SSM)."""
    from booksync.webhooks.sources import SsmVerifierToken
    from booksync.webhooks.square import SquareWebhookReceiver

    return SquareWebhookReceiver(
        key=SsmVerifierToken(
            parameter_name=settings.signature_key_param,
            local_value=settings.signature_key,
            value_setting="SQUARE_WEBHOOK_SIGNATURE_KEY",
            param_setting="SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM",
        ),
        notification_url=settings.notification_url,
        inbox=parts.inbox,
        production=parts.production,
    )


def _webhook_consumer(settings: SquareEventsSettings, parts: ConsumerParts) -> SquareEventProcessor:
    """Payments and refunds recorded, payouts handed to the payout deposit job."""
    from booksync.webhooks.square_events import SqsPayoutHandOff, SquareEventProcessor
    from booksync.wiring import square_payments

    return SquareEventProcessor(
        events=parts.events,
        connections=parts.connections,
        payments=square_payments(settings, None),
        payouts=SqsPayoutHandOff(settings.payout_deposit_queue_url),
    )


DECLARATION = ProviderDeclaration[SquareSettings](
    name=PROVIDER,
    kind="payments",
    profile=ProviderProfile(
        label=LABEL,
        name_rules=f"{LABEL} limits the length and characters of names",
        account_id_key="merchant",
    ),
    capabilities=frozenset({Capability.WEBHOOKS}),
    # Square publishes no fixed rate limits: its 429s are honoured through Retry-After.
    limits=None,
    read_settings=SquareSettings.from_env,
    builders=Builders(
        oauth=_oauth,
        webhooks=WebhookParts(
            receiver_settings=SquareWebhookSettings.from_env,
            receiver=_webhook_receiver,
            consumer_settings=SquareEventsSettings.from_env,
            consumer=_webhook_consumer,
        ),
    ),
    # Its merchant_id comes with the tokens. Code-flow refresh tokens never lapse; PKCE-flow ones
    # end 90 days after they are issued.
    refresh_lapses=lambda settings: settings.uses_pkce,
)
