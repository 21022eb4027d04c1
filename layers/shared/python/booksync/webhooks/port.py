"""What a provider's webhook parser hands the core, in booksync's own words."""

from __future__ import annotations

from enum import StrEnum


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
    def named(cls, word: str, spellings: dict[str, WebhookOperation]) -> tuple[WebhookOperation, str | None]:
        """The operation a provider's ``word`` means (``spellings``: lower-case word -> operation),
        and the word itself when it is none of booksync's (OTHER), so nothing it said is lost."""
        operation = spellings.get(word.lower())
        return (operation, None) if operation is not None else (cls.OTHER, word)
