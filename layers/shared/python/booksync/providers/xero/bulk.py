"""``XeroCatalog``: the bulk catalog port (``providers/bulk.py``) over Xero's arrays.

- Writes: up to 50 contacts or items in one request (Xero's advice for an array; a request holds
  at most 3.5 MB), creates by ``PUT`` and updates by ``POST`` naming their ids, both with
  ``summarizeErrors=false``: each element answers for itself, so one refused element (a name
  another contact holds, an item code taken) is that document's answer and the others are saved.
  A chunk of both creates and updates is two requests, each with an Idempotency-Key of the
  batch's intent.
- Lookups: Xero counts every call against the same 60 a minute and its daily cap, so the walk's
  lookups before a create do not cost a query per document: the first of an invocation reads
  the organisation's items (``GET /Items`` answers them all) or contacts (archived included,
  1,000 a page) once, and each page's documents are matched against that listing as the adapter
  matches one (``adapter.contact_among``, ``item_among``: ContactNumber, else a name surely
  ours; Code). Xero keeps contact names and item codes unique, so a record someone else made
  after that read is not missed: creating over it is refused as a duplicate, and a refused
  document is looked up afresh.
- After an uncertain outcome (a request that failed after it may have been applied, or an
  element left unanswered) and after a duplicate refusal, those documents are looked up afresh
  with a query naming them (``where`` ContactNumber / Name, Code), never in a listing read before
  the write: what the write made is found before anything is sent again.
- Every request passes the walk's limiter (``pacing``) within the invocation's deadline, and, in
  the client, the organisation's gate shared with every other process (``sync/rate_limits.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from booksync.documents import Customer, Item
from booksync.errors import DuplicateName, Rejected
from booksync.providers.bulk import CatalogAnswer, CatalogWrite, Gate, paced
from booksync.providers.port import ItemRefs, Named, RemoteObject
from booksync.providers.text import name_key
from booksync.providers.xero import mapping
from booksync.providers.xero.adapter import XeroProvider, contact_among, item_among
from booksync.providers.xero.client import XeroClient, quote
from booksync.providers.xero.faults import element_error
from booksync.providers.xero.oauth import LABEL

Json = dict[str, Any]
T = TypeVar("T")
CONTACTS, ITEMS = "Contacts", "Items"
# Elements of one array: Xero's advice ("batch elements in bundles of up to 50").
ARRAY_SIZE = 50
# The longest ``where`` filter one lookup sends (it travels in the URL) and the ids one ``IDs``
# list names: Xero answers 404 past about 52 ids in a URL.
WHERE_MAX = 1500
IDS_MAX = 40


@dataclass
class _Listing:
    """Rows of one collection, reachable by each key a document may be matched on."""

    by_key: dict[str, list[Json]] = field(default_factory=dict)

    @classmethod
    def of(cls, collection: str, rows: Iterable[Json]) -> _Listing:
        listing = cls()
        for row in rows:
            for key in _row_keys(collection, row):
                listing.by_key.setdefault(key, []).append(row)
        return listing

    def candidates(self, keys: Sequence[str]) -> list[Json]:
        seen: dict[int, Json] = {}
        for key in keys:
            for row in self.by_key.get(key, ()):
                seen.setdefault(id(row), row)
        return list(seen.values())


def _row_keys(collection: str, row: Json) -> list[str]:
    if collection == ITEMS:
        return [f"code:{row['Code']}"] if row.get("Code") else []
    keys = [f"name:{name_key(str(row.get('Name') or ''))}"]
    if row.get("ContactNumber"):
        keys.append(f"number:{row['ContactNumber']}")
    return keys


def _keys(document: Customer | Item) -> list[str]:
    """What the document is matched on; none when it cannot be sent (its write says why)."""
    try:
        if isinstance(document, Customer):
            return [
                f"number:{mapping.contact_number(document)}",
                f"name:{name_key(mapping.contact_name(document))}",
            ]
        return [f"code:{mapping.item_code(document)}"]
    except Rejected:
        return []


def _where(document: Customer | Item) -> str | None:
    """The ``where`` clause that finds the document's candidates afresh."""
    try:
        if isinstance(document, Customer):
            number, name = mapping.contact_number(document), mapping.contact_name(document)
            return f"ContactNumber=={quote(number)} OR Name=={quote(name)}"
        return f"Code=={quote(mapping.item_code(document))}"
    except Rejected:
        return None


