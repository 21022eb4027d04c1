"""Document rows: what the business's app sent, its content hash, its links and pending state.

A document is *pending* while it has something to push: the sweep finds it through the sparse
``pending-index`` (never a scan). The marker is cleared only on condition that the content hash is
still the one that was pushed, so an edit that lands during a sync is never lost.

A payment row holds what each of its refunds takes of its amount, and an invoice row what each of
its payments applies to it (``HeldAmounts``). A refund is written together with its amount on the
payment in one transaction, on condition that the payment (its amount and its refunds) is still
the one the limit was checked against; a payment likewise with its amount on each of its invoices
(their totals and payments as read), and on condition that its refunds are unchanged; an invoice
is edited on condition that its payments are. Concurrent requests cannot both pass a check on the
same read, and no crash leaves one of the rows written without the others.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeSetAttribute
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from booksync.documents import (
    DocumentKind,
    Invoice,
    InvoiceStatus,
    Payment,
    Refund,
    _Doc,
    parse_stored,
    payment_applied,
)
from booksync.store.account_mapping import mapped_hash
from booksync.store.catalog_runs import documents_page
from booksync.store.models import DocumentModel, LinkMap

PENDING_SHARDS = 8
DELETED = "DELETED"

# DynamoDB refuses an item over 400 KB, and booksync adds to a document's row after accepting it:
# a link per provider, the ids and amounts of an invoice's payments or of a payment's refunds. The
# document itself may therefore take at most BODY_LIMIT, and what is added later is bounded so the
# whole row always fits (tests/unit/test_document_size.py fills a row to every bound).
ITEM_LIMIT = 400 * 1024
BODY_LIMIT = 256 * 1024
MAX_PAYMENTS_PER_INVOICE = 200
MAX_REFUNDS_PER_PAYMENT = 100
LINK_TEXT_LIMIT = 1000  # bytes of each text a link keeps (a provider's error message, say)


def attribute_size(value: dict[str, Any]) -> int:
    """The bytes one DynamoDB attribute value counts toward the item limit (AWS's rules)."""
    (kind, data), *_ = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        digits = data.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1 + (1 if data.startswith("-") else 0)
    if kind == "B":
        return len(data)
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: element}) for element in data)
    if kind == "L":
        return 3 + sum(1 + attribute_size(element) for element in data)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + attribute_size(element) for name, element in data.items())
    return 1  # BOOL, NULL


