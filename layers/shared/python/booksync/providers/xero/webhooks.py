"""Xero's webhooks (providers.md 2.4, 7.1): the receiver of POST /webhooks/xero and its feed.

Xero wants a 200 with no body within 5 seconds, else it retries (every 15 minutes for 24 hours,
then disables the webhook). ``x-xero-signature`` is base64(HMAC-SHA256(the app's webhook key,
raw body)), one key for every organisation the app is connected to: the receiver checks it in
constant time, queues the raw body with one SQS call and answers (``webhooks/receiver.py``).

Every answer has an empty body, refusals included: Intent to Receive, Xero's check of a new
webhook URL, posts empty payloads ``{"events": [], ...}`` some signed with the key and some not,
and passes only on 200 with no body for each right one and 401 for each other.

Events are thin: ``{resourceId, eventCategory CONTACT|INVOICE, eventType CREATE|UPDATE, tenantId,
eventDateUtc, resourceUrl}`` say which record changed and nothing of what it now holds. The
generic consumer (``webhooks/events.py``) fetches each record booksync links through Xero's
adapter and acts on it: gone is a delete, VOIDED a void, anything else an edit compared with
booksync's last push. Xero sends no delete events (an invoice deleted or voided there is an
UPDATE) and no payment events.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from booksync.documents import DocumentKind
from booksync.keys import OutsideKey
from booksync.providers.xero.oauth import LABEL, PROVIDER
from booksync.settings import Stage, _Settings
from booksync.webhooks.body import describe_invalid, load_json
from booksync.webhooks.port import ChangeEvent, ChangeFeed, WebhookOperation
from booksync.webhooks.receiver import ChangesReceiver, ProviderTexts

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "x-xero-signature"
KEY_SETTING = "XERO_WEBHOOK_KEY"
KEY_PARAM_SETTING = "XERO_WEBHOOK_KEY_PARAM"

_OPERATIONS: Mapping[str, WebhookOperation] = {
    "create": WebhookOperation.CREATE,
    "update": WebhookOperation.UPDATE,
}
# Xero's event categories, as the records are named in messages ("Xero Invoice 8f2c… was voided").
_ENTITIES: Mapping[str, str] = {"CONTACT": "Contact", "INVOICE": "Invoice", "CREDITNOTE": "CreditNote"}
# The categories that are booksync's documents (Xero sends no item or payment events).
KINDS: Mapping[str, DocumentKind] = {"Contact": DocumentKind.CUSTOMER, "Invoice": DocumentKind.INVOICE}


class XeroWebhookSettings(_Settings):
    """POST /webhooks/xero: only what verifying and queueing a delivery needs."""

    stage: Stage = Field(alias="STAGE", default="dev")
    queue_url: str = Field(alias="XERO_EVENTS_QUEUE_URL", min_length=1)
    # The SSM SecureString holding the webhook key of the Xero app (its Webhooks page); locally
    # the key itself. Checked per request (503 in prod when unusable), not here, so a missing key
    # is logged in words rather than by a function that cannot start.
    key_param: str | None = Field(alias=KEY_PARAM_SETTING, default=None)
    key: str | None = Field(alias=KEY_SETTING, default=None, repr=False)

    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"


class MalformedPayload(ValueError):
    """The body is not a Xero webhook payload; the message says what is wrong."""


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    resourceId: OutsideKey
    eventCategory: OutsideKey
    eventType: OutsideKey
    tenantId: OutsideKey
    eventDateUtc: str | None = None
    resourceUrl: str | None = None
    tenantType: str | None = None


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")

    events: list[_Event]
    firstEventSequence: int | None = None
    lastEventSequence: int | None = None


def parse_payload(body: bytes | str) -> list[ChangeEvent]:
    """Every event of a delivery, in order (none for Intent to Receive); raises MalformedPayload
    saying what is wrong."""
    try:
        document = load_json(body)
    except ValueError as exc:
        raise MalformedPayload(str(exc)) from None
    if not isinstance(document, dict):
        raise MalformedPayload(f"expected a JSON object with events (got a JSON {type(document).__name__})")
    try:
        payload = _Payload.model_validate(document)
    except ValidationError as exc:
        raise MalformedPayload(describe_invalid(exc)) from None
    return [_change(event) for event in payload.events]


def _change(event: _Event) -> ChangeEvent:
    operation, word = WebhookOperation.named(event.eventType, _OPERATIONS)
    occurred_at = _utc(event.eventDateUtc)
    return ChangeEvent(
        # Xero's events carry no id: these fields are what identifies one, and its retries repeat
        # them byte for byte.
        event_id=event_id(
            event.tenantId, event.eventCategory, event.resourceId, event.eventType, occurred_at
        ),
        account_id=event.tenantId,
        entity=_ENTITIES.get(event.eventCategory.upper(), event.eventCategory),
        entity_id=event.resourceId,
        operation=operation,
        occurred_at=occurred_at,
        provider_operation=word,
    )


def event_id(tenant: str, category: str, resource: str, kind: str, at: str | None) -> str:
    raw = "\x1f".join((tenant, category, resource, kind, at or ""))
    return "xero:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _utc(stamp: str | None) -> str | None:
    """``eventDateUtc`` is UTC written without a zone ("2026-12-07T01:15:39.902"): said so, so
    that no reader takes it for local time."""
    if not stamp:
        return None
    text = stamp.strip()
    _, _, clock = text.partition("T")
    return text if text.endswith(("Z", "z")) or "+" in clock or "-" in clock else f"{text}Z"


def read_queued(item: Mapping[str, Any]) -> ChangeEvent:
    """An event queued alone (a delivery too big for one message)."""
    return ChangeEvent.from_json(item, _OPERATIONS)


FEED = ChangeFeed(parse=parse_payload, read_queued=read_queued, kinds=KINDS, thin=True)

_XERO = ProviderTexts(
    provider=PROVIDER,
    sender=LABEL,
    secret_log="key",
    secret_detail="Xero webhook key",
    not_configured_title="Xero webhooks are not configured",
    not_configured_fix=(
        "Store the webhook key from your Xero app's Webhooks page in the SSM parameter named by "
        f"{KEY_PARAM_SETTING} (template parameter XeroWebhookKeyParameterName)."
    ),
    signature_header=SIGNATURE_HEADER,
    bad_signature_fix="Check that the webhook key stored for booksync is the one of this Xero app.",
    malformed_title="Not a Xero webhook payload",
    malformed_fix="booksync kept the body; it expects Xero's {events: [...], firstEventSequence, ...}.",
)


class XeroWebhookReceiver(ChangesReceiver):
    texts = _XERO
    malformed = MalformedPayload
    log = logger
    empty_bodies = True

    def _parse(self, body: bytes) -> list[ChangeEvent]:
        return parse_payload(body)
