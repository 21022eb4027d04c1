"""A link is one-to-one (design.md): one claim row per remote object, taken before a link is stored.

A claim is a conditional put in the Intents table, keyed by company, provider, the provider
account the connection is on (QuickBooks realm, Square seller) and the remote kind and id,
naming the booksync document that holds it. Remote ids are unique only within one provider
account: id 58 in one QuickBooks company and id 58 in another are two customers, so the account
is part of the key. The first document to claim an object keeps it; any other worker, however
concurrent, loses the claim and must create its own object instead of linking to this one.
Claiming again for the same document is a no-op, so a worker killed between the claim and the
link finds its claim on retry. Claims carry no TTL: the promise lasts as long as the link may.

Claims taken before the account was part of the key (``legacy_claim_key``) still hold their
object, in whichever account: nothing writes them any more, so reading one before a claim is
enough to keep its promise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pynamodb.exceptions import PutError

from booksync.documents import DocumentKind
from booksync.store.documents import DocumentRepository
from booksync.store.models import ConnectionModel, DocumentModel, IntentModel, LinkMap

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkScope:
    """Where remote ids are unique: one company's connection to one provider account."""

    company_id: str
    provider: str
    account_id: str

    @classmethod
    def of(cls, connection: ConnectionModel) -> LinkScope:
        return cls(str(connection.company_id), str(connection.provider), str(connection.account_id or ""))


def claim_key(scope: LinkScope, kind: DocumentKind, remote_id: str) -> str:
    return f"link#{scope.company_id}#{scope.provider}#{scope.account_id}#{kind.value}#{remote_id}"


def legacy_claim_key(scope: LinkScope, kind: DocumentKind, remote_id: str) -> str:
    """The key claims had before the provider account was part of it."""
    return f"link#{scope.company_id}#{scope.provider}#{kind.value}#{remote_id}"


class LinkClaims:
    def claim(self, scope: LinkScope, kind: DocumentKind, remote_id: str, doc_id: str, *, now: float) -> bool:
        """True when ``doc_id`` holds ``remote_id`` (newly or already); False when another does."""
        legacy = self._holder(legacy_claim_key(scope, kind, remote_id))
        if legacy is not None and legacy != doc_id:
            return False
        key = claim_key(scope, kind, remote_id)
        try:
            IntentModel(
                key,
                request_id=key,
                state="claimed",
                claimed_by=doc_id,
                created_at=now,
                updated_at=now,
            ).save(condition=IntentModel.intent_key.does_not_exist() | (IntentModel.claimed_by == doc_id))
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def claim_stored(
        self,
        scope: LinkScope,
        kind: DocumentKind,
        row: DocumentModel,
        link: LinkMap,
        documents: DocumentRepository,
        *,
        now: float,
    ) -> bool:
        """A link stored before claims existed: claim its object now (the link is saved claimed).
        When another document holds it (the two were merged then), this one lets go: the link
        keeps no object, its next generation gets one of its own, and False says so."""
        assert link.remote_id is not None
        if self.claim(scope, kind, link.remote_id, row.doc_id, now=now):
            link.claimed = True
            documents.save_link(row, scope.provider, link)
            return True
        logger.warning(
            "a link shared with another document is given up",
            extra={"company_id": scope.company_id, "doc": row.doc_key, "remote_id": link.remote_id},
        )
        link.remote_id, link.version, link.pushed_hash = None, None, None
        link.generation = int(link.generation or 0) + 1
        return False

    def holder(self, scope: LinkScope, kind: DocumentKind, remote_id: str) -> str | None:
        """The document that holds ``remote_id``, if any."""
        return self._holder(claim_key(scope, kind, remote_id)) or self._holder(
            legacy_claim_key(scope, kind, remote_id)
        )

    @staticmethod
    def _holder(key: str) -> str | None:
        try:
            row = IntentModel.get(key, consistent_read=True)
        except IntentModel.DoesNotExist:
            return None
        return row.claimed_by