def item_size(row: DocumentModel) -> int:
    """The bytes ``row`` counts toward DynamoDB's 400 KB item limit."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in row.serialize().items())


def stored_sizes(doc: _Doc) -> tuple[int, dict[str, int]]:
    """The bytes a document's body takes stored (as the row's JSON attribute writes it: text
    outside ASCII escaped), and what each of its fields takes of that."""
    body = doc.model_dump(mode="json")
    return len(json.dumps(body)), {name: len(json.dumps(value)) for name, value in body.items()}


def bounded(link: LinkMap) -> LinkMap:
    """The link with each text cut to ``LINK_TEXT_LIMIT`` bytes, so that the row always fits."""
    for name in LinkMap.get_attributes():
        text = getattr(link, name)
        if isinstance(text, str) and len(text.encode()) > LINK_TEXT_LIMIT:
            cut = text.encode()[: LINK_TEXT_LIMIT - len("…".encode())].decode(errors="ignore")
            setattr(link, name, cut + "…")
    return link


def doc_key(kind: DocumentKind, doc_id: str) -> str:
    return f"{kind.value}#{doc_id}"


def number_key(number: str) -> str:
    """The key of the row that claims an invoice number for one invoice of the company (numbers
    that differ only in case are one number: the books' lookups by DocNumber ignore case)."""
    return f"claim#invoice-number#{number.strip().casefold()}"


def number_claim(company_id: str, number: str, invoice_id: str, now: float) -> DocumentModel:
    """The row by which ``invoice_id`` holds ``number`` in its company."""
    return DocumentModel(
        company_id,
        number_key(number),
        kind="claim",
        doc_id=invoice_id,
        body={"number": number},
        content_hash="claim",
        updated_at=now,
    )


def pending_bucket(kind: DocumentKind, company_id: str) -> str:
    return f"{kind.value}#{zlib.crc32(company_id.encode()) % PENDING_SHARDS}"


def pending_buckets(kind: DocumentKind) -> list[str]:
    return [f"{kind.value}#{shard}" for shard in range(PENDING_SHARDS)]


def embed_bucket(company_id: str) -> str:
    """The embed-index shard of a company's documents waiting to be embedded (billing memory)."""
    return f"embed#{zlib.crc32(company_id.encode()) % PENDING_SHARDS}"


def embed_buckets() -> list[str]:
    return [f"embed#{shard}" for shard in range(PENDING_SHARDS)]


@dataclass(frozen=True)
class PutOutcome:
    row: DocumentModel
    created: bool
    changed: bool


class StaleRead(Exception):
    """A conditional write found its row changed since it was read: nothing was written; read
    again, check again, write again."""


@dataclass(frozen=True)
class Holding:
    """Where a row keeps what other documents hold of its amount: a payment its refunds', an
    invoice its payments' (id -> decimal string), the counter that grows with every change of
    them, the held documents' ids, and what a held document's stored body holds of this row."""

    kind: DocumentKind
    amounts: MapAttribute[str, Any]
    version: NumberAttribute
    ids: UnicodeSetAttribute
    held_of: Callable[[dict[str, Any], str], Decimal | None]


REFUNDS = Holding(
    DocumentKind.REFUND,
    DocumentModel.refund_amounts,
    DocumentModel.refunds_version,
    DocumentModel.refund_ids,
    lambda body, _payment_id: Decimal(str(body["amount"])),
)
PAYMENTS = Holding(
    DocumentKind.PAYMENT,
    DocumentModel.payment_amounts,
    DocumentModel.payments_version,
    DocumentModel.payment_ids,
    lambda body, invoice_id: payment_applied(body).get(invoice_id),
)


@dataclass(frozen=True)
class HeldAmounts:
    """What the documents held by one row hold of it (id -> amount), as of ``version``: a
    payment's refunds, or an invoice's payments (``holding`` says which).

    ``version`` is None for a row no such document has been written on since booksync began
    keeping the amounts on the row (or none at all): its amounts are then read from the held
    documents' rows, and the first write stores the whole map on condition that the version is
    still absent. Migrating lazily like this needs no backfill job, and a migration racing another
    write (or another migration) fails its condition and re-reads instead of overwriting.
    """

    amounts: dict[str, Decimal]
    version: int | None
    holding: Holding = REFUNDS

    def total(self, *, but: str | None = None) -> Decimal:
        """What they add up to (but one document, when it is being replaced)."""
        return sum((amount for did, amount in self.amounts.items() if did != but), Decimal("0"))

    def unchanged(self) -> Condition:
        """The condition that none of the held documents changed since these amounts were read."""
        if self.version is None:
            return self.holding.version.does_not_exist()
        return self.holding.version == self.version

    def holds(self, doc_id: str, amount: Decimal) -> bool:
        return self.amounts.get(doc_id) == amount

    def hold(self, doc_id: str, amount: Decimal) -> list[Action]:
        """The row's update that makes ``doc_id`` hold ``amount`` (replacing what it held)."""
        amounts = {**self.amounts, doc_id: amount}
        return [
            self.holding.amounts.set({did: str(value) for did, value in amounts.items()}),
            self.holding.version.set((self.version or 0) + 1),
            self.holding.ids.add({doc_id}),
        ]


@dataclass(frozen=True)
class _Hold:
    """A row that a document written with it holds ``amount`` of (as ``doc_id``)."""

    row: DocumentModel
    held: HeldAmounts
    doc_id: str
    amount: Decimal


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


@contextmanager
def _together(what: str) -> Iterator[TransactWrite]:
    """One DynamoDB transaction: every write in it lands, or none. ``StaleRead`` when one of its
    conditions failed because another request changed ``what`` meanwhile."""
    try:
        # The model's own connection: its endpoint and region (bind_tables) and its already
        # built botocore client; a new Connection would build a second client on a cold path.
        with TransactWrite(connection=DocumentModel._get_connection().connection) as transaction:
            yield transaction
    except TransactWriteError as exc:
        if _lost_race(exc):
            raise StaleRead(f"{what} changed since read") from exc
        raise


def _written(write: _Write) -> PutOutcome:
    if write.actions:
        write.row.refresh(consistent_read=True)  # a transaction does not return the new row
    return write.outcome()


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

    def page(
        self, company_id: str, kind: DocumentKind, *, after: str | None, limit: int
    ) -> tuple[list[DocumentModel], str | None]:
        """Up to ``limit`` documents of ``kind`` after the doc_key ``after``, and where to go on."""
        return documents_page(company_id, kind, after=after, limit=limit)

    def drifted_counts(self, company_id: str, provider: str, changes: Iterable[str]) -> dict[str, int]:
        """By kind, the company's documents someone changed in the provider (``changes``)."""
        from booksync.store.links import drifted_counts  # links reads this module's pending_bucket

        return drifted_counts(company_id, provider, changes)

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
        embed: Callable[[DocumentModel | None], bool] | None = None,
    ) -> PutOutcome:
        """Store the document; an identical re-send changes nothing (idempotent PUT).

        ``condition`` guards the update of a row that exists (found, or created by another request
        meanwhile): when it fails nothing is written and ``StaleRead`` is raised. ``embed``, given
        the row as found, says whether this write marks the document to be embedded.
        """
        doc_id = str(getattr(doc, "id"))  # noqa: B009 - every document has an id
        existing = self.get(company_id, kind, doc_id)
        write = self._write(
            company_id,
            kind,
            doc,
            existing,
            now=now,
            status=status,
            pending=pending,
            sent=sent,
            embed=embed is not None and embed(existing),
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
                    embed=embed,
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
        embed: bool = False,
    ) -> _Write:
        """What storing ``doc`` over ``existing`` takes (nothing for an identical re-send).
        ``embed``: mark it to be embedded, dated ``now`` even over a mark already there (that
        mark's job then fails to clear it, and this write queues its own: a stage reached while an
        earlier one is being embedded is embedded too)."""
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
            if embed:
                row.embed_bucket, row.embed_since = embed_bucket(company_id), now
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
        if embed:
            actions += [
                DocumentModel.embed_bucket.set(embed_bucket(company_id)),
                DocumentModel.embed_since.set(now),
            ]
        return _Write(existing, actions=tuple(actions))

    def held(self, row: DocumentModel | None, holding: Holding) -> HeldAmounts:
        """What the documents ``row`` holds (its refunds, or its payments) take of it, as stored on
        it or, before any was written with the amounts kept there, as their rows say."""
        if row is None:
            return HeldAmounts({}, None, holding)
        version = getattr(row, holding.version.attr_name)
        if version is not None:
            stored = getattr(row, holding.amounts.attr_name)
            amounts = stored.as_dict() if stored is not None else {}
            return HeldAmounts(
                {did: Decimal(str(amount)) for did, amount in amounts.items()}, int(version), holding
            )
        ids = getattr(row, holding.ids.attr_name) or ()
        rows = self.get_many(row.company_id, holding.kind, ids)
        legacy = {did: holding.held_of(held.body, row.doc_id) for did, held in rows.items()}
        return HeldAmounts(
            {did: amount for did, amount in legacy.items() if amount is not None}, None, holding
        )

    def put_refund(
        self,
        refund: Refund,
        *,
        existing: DocumentModel | None,
        payment: DocumentModel,
        held: HeldAmounts,
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
        return self._write_holding(
            write,
            [_Hold(payment, held, refund.id, refund.amount)],
            guard=DocumentModel.content_hash == write.row.content_hash,
            what=f"payment {payment.doc_id} or refund {refund.id}",
        )

    def put_payment(
        self,
        payment: Payment,
        *,
        company_id: str,
        existing: DocumentModel | None,
        refunds: HeldAmounts,
        invoices: Sequence[tuple[DocumentModel, HeldAmounts]],
        now: float,
        pending: bool,
        embed: bool = False,
    ) -> PutOutcome:
        """Store the payment and what it applies to each of its invoices in one transaction.

        The conditions: each invoice's payments are still its ``HeldAmounts`` and its content (its
        total) is the one read; the payment's refunds are still ``refunds`` and its row is still
        ``existing``. The caller checked open balances and refunds against exactly those;
        otherwise ``StaleRead`` and nothing is written. No crash can leave a payment that its
        invoice does not list (it would never sync), or two payments both fitting one balance.
        """
        write = self._write(
            company_id,
            DocumentKind.PAYMENT,
            payment,
            existing,
            now=now,
            status=None,
            pending=pending,
            sent=False,
            embed=embed,
        )
        applied = {a.invoice_id: a.amount for a in payment.applied}
        guard = refunds.unchanged()
        if existing is not None:
            guard &= DocumentModel.content_hash == existing.content_hash
        return self._write_holding(
            write,
            [_Hold(row, held, payment.id, applied[row.doc_id]) for row, held in invoices],
            guard=guard,
            what=f"payment {payment.id} or its invoices",
        )

    @staticmethod
    def _write_holding(write: _Write, holds: Sequence[_Hold], *, guard: Condition, what: str) -> PutOutcome:
        """Write a document and what it holds of other rows (its payment's, its invoices') in one
        transaction, on condition that each of those rows is as read and that the document's own
        row is (``guard``); ``StaleRead`` when one changed meanwhile: nothing is written."""
        needed = [hold for hold in holds if not hold.held.holds(hold.doc_id, hold.amount)]
        if not write.changed and not needed:
            return write.outcome()  # an identical re-send: already recorded and held
        with _together(what) as transaction:
            for hold in needed:
                transaction.update(
                    hold.row,
                    actions=hold.held.hold(hold.doc_id, hold.amount),
                    condition=hold.held.unchanged() & (DocumentModel.content_hash == hold.row.content_hash),
                )
            if write.created:
                transaction.save(write.row, condition=DocumentModel.doc_key.does_not_exist())
            elif write.actions:
                transaction.update(write.row, actions=list(write.actions), condition=guard)
        return _written(write)

    def number_owner(self, company_id: str, number: str) -> str | None:
        """The invoice that holds ``number``, if one does."""
        try:
            claim = DocumentModel.get(company_id, number_key(number), consistent_read=True)
        except DocumentModel.DoesNotExist:
            return None
        return str(claim.doc_id)

    def put_invoice(
        self,
        company_id: str,
        invoice: Invoice,
        *,
        existing: DocumentModel | None,
        paid: HeldAmounts,
        number_owner: str | None,
        now: float,
        pending: bool,
        embed: bool = False,
    ) -> PutOutcome:
        """Store the invoice with the claim on its number in one transaction (and give up the
        claim on its former number if it held it), on condition that no other invoice holds the
        number, that its payments are still ``paid`` and its row still ``existing``; ``StaleRead``
        otherwise: two invoices created at once with one number cannot both be stored.

        ``number_owner`` is the invoice the caller found holding the number: when it is another
        one, the caller let through an invoice stored before numbers were claimed that keeps the
        number it shares; it is stored without claiming it (the claim stays the other's)."""
        write = self._write(
            company_id,
            DocumentKind.INVOICE,
            invoice,
            existing,
            now=now,
            status=invoice.status.value,
            pending=pending,
            sent=invoice.status != InvoiceStatus.DRAFT,
            embed=embed,
        )
        if not write.changed:
            return write.outcome()
        claim = number_key(invoice.number)
        ours = DocumentModel.doc_key.does_not_exist() | (DocumentModel.doc_id == invoice.id)
        with _together(f"invoice {invoice.id} or its number") as transaction:
            if write.created:
                transaction.save(write.row, condition=DocumentModel.doc_key.does_not_exist())
            else:
                assert existing is not None
                guard = paid.unchanged() & (DocumentModel.content_hash == existing.content_hash)
                transaction.update(write.row, actions=list(write.actions), condition=guard)
            if number_owner in (None, invoice.id):
                transaction.save(number_claim(company_id, invoice.number, invoice.id, now), condition=ours)
            if existing is not None and number_key(str(existing.body["number"])) != claim:
                self._release_number(transaction, company_id, str(existing.body["number"]), invoice.id)
        return _written(write)

    def mark_deleted(self, row: DocumentModel, *, now: float, pending: bool) -> DocumentModel:
        """A tombstone: the body stays for history; the hash changes so the deletion is pushed once.
        A deleted invoice gives up its number (deleted in the books too, the number is free)."""
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
        if row.kind != DocumentKind.INVOICE.value:
            row.update(actions=actions)
            return row
        # On condition that it is still the invoice the caller checked: the same content (so the
        # same number) and no payment recorded on it meanwhile; ``StaleRead`` otherwise.
        checked = (
            DocumentModel.content_hash == row.content_hash
        ) & DocumentModel.payment_ids.does_not_exist()
        with _together(f"invoice {row.doc_id}") as transaction:
            transaction.update(row, actions=actions, condition=checked)
            self._release_number(transaction, row.company_id, str(row.body["number"]), row.doc_id)
        row.refresh(consistent_read=True)
        return row

    def _release_number(
        self, transaction: TransactWrite, company_id: str, number: str, invoice_id: str
    ) -> None:
        """Give up the claim on ``number`` in ``transaction`` if ``invoice_id`` holds it. An invoice
        stored before numbers were claimed may share its number with the invoice that holds it:
        that claim is the other invoice's and stays."""
        if self.number_owner(company_id, number) == invoice_id:
            transaction.delete(
                DocumentModel(company_id, number_key(number)), condition=DocumentModel.doc_id == invoice_id
            )

    def mark_pending(self, row: DocumentModel, now: float) -> None:
        row.update(
            actions=[
                DocumentModel.pending_bucket.set(pending_bucket(DocumentKind(row.kind), row.company_id)),
                DocumentModel.pending_since.set(DocumentModel.pending_since | now),
            ]
        )

    def save_link(self, row: DocumentModel, provider: str, link: LinkMap) -> None:
        """Store the provider's link whole. DynamoDB refuses a path into a map the row does not
        have yet: a row's first link in ``links`` stores the map with it, on condition that no
        other writer stored one meanwhile (the map is never removed: the link then goes in it)."""
        link = bounded(link)
        entry = DocumentModel.link_attribute(provider).set(link)
        if DocumentModel.keeps_own_link(provider):
            row.update(actions=[entry])
            return
        for action, condition in (
            (entry, DocumentModel.links.exists()),
            (DocumentModel.links.set({provider: link}), DocumentModel.links.does_not_exist()),
        ):
            try:
                row.update(actions=[action], condition=condition)
                return
            except UpdateError as exc:
                if not _conditional_failed(exc):
                    raise
        row.update(actions=[entry])

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

    # -- the billing memory's marks (memory/feed.py) ----------------------------------------------
    def waiting_embeds(self, bucket: str, *, older_than: float, limit: int) -> list[DocumentModel]:
        """Up to ``limit`` documents marked to be embedded since ``older_than`` or before (keys and
        mark only: the index keeps no more)."""
        return list(
            DocumentModel.embed_index.query(bucket, DocumentModel.embed_since <= older_than, limit=limit)
        )

    def clear_embed(self, row: DocumentModel) -> bool:
        """Remove the row's embed mark, on condition that it is still the one read (a document
        marked again meanwhile keeps its mark for its own message)."""
        return self._if_embed_mark(
            row, [DocumentModel.embed_bucket.remove(), DocumentModel.embed_since.remove()]
        )

    def restamp_embed(self, row: DocumentModel, now: float) -> bool:
        """Date the row's embed mark ``now`` (its job queued again), if it is still the one read."""
        return self._if_embed_mark(row, [DocumentModel.embed_since.set(now)])

    @staticmethod
    def _if_embed_mark(row: DocumentModel, actions: list[Action]) -> bool:
        if row.embed_since is None:
            return False
        try:
            row.update(actions=actions, condition=DocumentModel.embed_since == row.embed_since)
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True
