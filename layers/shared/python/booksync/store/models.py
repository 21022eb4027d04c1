"""pynamodb models of booksync's tables (docs/architecture.md lists their keys and indexes).

Table names come from each function's settings: ``bind_tables`` sets them at cold start, before
any model is used.
"""

from __future__ import annotations

import os
from typing import Any

from pynamodb.attributes import (
    Attribute,
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.constants import MAP, STRING
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from booksync.errors import BooksyncError, error_code


class _Meta:
    table_name = "unbound"
    region: str | None = None


class AccountIndex(GlobalSecondaryIndex["ConnectionModel"]):
    class Meta:
        index_name = "account-index"
        projection = AllProjection()

    account_key = UnicodeAttribute(hash_key=True)


class RefreshIndex(GlobalSecondaryIndex["ConnectionModel"]):
    class Meta:
        index_name = "refresh-index"
        projection = AllProjection()

    provider = UnicodeAttribute(hash_key=True)
    refresh_due_at = NumberAttribute(range_key=True)


class ConnectionSettingsMap(MapAttribute[str, Any]):
    auto_sync_invoices = BooleanAttribute(default=True)
    auto_sync_payments = BooleanAttribute(default=True)
    auto_sync_customers = BooleanAttribute(default=True)
    auto_sync_items = BooleanAttribute(default=True)
    default_income_account_id = UnicodeAttribute(null=True)
    # The account refunds are paid from (none: Undeposited Funds, where card refunds net
    # against the payout deposit they came out of).
    refunds_from_account_id = UnicodeAttribute(null=True)
    # The account payments go into (Account mapping; one that takes payments). None: the
    # provider's default (QuickBooks: Undeposited Funds); a provider that declares
    # payment_account_required holds its payments until one is chosen.
    payment_account_id = UnicodeAttribute(null=True)
    # Square payouts become deposits (booksync/payouts/): the toggle and the lines' accounts.
    auto_sync_deposits = BooleanAttribute(default=True)
    deposit_bank_account_id = UnicodeAttribute(null=True)
    merchant_fees_account_id = UnicodeAttribute(null=True)
    tips_account_id = UnicodeAttribute(null=True)
    refunds_account_id = UnicodeAttribute(null=True)  # none: Undeposited Funds
    adjustments_account_id = UnicodeAttribute(null=True)
    payout_fees_account_id = UnicodeAttribute(null=True)


class ConnectionModel(Model):
    """One company's connection to one provider, with its encrypted tokens and refresh lease."""

    class Meta(_Meta):
        pass

    company_id = UnicodeAttribute(hash_key=True)
    provider = UnicodeAttribute(range_key=True)
    connection_id = UnicodeAttribute()
    status = UnicodeAttribute(default="connected")
    # The provider account booksync claims and keys on (QuickBooks realm, Square merchant, Xero
    # tenant), and every id the provider keys it by ({"realm": ...}; {"tenant", "connection"}):
    # read through ``store.connections.provider_ids`` (a row stored before holds only account_id).
    account_id = UnicodeAttribute(null=True)
    account_key = UnicodeAttribute(null=True)
    account_ids = JSONAttribute(null=True)
    # While the status is choose_organisation: the organisations the consent granted, each
    # {"id", "name", "ids"} (never a token), one of which an admin picks.
    organisations = JSONAttribute(null=True)
    # Token envelope: KMS-encrypted data key, AES-GCM nonce and ciphertext. Never plaintext.
    token_key = BinaryAttribute(null=True, legacy_encoding=False)
    token_nonce = BinaryAttribute(null=True, legacy_encoding=False)
    token_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    token_version = NumberAttribute(default=0)
    has_refresh_token = BooleanAttribute(default=False)
    access_expires_at = NumberAttribute(null=True)
    refresh_expires_at = NumberAttribute(null=True)
    refresh_due_at = NumberAttribute(null=True)
    refreshed_at = NumberAttribute(null=True)
    # Refresh lease with a fencing counter that only grows.
    lease_owner = UnicodeAttribute(null=True)
    lease_expires_at = NumberAttribute(null=True)
    fence = NumberAttribute(default=0)
    connected_by = UnicodeAttribute(null=True)
    connected_at = NumberAttribute(null=True)
    last_sync_at = NumberAttribute(null=True)
    last_error_code = UnicodeAttribute(null=True)
    last_error_message = UnicodeAttribute(null=True)
    settings = ConnectionSettingsMap(default=ConnectionSettingsMap)
    # Square connections: the seller's locations at connect time ([{id, name, timezone, currency,
    # status}]), so a payment's date is its location's day.
    locations = JSONAttribute(null=True)
    # The post-connection wizard's progress (booksync/onboarding/wizard.py): each step's status
    # and what it imported or linked. Opened at connect; kept across reconnects.
    wizard = JSONAttribute(null=True)
    # Accounting connections: what the company's books can hold (QuickBooks Preferences.CurrencyPrefs),
    # read at the first sync and again when a day old or when a document would be held for it.
    home_currency = UnicodeAttribute(null=True)
    multicurrency = BooleanAttribute(null=True)
    currencies_read_at = NumberAttribute(null=True)
    # The provider's daily request limit is reached (sync/rate_limits.py): work for this connection
    # is parked until then (the start of the provider's next day), and why.
    held_until = NumberAttribute(null=True)
    held_reason = UnicodeAttribute(null=True)
    # The secret the provider signs this connection's webhook deliveries with, where each
    # connection has its own (FreshBooks' callback verifier): sealed as the tokens are, under a
    # context of its own (``webhooks/secrets.py``), so neither blob opens as the other.
    webhook_secret_key = BinaryAttribute(null=True, legacy_encoding=False)
    webhook_secret_nonce = BinaryAttribute(null=True, legacy_encoding=False)
    webhook_secret_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    webhook_secret_set_at = NumberAttribute(null=True)
    account_index = AccountIndex()
    refresh_index = RefreshIndex()


class AccountClaimModel(Model):
    """Which booksync company owns a provider account (a QuickBooks realm, a Square merchant): one
    row per account, so a second company cannot connect it and webhooks act for one company. Kept
    in the Connections table (no table of its own): its key ``account#<provider>#<account id>`` /
    ``#owner`` is no company's connection row."""

    class Meta(_Meta):
        pass

    claim_key = UnicodeAttribute(hash_key=True, attr_name="company_id")
    slot = UnicodeAttribute(range_key=True, attr_name="provider", default="#owner")
    owner_company_id = UnicodeAttribute()
    claimed_at = NumberAttribute()


class PendingIndex(GlobalSecondaryIndex["DocumentModel"]):
    class Meta:
        index_name = "pending-index"
        projection = AllProjection()

    pending_bucket = UnicodeAttribute(hash_key=True)
    pending_since = NumberAttribute(range_key=True)


class EmbedIndex(GlobalSecondaryIndex["DocumentModel"]):
    """Sparse: documents waiting to be embedded into the billing memory (README "Billing memory"),
    by shard and since when; keys only, the embed job reads the row itself."""

    class Meta:
        index_name = "embed-index"
        projection = KeysOnlyProjection()

    embed_bucket = UnicodeAttribute(hash_key=True)
    embed_since = NumberAttribute(range_key=True)


class SentIndex(GlobalSecondaryIndex["DocumentModel"]):
    class Meta:
        index_name = "sent-index"
        projection = AllProjection()

    company_id = UnicodeAttribute(hash_key=True)
    sent_at = NumberAttribute(range_key=True)


class LinkMap(MapAttribute[str, Any]):
    """A document's link to its object in one provider."""

    remote_id = UnicodeAttribute(null=True)
    version = UnicodeAttribute(null=True)
    pushed_hash = UnicodeAttribute(null=True)
    synced_at = NumberAttribute(null=True)
    outcome = UnicodeAttribute(null=True)  # synced | failed | blocked | linked
    error_code = UnicodeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    error_fix = UnicodeAttribute(null=True)
    generation = NumberAttribute(default=0)
    # How many writes booksync has recorded on this link (kept across generations, never lowered):
    # every write's exactly-once key holds it, so no edit history (A->B->A->B) replays an old key.
    pushes = NumberAttribute(default=0)
    # Customers and items: the name the provider stores when it is not the document's own (cut,
    # cleaned, or made unique), why, and whether booksync had to make it unique (updates keep it).
    remote_name = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    distinct_name = BooleanAttribute(null=True)
    # The remote object is claimed for this document (store/claims.py); unset on links stored
    # before claims existed, which are claimed on their next sync.
    claimed = BooleanAttribute(null=True)
    # One document recorded as several remote objects: a payment across invoices where the books
    # take one invoice per payment (its declaration has no payments_across_invoices), one remote
    # payment per invoice: local invoice id -> remote payment id (``remote_id`` is the first's).
    parts = MapAttribute[str, Any](null=True)
    # The last change someone made in the provider that booksync did not make (drift), as the
    # provider's webhook reported it: e.g. "Update", "Void", "Delete", "Merge". Not pulled back.
    remote_change = UnicodeAttribute(null=True)
    remote_change_at = UnicodeAttribute(null=True)


class TextsAttribute(Attribute[dict[str, str]]):
    """A map of name -> text (DynamoDB's map of strings), read and written as a plain dict."""

    attr_type = MAP

    def serialize(self, value: dict[str, str]) -> dict[str, Any]:
        return {name: {STRING: text} for name, text in value.items()}

    def deserialize(self, value: dict[str, Any]) -> dict[str, str]:
        return {name: str(text[STRING]) for name, text in value.items()}


class LinksAttribute(Attribute[dict[str, LinkMap]]):
    """A map of provider name -> ``LinkMap``. ``DocumentModel.links["<provider>"]`` is that
    provider's link as a document path (``links.<provider>``), with its fields (``.remote_id``)
    for conditions and updates, as a ``LinkMap`` attribute of its own would be."""

    attr_type = MAP

    def serialize(self, value: dict[str, LinkMap]) -> dict[str, Any]:
        return {provider: {MAP: link.serialize(link)} for provider, link in value.items()}

    def deserialize(self, value: dict[str, Any]) -> dict[str, LinkMap]:
        return {provider: self[provider].deserialize(link[MAP]) for provider, link in value.items()}

    def __getitem__(self, provider: str) -> LinkMap:  # type: ignore[override]
        element = LinkMap()
        element._make_attribute()
        element.attr_path = [*self.attr_path, provider]
        for segment in reversed(element.attr_path):
            element._update_attribute_paths(segment)
        return element


class DocumentModel(Model):
    """A customer, item, invoice or payment as the business's app sent it, with its links."""

    class Meta(_Meta):
        pass

    company_id = UnicodeAttribute(hash_key=True)
    doc_key = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    doc_id = UnicodeAttribute()
    body = JSONAttribute()
    content_hash = UnicodeAttribute()
    status = UnicodeAttribute(null=True)
    updated_at = NumberAttribute()
    sent_at = NumberAttribute(null=True)
    pending_bucket = UnicodeAttribute(null=True)
    pending_since = NumberAttribute(null=True)
    payment_ids = UnicodeSetAttribute(null=True)
    refund_ids = UnicodeSetAttribute(null=True)  # payments: the refunds recorded on them
    # Payments: what each refund holds of the amount (refund id -> decimal string), and a counter
    # that grows with every change of it. Refunds are checked against the payment and written on
    # condition that the counter is unchanged (store/documents.py, HeldAmounts).
    refund_amounts = MapAttribute[str, Any](null=True)
    refunds_version = NumberAttribute(null=True)
    # Invoices: what each payment applies to them, kept the same way (``payment_ids`` are the
    # payments): a payment is checked against the invoice's open balance and written with it.
    payment_amounts = MapAttribute[str, Any](null=True)
    payments_version = NumberAttribute(null=True)
    # Each provider's link, by the registry's provider name: a provider declared in the registry
    # has links without a change here.
    links = LinksAttribute(null=True)
    # QuickBooks' links were stored in an attribute of their own before ``links``: they stay
    # there (read and written), so that no row needs moving and a function still running the
    # code before (during a deploy, or after a rollback) finds every link where it looks.
    link_quickbooks = LinkMap(null=True)
    # Items: the income account chosen in Account mapping, per provider (none: the default).
    # Kept beside the links, not in them: a sync replaces a link whole. QuickBooks' is in its own
    # attribute, as stored before ``income_accounts``.
    income_accounts = TextsAttribute(null=True)
    income_account_quickbooks = UnicodeAttribute(null=True)
    # The billing memory: set with a status change that embeds the document (memory/feed.py),
    # removed once it is embedded; the embed job's sweep re-queues what waits too long.
    embed_bucket = UnicodeAttribute(null=True)
    embed_since = NumberAttribute(null=True)
    pending_index = PendingIndex()
    sent_index = SentIndex()
    embed_index = EmbedIndex()

    @classmethod
    def _own_attribute(cls, prefix: str, provider: str) -> str | None:
        """The attribute of its own a provider's ``prefix`` value was stored in before the maps."""
        name = f"{prefix}_{provider}"
        return name if name in cls.get_attributes() else None

    @classmethod
    def keeps_own_link(cls, provider: str) -> bool:
        """Are the provider's links in an attribute of their own (stored before ``links``)?"""
        return cls._own_attribute("link", provider) is not None

    @classmethod
    def link_attribute(cls, provider: str) -> LinkMap:
        """The provider's link as a document path, for updates and conditions."""
        own = cls._own_attribute("link", provider)
        link: LinkMap = getattr(cls, own) if own else cls.links[provider]
        return link

    def link(self, provider: str) -> LinkMap | None:
        own = self._own_attribute("link", provider)
        if own:
            link: LinkMap | None = getattr(self, own)
            return link
        return (self.links or {}).get(provider)

    def set_link(self, provider: str, link: LinkMap) -> None:
        """Replace the provider's link on this row in memory (``DocumentRepository.save_link``
        stores one)."""
        own = self._own_attribute("link", provider)
        if own:
            setattr(self, own, link)
        else:
            self.links = {**(self.links or {}), provider: link}

    def all_links(self) -> dict[str, LinkMap]:
        """Every provider's link on this row, by provider name."""
        own = {
            name.removeprefix("link_"): link
            for name in self.get_attributes()
            if name.startswith("link_") and (link := getattr(self, name)) is not None
        }
        return {**(self.links or {}), **own}

    def income_account(self, provider: str) -> str | None:
        return self.income_accounts_chosen().get(provider)

    def income_accounts_chosen(self) -> dict[str, str]:
        """The item's income account per provider, where one was chosen in Account mapping."""
        own = {
            name.removeprefix("income_account_"): str(account)
            for name in self.get_attributes()
            if name.startswith("income_account_") and (account := getattr(self, name))
        }
        return {**(self.income_accounts or {}), **own}

    def income_account_attribute(self, provider: str) -> tuple[Attribute[Any], Any]:
        """The attribute holding the provider's income account on this row, and its value."""
        own = self._own_attribute("income_account", provider)
        attribute: Attribute[Any] = getattr(type(self), own or "income_accounts")
        return attribute, getattr(self, own or "income_accounts")

    def choose_income_account(self, provider: str, account_id: str | None) -> None:
        """Set (None: unset) the item's income account for the provider on this row in memory."""
        own = self._own_attribute("income_account", provider)
        if own:
            setattr(self, own, account_id)
            return
        chosen = {p: a for p, a in (self.income_accounts or {}).items() if p != provider}
        if account_id:
            chosen[provider] = account_id
        self.income_accounts = chosen or None


class IntentModel(Model):
    """An outside write recorded before it is made (design.md, reliability principles)."""

    class Meta(_Meta):
        pass

    intent_key = UnicodeAttribute(hash_key=True)
    request_id = UnicodeAttribute()
    state = UnicodeAttribute(default="pending")  # pending | done | failed
    attempts = NumberAttribute(default=0)
    owner = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)
    remote_id = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    ttl = NumberAttribute(null=True)
    # Link claims (store/claims.py) share the table: the document that holds the remote object.
    claimed_by = UnicodeAttribute(null=True)


