"""Document rows: what the business's app sent, its content hash, its links and pending state.

A document is *pending* while it has something to push: the sweep finds it through the sparse
``pending-index`` (never a scan). The marker is cleared only on condition that the content hash is
still the one that was pushed, so an edit that lands during a sync is never lost.

A payment row holds what each of its refunds takes of its amount (``RefundAmounts``). A refund is
written together with its amount on the payment in one transaction, on condition that the payment
(its amount and its refunds) is still the one the limit was checked against; a payment is edited
on condition that its refunds are. Concurrent requests cannot both pass the check on the same read.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from booksync.documents import DocumentKind, Refund, _Doc, parse_stored
from booksync.store.account_mapping import mapped_hash
from booksync.store.models import DocumentModel, LinkMap

PENDING_SHARDS = 8
DELETED = "DELETED"


def doc_key(kind: DocumentKind, doc_id: str) -> str:
    return f"{kind.value}#{doc_id}"


def pending_bucket(kind: DocumentKind, company_id: str) -> str:
    return f"{kind.value}#{zlib.crc32(company_id.encode()) % PENDING_SHARDS}"


def pending_buckets(kind: DocumentKind) -> list[str]:
    return [f"{kind.value}#{shard}" for shard in range(PENDING_SHARDS)]


@dataclass(frozen=True)
class PutOutcome:
    row: DocumentModel
    created: bool
    changed: bool


class StaleRead(Exception):
    """A conditional write found its row changed since it was read: nothing was written; read
    again, check again, write again."""


@dataclass(frozen=True)
class RefundAmounts:
    """What a payment's refunds hold of its amount (refund id -> amount), as of ``version``.

    ``version`` is None for a payment no refund has been written on since booksync began keeping
    the amounts on the payment row (or none at all): its amounts are then read from its refund
    rows, and the first refund written stores the whole map on condition that the version is still
    absent. Migrating lazily like this needs no backfill job, and a migration racing another
    refund (or another migration) fails its condition and re-reads instead of overwriting.
    """

    amounts: dict[str, Decimal]
    version: int | None

    def total(self, *, but: str | None = None) -> Decimal:
        """What they add up to (but one refund, when it is being replaced)."""
        return sum((amount for rid, amount in self.amounts.items() if rid != but), Decimal("0"))

    def unchanged(self) -> Condition:
        """The condition that no refund of the payment changed since these amounts were read."""
        if self.version is None:
            return DocumentModel.refunds_version.does_not_exist()
        return DocumentModel.refunds_version == self.version

    def holding(self, refund: Refund) -> list[Action]:
        """The payment's update that makes ``refund`` hold its amount (replacing what it held)."""
        amounts = {**self.amounts, refund.id: refund.amount}
        return [
            DocumentModel.refund_amounts.set({rid: str(amount) for rid, amount in amounts.items()}),
            DocumentModel.refunds_version.set((self.version or 0) + 1),
            DocumentModel.refund_ids.add({refund.id}),
        ]


@dataclass(frozen=True)
class _Write:
    """One document's write, to run alone or in a transaction: a new row saved whole
    (``created``), the fields a PUT owns updated (``actions``), or nothing at all when the stored
    document is already this one."""

    row: DocumentModel
    created: bool = False
    actions: tuple[Action, ...] = ()

    @property
    def changed(self) -> bool:
        return self.created or bool(self.actions)

    def outcome(self) -> PutOutcome:
        return PutOutcome(self.row, created=self.created, changed=self.changed)


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _lost_race(exc: UpdateError | TransactWriteError) -> bool:
    """Did the write lose to another request: its condition failed, or the row was in the middle
    of another request's transaction? (Anything else, e.g. a refused item, is no race.)"""
    if isinstance(exc, TransactWriteError):
        reasons = {reason.code for reason in exc.cancellation_reasons if reason is not None}
        return bool(reasons) and reasons <= {"ConditionalCheckFailed", "TransactionConflict"}
    return exc.cause_response_code in {"ConditionalCheckFailedException", "TransactionConflictException"}