def _filters(clauses: Sequence[str]) -> list[str]:
    """The clauses joined by OR, as few filters as fit in ``WHERE_MAX`` each."""
    filters: list[str] = []
    current = ""
    for clause in clauses:
        joined = f"{current} OR {clause}" if current else clause
        if current and len(joined) > WHERE_MAX:
            filters.append(current)
            joined = clause
        current = joined
    return [*filters, current] if current else filters


class XeroCatalog:
    batch_size = ARRAY_SIZE

    def __init__(
        self, client: XeroClient, pacing: Gate, *, deadline: Callable[[], float | None] = lambda: None
    ) -> None:
        self._client = client
        self._pacing = pacing
        self._deadline = deadline
        self._single = XeroProvider(client)
        self._lock = threading.Lock()
        self._chart = threading.Lock()
        self._listings: dict[str, _Listing] = {}
        # Documents whose earlier write may have made something the listings do not show.
        self._doubtful: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ lookups

    def find_customers(self, customers: Sequence[Customer]) -> Mapping[str, RemoteObject]:
        found = self._found(CONTACTS, customers)
        return _matched({c.id: contact_among(c, found[c.id]) for c in customers})

    def find_items(self, items: Sequence[Item]) -> Mapping[str, RemoteObject]:
        found = self._found(ITEMS, items)
        return _matched({i.id: item_among(i, found[i.id]) for i in items})

    def _found(self, collection: str, documents: Sequence[Customer | Item]) -> dict[str, list[Json]]:
        """Each document's candidate rows: from the invocation's listing, or read afresh for
        those whose earlier write is in doubt."""
        with self._lock:
            doubt = {d.id for d in documents if (collection, d.id) in self._doubtful}
        doubtful = [d for d in documents if d.id in doubt]
        settled = [d for d in documents if d.id not in doubt]
        found: dict[str, list[Json]] = {}
        if settled:
            listing = self._listing(collection)
            found |= {d.id: listing.candidates(_keys(d)) for d in settled}
        if doubtful:
            clauses = [clause for d in doubtful if (clause := _where(d)) is not None]
            fresh = _Listing.of(collection, self._query(collection, _filters(clauses)))
            found |= {d.id: fresh.candidates(_keys(d)) for d in doubtful}
        return found

    def _listing(self, collection: str) -> _Listing:
        with self._lock:
            listing = self._listings.get(collection)
        if listing is None:
            if collection == ITEMS:  # Xero answers every item at once (no pages)
                rows = self._gated(lambda: self._client.query(ITEMS), batch=False)
            else:  # archived included (they are matched, and revived), 1,000 a page
                rows = self._client.list_all(
                    CONTACTS, includeArchived="true", each=lambda page: self._gated(page, batch=False)
                )
            listing = _Listing.of(collection, rows)
            with self._lock:
                listing = self._listings.setdefault(collection, listing)
        return listing

    def _query(self, collection: str, filters: Sequence[str]) -> list[Json]:
        archived = {"includeArchived": "true"} if collection == CONTACTS else {}
        rows: list[Json] = []
        for where in filters:
            rows += self._gated(
                lambda w=where: self._client.query(collection, where=w, **archived),  # type: ignore[misc]
                batch=False,
            )
        return rows

    def distinct(self, document: Named) -> Named:
        return self._single.distinct(document)

    def current(self, kind: str, remote_ids: Sequence[str]) -> Mapping[str, RemoteObject]:
        wanted = sorted(set(remote_ids))
        if kind == "customer":
            rows: list[Json] = []
            for start in range(0, len(wanted), IDS_MAX):
                ids = ",".join(wanted[start : start + IDS_MAX])
                rows += self._gated(
                    lambda i=ids: self._client.query(CONTACTS, IDs=i, includeArchived="true"),  # type: ignore[misc]
                    batch=False,
                )
            return {str(row["ContactID"]): mapping.to_contact(row) for row in rows}
        if not wanted:
            return {}
        items = self._gated(lambda: self._client.query(ITEMS), batch=False)
        return {str(row["ItemID"]): mapping.to_item(row) for row in items if row.get("ItemID") in set(wanted)}

    # ------------------------------------------------------------------ writes

    def write_many(
        self, writes: Sequence[CatalogWrite], *, idempotency_key: str
    ) -> Mapping[str, CatalogAnswer]:
        answers: dict[str, CatalogAnswer] = {}
        creates: list[tuple[CatalogWrite, Json]] = []
        updates: list[tuple[CatalogWrite, Json]] = []
        for write in writes:
            try:
                element = self._element(write)
            except Rejected as refused:  # refused before it is sent: an empty name, no sales account
                answers[write.key] = CatalogAnswer(write.key, error=refused)
                continue
            (updates if write.remote is not None else creates).append((write, element))
        collection = CONTACTS if writes and isinstance(writes[0].document, Customer) else ITEMS
        for method, sent in (("PUT", creates), ("POST", updates)):
            if sent:
                answers |= self._array(collection, method, sent, f"{idempotency_key}#{method.lower()}")
        return answers

    def _element(self, write: CatalogWrite) -> Json:
        document, remote = write.document, write.remote
        if isinstance(document, Customer):
            element = mapping.contact_body(document)
            return element if remote is None else {**element, "ContactID": remote.id}
        refs = write.refs or ItemRefs(income_account_id=None)
        with self._chart:  # the page's threads read the chart of accounts once, not each
            code = self._single.sales_account_code(document, refs)
        element = mapping.item_body(document, code)
        return element if remote is None else {**element, "ItemID": remote.id}

    def _array(
        self, collection: str, method: str, sent: Sequence[tuple[CatalogWrite, Json]], key: str
    ) -> dict[str, CatalogAnswer]:
        """One array; an answer per element that answered for itself."""
        try:
            answered = self._gated(
                lambda: self._client.write_many(
                    method, collection, [e for _, e in sent], idempotency_key=key
                ),
                batch=True,
            )
        except Exception:  # it may have been applied: what it was for is looked up afresh
            self._doubt(collection, [write.document for write, _ in sent])
            raise
        answers: dict[str, CatalogAnswer] = {}
        unanswered: list[Customer | Item] = []
        refused: list[Customer | Item] = []
        # Xero answers the elements in the order they were sent; one that is not what was sent
        # (or missing) is left unanswered, and looked up afresh before it is tried again.
        answered = answered if len(answered) == len(sent) else []
        for index, (write, element) in enumerate(sent):
            answer = answered[index] if answered else None
            if answer is None or not _same(collection, element, answer):
                unanswered.append(write.document)
                continue
            error = element_error(answer, collection)
            if error is not None:
                answers[write.key] = CatalogAnswer(write.key, error=error)
                if isinstance(error, DuplicateName):
                    refused.append(write.document)
                continue
            remote = mapping.to_contact(answer) if collection == CONTACTS else mapping.to_item(answer)
            answers[write.key] = CatalogAnswer(write.key, remote=remote)
        self._doubt(collection, unanswered + refused)
        return answers

    def _doubt(self, collection: str, documents: Iterable[Customer | Item]) -> None:
        with self._lock:
            self._doubtful |= {(collection, d.id) for d in documents}

    def _gated(self, call: Callable[[], T], *, batch: bool) -> T:
        return paced(self._pacing, self._deadline(), call, batch=batch, provider=LABEL)


def _matched(matches: Mapping[str, RemoteObject | None]) -> dict[str, RemoteObject]:
    return {doc_id: remote for doc_id, remote in matches.items() if remote is not None}


def _same(collection: str, element: Json, answer: Json) -> bool:
    """The answer is for the element sent: the same id, ContactNumber or Code."""
    keys = ("ContactID", "ContactNumber") if collection == CONTACTS else ("ItemID", "Code")
    return all(answer.get(k) == element[k] for k in keys if k in element)