class RateLimitModel(Model):
    """One provider company's shared rate-limit state (``sync/rate_limits.py``), kept in the
    Intents table under ``limit#<provider>#<account id>`` (no table of its own): slots out with
    their leases, answers in the minute's windows, the day's count. Every change is conditional on
    ``version``; ``ttl`` lets an idle company's row go after its day has ended. ``released``: slots
    given back since ``state`` was last written ("<slot> <epoch seconds>" each), appended by one
    write without a read and folded into ``state`` by the next admission (rows without it read as
    none released)."""

    class Meta(_Meta):
        pass

    key = UnicodeAttribute(hash_key=True, attr_name="intent_key")
    version = NumberAttribute(default=0)
    state = UnicodeAttribute()
    ttl = NumberAttribute()
    released = ListAttribute(of=UnicodeAttribute, null=True)


class RunErrorMap(MapAttribute[str, Any]):
    document = UnicodeAttribute()
    code = UnicodeAttribute()
    message = UnicodeAttribute()
    fix = UnicodeAttribute(null=True)


class ParkedRunIndex(GlobalSecondaryIndex["SyncRunModel"]):
    """Sparse: only catalog runs parked by a broken connection carry ``parked_key``."""

    class Meta:
        index_name = "parked-index"
        projection = KeysOnlyProjection()

    parked_key = UnicodeAttribute(hash_key=True)
    run_id = UnicodeAttribute(range_key=True)