class DocumentRepository:
    def get(self, company_id: str, kind: DocumentKind, doc_id: str) -> DocumentModel | None:
        try:
            return DocumentModel.get(company_id, doc_key(kind, doc_id), consistent_read=True)
        except DocumentModel.DoesNotExist:
            return None

    def get_many(
        self, company_id: str, kind: DocumentKind, doc_ids: Iterable[str]
    ) -> dict[str, DocumentModel]:
        keys = [(company_id, doc_key(kind, doc_id)) for doc_id in dict.fromkeys(doc_ids)]
        return (
            {row.doc_id: row for row in DocumentModel.batch_get(keys, consistent_read=True)} if keys else {}
        )

    def parse(self, row: DocumentModel) -> Any:
        return parse_stored(DocumentKind(row.kind), row.body)

    def put(
        self,
        company_id: str,
        kind: DocumentKind,
        doc: _Doc,
        *,
        now: float,
        status: str | None = None,
        pending: bool,
        sent: bool = False,
        condition: Condition | None = None,
    ) -> PutOutcome:
        """Store the document; an identical re-send changes nothing (idempotent PUT).

        ``condition`` guards the update of a row that exists (found, or created by another request
        meanwhile): when it fails nothing is written and ``StaleRead`` is raised.
        """
        doc_id = str(getattr(doc, "id"))  # noqa: B009 - every document has an id
        existing = self.get(company_id, kind, doc_id)
        write = self._write(
            company_id, kind, doc, existing, now=now, status=status, pending=pending, sent=sent
        )
        if write.created:
            try:
                write.row.save(condition=DocumentModel.doc_key.does_not_exist())
            except PutError as exc:
                if not _conditional_failed(exc):
                    raise
                # Another request created it a moment ago: apply this one as an update.
                return self.put(
                    company_id,
                    kind,
                    doc,
                    now=now,
                    status=status,
                    pending=pending,
                    sent=sent,
                    condition=condition,
                )
        elif write.actions:
            try:
                write.row.update(actions=list(write.actions), condition=condition)
            except UpdateError as exc:
                if condition is not None and _lost_race(exc):
                    raise StaleRead(f"{kind.value} {doc_id} changed since it was read") from exc
                raise
        return write.outcome()

    def _write(
        self,
        company_id: str,
        kind: DocumentKind,
        doc: _Doc,
        existing: DocumentModel | None,
        *,
        now: float,
        status: str | None,
        pending: bool,
        sent: bool,
    ) -> _Write:
        """What storing ``doc`` over ``existing`` takes (nothing for an identical re-send)."""
        doc_id = str(getattr(doc, "id"))  # noqa: B009 - every document has an id
        # An item's account mapping is part of what is pushed, so of its hash.
        content_hash = mapped_hash(doc.content_hash(), existing)
        if existing is not None and existing.content_hash == content_hash:
            return _Write(existing)
        body = doc.model_dump(mode="json")
        if existing is None:
            row = DocumentModel(
                company_id,
                doc_key(kind, doc_id),
                kind=kind.value,
                doc_id=doc_id,
                body=body,
                content_hash=content_hash,
                status=status,
                updated_at=now,
                sent_at=now if sent else None,
            )
            if pending:
                row.pending_bucket, row.pending_since = pending_bucket(kind, company_id), now
            return _Write(row, created=True)
        # Only the fields a PUT owns: links and payment ids written meanwhile by workers and
        # other requests must survive (a whole-row save would lose them).
        actions: list[Action] = [
            DocumentModel.body.set(body),
            DocumentModel.content_hash.set(content_hash),
            DocumentModel.status.set(status) if status is not None else DocumentModel.status.remove(),
            DocumentModel.updated_at.set(now),
        ]
        if sent:
            actions.append(DocumentModel.sent_at.set(DocumentModel.sent_at | now))
        if pending:
            actions.append(DocumentModel.pending_bucket.set(pending_bucket(kind, company_id)))
            actions.append(DocumentModel.pending_since.set(DocumentModel.pending_since | now))
        else:
            actions += [DocumentModel.pending_bucket.remove(), DocumentModel.pending_since.remove()]
        return _Write(existing, actions=tuple(actions))

    def refund_amounts(self, payment: DocumentModel | None) -> RefundAmounts:
        """What the payment's refunds hold of it, as stored on it or, before any refund was
        written with the amounts kept there, as its refund rows say (see ``RefundAmounts``)."""
        if payment is None:
            return RefundAmounts({}, None)
        if payment.refunds_version is not None:
            stored = payment.refund_amounts.as_dict() if payment.refund_amounts is not None else {}
            return RefundAmounts(
                {rid: Decimal(str(amount)) for rid, amount in stored.items()}, int(payment.refunds_version)
            )
        rows = self.get_many(payment.company_id, DocumentKind.REFUND, payment.refund_ids or ())
        return RefundAmounts({rid: Decimal(str(row.body["amount"])) for rid, row in rows.items()}, None)

    def put_refund(
        self,
        refund: Refund,
        *,
        existing: DocumentModel | None,
        payment: DocumentModel,
        held: RefundAmounts,
        now: float,
        pending: bool,
    ) -> PutOutcome:
        """Store the refund and what it holds of its payment in one transaction.

        The conditions: the payment's refunds are still ``held`` and its content (its amount) is
        the one read, and the refund row is still ``existing``. The caller checked the limit
        against exactly those, so it still holds; otherwise ``StaleRead`` and nothing is written.
        One transaction, not two writes: no crash can leave a refund without its amount on the
        payment, or an amount on the payment that its refund row no longer has.
        """
        write = self._write(
            payment.company_id,
            DocumentKind.REFUND,
            refund,
            existing,
            now=now,
            status=None,
            pending=pending,
            sent=False,
        )
        if not write.changed and held.amounts.get(refund.id) == refund.amount:
            return write.outcome()  # an identical re-send: already recorded and held
        try:
            # The model's own connection: its endpoint and region (bind_tables) and its already
            # built botocore client; a new Connection would build a second client on a cold path.
            with TransactWrite(connection=DocumentModel._get_connection().connection) as transaction:
                transaction.update(
                    payment,
                    actions=held.holding(refund),
                    condition=held.unchanged() & (DocumentModel.content_hash == payment.content_hash),
                )
                if write.created:
                    transaction.save(write.row, condition=DocumentModel.doc_key.does_not_exist())
                elif write.actions:
                    transaction.update(
                        write.row,
                        actions=list(write.actions),
                        condition=DocumentModel.content_hash == write.row.content_hash,
                    )
        except TransactWriteError as exc:
            if _lost_race(exc):
                raise StaleRead(f"payment {payment.doc_id} or refund {refund.id} changed since read") from exc
            raise
        if write.actions:
            write.row.refresh(consistent_read=True)  # a transaction does not return the new row
        return write.outcome()

    def mark_deleted(self, row: DocumentModel, *, now: float, pending: bool) -> DocumentModel:
        """A tombstone: the body stays for history; the hash changes so the deletion is pushed once."""
        actions: list[Action] = [
            DocumentModel.status.set(DELETED),
            DocumentModel.content_hash.set(f"{row.content_hash[:56]}:deleted"),
            DocumentModel.updated_at.set(now),
        ]
        if pending:
            actions += [
                DocumentModel.pending_bucket.set(pending_bucket(DocumentKind(row.kind), row.company_id)),
                DocumentModel.pending_since.set(now),
            ]
        else:
            actions += [DocumentModel.pending_bucket.remove(), DocumentModel.pending_since.remove()]
        row.update(actions=actions)
        return row

    def add_payment(self, invoice: DocumentModel, payment_id: str) -> None:
        invoice.update(actions=[DocumentModel.payment_ids.add({payment_id})])

    def mark_pending(self, row: DocumentModel, now: float) -> None:
        row.update(
            actions=[
                DocumentModel.pending_bucket.set(pending_bucket(DocumentKind(row.kind), row.company_id)),
                DocumentModel.pending_since.set(DocumentModel.pending_since | now),
            ]
        )

    def save_link(self, row: DocumentModel, provider: str, link: LinkMap) -> None:
        attribute = getattr(DocumentModel, f"link_{provider}")
        row.update(actions=[attribute.set(link)])

    def clear_pending(self, row: DocumentModel, pushed_hash: str) -> bool:
        """Clear the pending marker if nothing changed since ``pushed_hash`` was pushed."""
        try:
            row.update(
                actions=[DocumentModel.pending_bucket.remove(), DocumentModel.pending_since.remove()],
                condition=DocumentModel.content_hash == pushed_hash,
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def pending(self, bucket: str, *, older_than: float, limit: int = 500) -> Iterator[DocumentModel]:
        return iter(
            DocumentModel.pending_index.query(bucket, DocumentModel.pending_since <= older_than, limit=limit)
        )

    def sent_since(self, company_id: str, since: float) -> Iterator[DocumentModel]:
        return iter(DocumentModel.sent_index.query(company_id, DocumentModel.sent_at >= since))
