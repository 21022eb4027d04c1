"""A link is one-to-one (design.md): one claim row per remote object, taken before a link is stored.

A claim is a conditional put in the Intents table, keyed by company, provider, remote kind and
remote id, naming the booksync document that holds it. The first document to claim an object
keeps it; any other worker, however concurrent, loses the claim and must create its own object
instead of linking to this one. Claiming again for the same document is a no-op, so a worker
killed between the claim and the link finds its claim on retry. Claims carry no TTL: the
promise lasts as long as the link may.
"""

from __future__ import annotations

from pynamodb.exceptions import PutError

from booksync.documents import DocumentKind
from booksync.store.models import IntentModel


def claim_key(company_id: str, provider: str, kind: DocumentKind, remote_id: str) -> str:
    return f"link#{company_id}#{provider}#{kind.value}#{remote_id}"


class LinkClaims:
    def claim(
        self, company_id: str, provider: str, kind: DocumentKind, remote_id: str, doc_id: str, *, now: float
    ) -> bool:
        """True when ``doc_id`` holds ``remote_id`` (newly or already); False when another does."""
        key = claim_key(company_id, provider, kind, remote_id)
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

    def holder(self, company_id: str, provider: str, kind: DocumentKind, remote_id: str) -> str | None:
        """The document that holds ``remote_id``, if any."""
        try:
            row = IntentModel.get(claim_key(company_id, provider, kind, remote_id), consistent_read=True)
        except IntentModel.DoesNotExist:
            return None
        return row.claimed_by