class SyncRunModel(Model):
    class Meta(_Meta):
        pass

    company_id = UnicodeAttribute(hash_key=True)
    run_id = UnicodeAttribute(range_key=True)
    provider = UnicodeAttribute()
    kind = UnicodeAttribute()  # invoice | catalog | sweep
    trigger = UnicodeAttribute()  # auto | manual | sweep
    subject = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="queued")  # queued | running | succeeded | failed | parked
    counts = JSONAttribute(default=dict)
    errors = ListAttribute(of=RunErrorMap, default=list)
    # What the run did that the user should know without it being an error (a renamed record).
    notes = ListAttribute(of=RunErrorMap, null=True)
    started_at = NumberAttribute()
    finished_at = NumberAttribute(null=True)
    ttl = NumberAttribute(null=True)
    # Resumable (catalog) runs: where the next invocation starts, which step of the chain holds
    # the run, and until when (a redelivered older step finds a newer one and stops).
    cursor = JSONAttribute(null=True)
    step = NumberAttribute(null=True)
    lease_until = NumberAttribute(null=True)
    # The provider, while the run is parked: the sweep finds runs a reconnection did not resume.
    parked_key = UnicodeAttribute(null=True)
    parked_index = ParkedRunIndex()


class OAuthStateModel(Model):
    class Meta(_Meta):
        pass

    state = UnicodeAttribute(hash_key=True)
    company_id = UnicodeAttribute()
    provider = UnicodeAttribute()
    user_id = UnicodeAttribute()
    redirect_uri = UnicodeAttribute()
    code_verifier = UnicodeAttribute(null=True)
    ttl = NumberAttribute()
    # Once the provider redirected back: the code, KMS-sealed like tokens, and the realm, waiting
    # for the user who started the connection to confirm it with the consent token (its SHA-256).
    consent_hash = UnicodeAttribute(null=True)
    code_key = BinaryAttribute(null=True, legacy_encoding=False)
    code_nonce = BinaryAttribute(null=True, legacy_encoding=False)
    code_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    account_id = UnicodeAttribute(null=True)


