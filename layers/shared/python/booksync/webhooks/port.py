"""What a provider's webhook parts hand the core, in booksync's own words: the operation, one
change to one record (``ChangeEvent``), and what a provider declares so the generic consumer
(``webhooks/events.py``) can read its deliveries (``ChangeFeed``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from booksync.documents import DocumentKind


class WebhookOperation(StrEnum):
    """What happened to an object in the provider. Each provider package maps its own spelling
    (Intuit's ``Update`` or CloudEvents' ``updated``, Xero's ``UPDATE``, FreshBooks'
    ``invoice.update``) to one of these; the values are the words booksync records (a link's
    drift, the API's ``drift.change``, history counts) and has always recorded."""

    CREATE = "Create"
    UPDATE = "Update"
    DELETE = "Delete"
    MERGE = "Merge"
    VOID = "Void"
    EMAILED = "Emailed"
    OTHER = "Other"  # nothing booksync acts on; the provider's own word travels beside it

    @classmethod
    def named(
        cls, word: str, spellings: Mapping[str, WebhookOperation]
    ) -> tuple[WebhookOperation, str | None]:
        """The operation a provider's ``word`` means (``spellings``: lower-case word -> operation),
        and the word itself when it is none of booksync's (OTHER), so nothing it said is lost."""
        operation = spellings.get(word.lower())
        return (operation, None) if operation is not None else (cls.OTHER, word)


# booksync's own words, as a queued event carries them.
OWN_SPELLINGS: Mapping[str, WebhookOperation] = {op.value.lower(): op for op in WebhookOperation}


@dataclass(frozen=True)
class ChangeEvent:
    """One change to one record of one provider account (a QuickBooks realm, a Xero tenant, a
    FreshBooks account), whichever format it arrived in. A thin event (Xero's, FreshBooks') names
    the record and little else; ``fetched`` is the event made whole from the record itself."""

    event_id: str
    account_id: str
    entity: str  # the provider's own name of the record's type ("Invoice", "INVOICE", "invoice")
    entity_id: str
    operation: WebhookOperation
    occurred_at: str | None = None
    # Merge: the id that was merged away (the event's entity_id is the one that survives).
    merged_away_id: str | None = None
    # The provider's own verb when it is none of booksync's operations (OTHER: one added later).
    provider_operation: str | None = None
    # The record's version as fetched for a thin event (None: not fetched, or unversioned).
    version: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(
        cls, item: Mapping[str, Any], spellings: Mapping[str, WebhookOperation] = OWN_SPELLINGS
    ) -> ChangeEvent:
        """An event as ``to_json`` queued it. A message queued by an older booksync is read the
        same way: its operation may be the provider's verb (``spellings``) and its account
        ``realm_id``."""
        fields = dict(item)
        if "realm_id" in fields:
            fields["account_id"] = fields.pop("realm_id")
        operation, word = WebhookOperation.named(str(fields["operation"]), {**OWN_SPELLINGS, **spellings})
        if operation is WebhookOperation.OTHER and fields.get("provider_operation"):
            word = str(fields["provider_operation"])
        return cls(**{**fields, "operation": operation, "provider_operation": word})

    @property
    def recorded_operation(self) -> str:
        """What the event's row records: booksync's word, or the provider's for one booksync has none for."""
        return self.provider_operation or self.operation.value

    def fetched(self, version: str | None, *, exists: bool, voided: bool = False) -> ChangeEvent:
        """This event as the record fetched for it says: gone (a delete), voided (a void), or
        changed at ``version``."""
        if not exists:
            return replace(self, operation=WebhookOperation.DELETE, provider_operation=None)
        if voided:
            return replace(self, operation=WebhookOperation.VOID, provider_operation=None, version=version)
        return replace(self, version=version)


@dataclass(frozen=True)
class ChangeFeed:
    """What an accounting provider declares so the generic consumer reads its deliveries: how a
    queued body becomes its changes, how an event queued alone (a delivery too big for one
    message) is read back, and which of its record types are booksync's documents."""

    parse: Callable[[str], list[ChangeEvent]]  # raises ValueError saying what is wrong
    read_queued: Callable[[Mapping[str, Any]], ChangeEvent]
    kinds: Mapping[str, DocumentKind]  # the provider's record type -> booksync's document kind
    # Its events name a record and not what it now holds (Xero, FreshBooks: type and id): the
    # consumer fetches the record through the adapter and acts on what it finds.
    thin: bool = False