ALL_MODELS: dict[str, type[Model]] = {
    "connections_table": ConnectionModel,
    "documents_table": DocumentModel,
    "intents_table": IntentModel,
    "sync_runs_table": SyncRunModel,
    "oauth_states_table": OAuthStateModel,
}

# Models whose rows live in another model's table (bound with it).
SHARING: dict[str, tuple[type[Model], ...]] = {
    "connections_table": (AccountClaimModel,),
    "intents_table": (RateLimitModel,),
}


def bind_tables(settings: object) -> None:
    """Point each model at the table its function's settings name (only those it has)."""
    # pynamodb falls back to us-east-1 rather than the Lambda's own region.
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    for field_name, model in ALL_MODELS.items():
        name = getattr(settings, field_name, None)
        if name and (model.Meta.table_name, model.Meta.region) != (name, region):
            for bound in (model, *SHARING.get(field_name, ())):
                bound.Meta.table_name = name
                bound.Meta.region = region
                bound._connection = None


def new_link(**values: Any) -> LinkMap:
    return LinkMap(**values)


def refused_link(link: LinkMap | None, exc: BooksyncError, outcome: str = "failed") -> LinkMap:
    """``link`` (or a new one) saying why its document was refused, and what a person must do."""
    failed = link or new_link()
    failed.outcome = outcome
    failed.error_code, failed.error_message, failed.error_fix = error_code(exc), exc.message, exc.fix or None
    return failed


def link_generation(link: LinkMap | None) -> int:
    return int(link.generation or 0) if link is not None else 0


def link_pushes(link: LinkMap | None) -> int:
    return int(link.pushes or 0) if link is not None else 0


def link_parts(link: LinkMap | None) -> dict[str, str]:
    """The remote objects a document is recorded as, by part (``LinkMap.parts``); {} for one."""
    parts = link.parts if link is not None else None
    if parts is None:
        return {}
    stored = parts.as_dict() if isinstance(parts, MapAttribute) else dict(parts)
    return {str(name): str(remote_id) for name, remote_id in stored.items()}


def settings_dict(row: ConnectionModel) -> dict[str, Any]:
    settings = row.settings or ConnectionSettingsMap()
    return {name: getattr(settings, name) for name in ConnectionSettingsMap.get_attributes()}


def update_connection_settings(row: ConnectionModel, changes: dict[str, Any]) -> None:
    """Update only these settings: a full save could overwrite tokens a worker just refreshed."""
    if changes:
        row.update(
            actions=[getattr(ConnectionModel.settings, name).set(value) for name, value in changes.items()]
        )


class NotificationModel(Model):
    """An in-app notification for a company's admins; one per failure type while it lasts."""

    class Meta(_Meta):
        pass

    company_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(range_key=True)  # e.g. quickbooks:needs_reconnection
    title = UnicodeAttribute()
    message = UnicodeAttribute()
    fix = UnicodeAttribute(null=True)
    audience = UnicodeAttribute(default="admins")
    occurrences = NumberAttribute(default=1)
    first_seen_at = NumberAttribute()
    last_seen_at = NumberAttribute()
    read = BooleanAttribute(default=False)
    dismissed = BooleanAttribute(default=False)
    resolved_at = NumberAttribute(null=True)
    ttl = NumberAttribute(null=True)
    # The documents whose failure it reports ("payment p-1"), while they fail: it resolves itself
    # once the last of them syncs (store/notifications.py, settle).
    subjects = UnicodeSetAttribute(null=True)


ALL_MODELS["notifications_table"] = NotificationModel


class WebhookEventModel(Model):
    """One provider webhook event seen by its consumer: the dedupe key and what was done."""

    class Meta(_Meta):
        pass

    event_key = UnicodeAttribute(hash_key=True)  # <provider>#<event id>
    state = UnicodeAttribute(default="processing")  # processing | done
    realm_id = UnicodeAttribute(null=True)
    entity = UnicodeAttribute(null=True)
    entity_id = UnicodeAttribute(null=True)
    operation = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)  # e.g. unknown_realm, not_linked, relinked, recreate
    detail = UnicodeAttribute(null=True)
    received_at = NumberAttribute()
    ttl = NumberAttribute()


ALL_MODELS["webhook_events_table"] = WebhookEventModel


class SquareActivityModel(Model):
    """A Square payment or refund as the webhook consumer saw it (``booksync/payments/square.py``).

    Key: ``company_id`` / ``activity_key`` = ``payment#<square payment id>`` or
    ``refund#<square refund id>``. Amounts are decimal strings in major units.
    """

    class Meta(_Meta):
        pass

    company_id = UnicodeAttribute(hash_key=True)
    activity_key = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # payment | refund
    square_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute(null=True)
    # recorded | unmatched | waiting_for_payment | rejected
    status = UnicodeAttribute()
    square_status = UnicodeAttribute(null=True)  # COMPLETED, ...
    document_id = UnicodeAttribute(null=True)  # booksync Payment/Refund id: square-<square id>
    invoice_id = UnicodeAttribute(null=True)  # payments: the invoice it was recorded on
    reference_id = UnicodeAttribute(null=True)  # payments: Square's reference_id
    square_payment_id = UnicodeAttribute(null=True)  # refunds: the payment refunded
    currency = UnicodeAttribute(null=True)
    amount = UnicodeAttribute(null=True)  # amount_money: applied to the invoice / refunded
    recorded_amount = UnicodeAttribute(null=True)  # the amount of the booksync document
    tip = UnicodeAttribute(null=True)
    total = UnicodeAttribute(null=True)
    processing_fee = UnicodeAttribute(null=True)  # sum of processing_fee[] (Square's fees)
    location_id = UnicodeAttribute(null=True)
    card_brand = UnicodeAttribute(null=True)
    square_created_at = UnicodeAttribute(null=True)
    local_date = UnicodeAttribute(null=True)  # YYYY-MM-DD in the location's time zone
    error = UnicodeAttribute(null=True)  # why it is unmatched or rejected, in plain words
    square_object = JSONAttribute(null=True)  # Square's Payment/PaymentRefund as last received
    updated_at = NumberAttribute()


ALL_MODELS["square_activity_table"] = SquareActivityModel


class WaitingPayoutIndex(GlobalSecondaryIndex["PayoutModel"]):
    """Sparse: only payouts that wait carry ``waiting_key``; the sweep retries them from here."""

    class Meta:
        index_name = "waiting-index"
        projection = AllProjection()

    waiting_key = UnicodeAttribute(hash_key=True)
    first_seen_at = NumberAttribute(range_key=True)


class PayoutModel(Model):
    """A Square payout and the deposit it became (``booksync/payouts/``).

    status: received | waiting | deposited | failed | skipped | not_balanced | not_supported.
    Amounts are decimal strings in major units; ``lines`` are the planned deposit lines.
    """

    class Meta(_Meta):
        pass

    company_id = UnicodeAttribute(hash_key=True)
    payout_id = UnicodeAttribute(range_key=True)
    merchant_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="received")
    square_status = UnicodeAttribute(null=True)  # SENT | PAID | FAILED
    amount = UnicodeAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    arrival_date = UnicodeAttribute(null=True)
    end_to_end_id = UnicodeAttribute(null=True)
    payout = JSONAttribute(null=True)  # Square's Payout object as last received
    last_event_type = UnicodeAttribute(null=True)
    last_event_id = UnicodeAttribute(null=True)
    waiting_for = JSONAttribute(null=True)  # what it waits for, in plain words (list of str)
    waiting_key = UnicodeAttribute(null=True)
    waiting_index = WaitingPayoutIndex()
    reason = UnicodeAttribute(null=True)  # why it is skipped, failed or not balanced
    lines = JSONAttribute(null=True)
    lines_total = UnicodeAttribute(null=True)
    deposit_id = UnicodeAttribute(null=True)
    last_run_id = UnicodeAttribute(null=True)
    first_seen_at = NumberAttribute()
    updated_at = NumberAttribute()


ALL_MODELS["payouts_table"] = PayoutModel


class MemoryRecordModel(Model):
    """One billing record of a company's memory (``booksync/memory/records.py``), with what its
    vector was made from. Key: ``company_id`` / ``record_key`` = ``<kind>#<doc id>``. The table also
    holds the company's vectors (``MemoryVectorModel``) and its stamp (``MemoryStampModel``)."""

    class Meta(_Meta):
        pass

    company_id = UnicodeAttribute(hash_key=True)
    record_key = UnicodeAttribute(range_key=True)
    record = JSONAttribute()  # BillingRecord.to_dict(): amounts as decimal strings
    content_hash = UnicodeAttribute()  # of the record its vector was embedded from
    embedder = UnicodeAttribute()  # <model>/<dimension> that made the vector
    updated_at = NumberAttribute()


class MemoryVectorModel(Model):
    """A record's vector, int8 (``vector``: one signed byte per dimension, times ``scale``).
    Key: ``company_id`` / ``vec#<record key>``."""

    class Meta(_Meta):
        pass

    company_id = UnicodeAttribute(hash_key=True)
    record_key = UnicodeAttribute(range_key=True)
    vector = BinaryAttribute(legacy_encoding=False)
    scale = NumberAttribute()


class MemoryStampModel(Model):
    """A company's memory versions: each grows whenever one of its records (``records``) or
    vectors (``vectors``) is written, so a warm function knows its cached copy is stale.
    Key: ``company_id`` / ``#stamp``."""

    class Meta(_Meta):
        pass

    company_id = UnicodeAttribute(hash_key=True)
    record_key = UnicodeAttribute(range_key=True, default="#stamp")
    records = NumberAttribute(default=0)
    vectors = NumberAttribute(default=0)


ALL_MODELS["memory_table"] = MemoryRecordModel
SHARING["memory_table"] = (MemoryVectorModel, MemoryStampModel)
