"""The post-connection wizard (seeds: "Post-Connection Wizard"), one per company and provider.

Step 1 lists the provider's customers page by page, each with a suggested type and its reason
and, when booksync already has the customer, "Already exists" with what matched; new ones are
preselected. Importing creates the chosen ones as booksync customers with the type the user
chose, already linked to their provider id (the link's pushed hash is their content hash, so
nothing is pushed back as new), and links every duplicate to the booksync customer it
duplicates. Step 2 does the same for items (existing ones linked by name or SKU; new ones with
their income account). Step 3 is the summary. Each step can be skipped and run again later;
an import sent twice imports once (documents are keyed by the provider id and the link is
checked first). The progress lives on the connection row (``wizard``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import ValidationError

from booksync.documents import Customer, CustomerType, DocumentKind, Item, ItemType
from booksync.errors import FieldProblem, NotFoundError
from booksync.onboarding.classifier import CustomerClassifier, RulesClassifier
from booksync.providers.declaration import Capability
from booksync.providers.port import ProviderDirectory, RemoteCustomer, RemoteItem, RemotePage
from booksync.providers.profile import profile, provider_label
from booksync.providers.registry import declaration, is_accounting
from booksync.store.account_mapping import AccountMappingStore
from booksync.store.claims import LinkClaims, LinkScope
from booksync.store.connections import ConnectionStatus, organisation_not_chosen
from booksync.store.documents import PutOutcome
from booksync.store.models import ConnectionModel, DocumentModel, LinkMap, new_link

if TYPE_CHECKING:
    from booksync.onboarding.duplicates import DuplicateFinder

logger = logging.getLogger(__name__)

Step = Literal["customers", "items"]
STEPS: tuple[Step, ...] = ("customers", "items")
WALK_PAGE = 1000  # provider rows per request when an import walks the whole list
WALK_LIMIT = 50_000  # rows: beyond this an import stops walking (and says so)
ALREADY_EXISTS = "Already exists"
_NOT_ID = re.compile(r"[^A-Za-z0-9._:-]")


@dataclass(frozen=True)
class CustomerChoice:
    remote_id: str
    type: CustomerType


@dataclass(frozen=True)
class ItemChoice:
    remote_id: str
    income_account_id: str | None = None  # None: the account the item has in the provider


DOC_ID_MAX = 100


def doc_id_for(provider: str, remote_id: str) -> str:
    """booksync's id for a document imported from the provider: stable, so imports are idempotent.
    One over 100 characters keeps its start and a digest of the whole id (two long ids that
    share a start, as Wave's share their business's, stay two)."""
    whole = f"{provider}-{_NOT_ID.sub('-', remote_id)}"
    if len(whole) <= DOC_ID_MAX:
        return whole
    digest = hashlib.sha256(remote_id.encode()).hexdigest()[:16]
    return f"{whole[: DOC_ID_MAX - len(digest) - 1]}-{digest}"


def _next_step(state: dict[str, Any]) -> str:
    return next((step for step in STEPS if state[step]["status"] == "open"), "summary")


def _blank_state(now: float) -> dict[str, Any]:
    return {
        "opened_at": now,
        **{step: {"status": "open", "added": [], "linked": [], "updated_at": None} for step in STEPS},
    }


class WizardConnections(Protocol):
    """The connection rows the wizard keeps its progress on (``store.connections``)."""

    def get(self, company_id: str, provider: str) -> ConnectionModel | None: ...

    def save_wizard(self, row: ConnectionModel, state: dict[str, Any]) -> None: ...


class WizardDocuments(Protocol):
    """The company's documents the wizard reads, imports and links (``store.documents``)."""

    def get(self, company_id: str, kind: DocumentKind, doc_id: str) -> DocumentModel | None: ...

    def page(
        self, company_id: str, kind: DocumentKind, *, after: str | None, limit: int
    ) -> tuple[list[DocumentModel], str | None]: ...

    def parse(self, row: DocumentModel) -> Any: ...

    def put(
        self, company_id: str, kind: DocumentKind, doc: Customer | Item, *, now: float, pending: bool
    ) -> PutOutcome: ...

    def save_link(self, row: DocumentModel, provider: str, link: LinkMap) -> None: ...


class Wizard:
    def __init__(
        self,
        *,
        connections: WizardConnections,
        documents: WizardDocuments,
        directory_for: Callable[[ConnectionModel], ProviderDirectory],
        classifier: CustomerClassifier | None = None,
        mappings: AccountMappingStore | None = None,
        check_income_account: Callable[[str, str, str], object] | None = None,
        clock: Callable[[], float] = time.time,
        claims: LinkClaims | None = None,
    ) -> None:
        self._claims = claims or LinkClaims()
        self._connections = connections
        self._docs = documents
        self._directory_for = directory_for
        self._classifier = classifier or RulesClassifier()
        self._mappings = mappings or AccountMappingStore()
        self._check_income_account = check_income_account
        self._clock = clock

    # -- state ----------------------------------------------------------------------------------
    def open(self, company_id: str, provider: str) -> None:
        """After a connect: the wizard's state, unless it already has one (a reconnect keeps it)."""
        row = self._connections.get(company_id, provider)
        if row is not None and row.wizard is None and is_accounting(provider):
            self._connections.save_wizard(row, _blank_state(self._clock()))

    def state(self, company_id: str, provider: str) -> dict[str, Any]:
        row = self._connection(company_id, provider)
        state = self._state(row)
        return {
            "provider": provider,
            "opened_at": state["opened_at"],
            "steps": {step: self._step_view(state[step]) for step in STEPS},
            "next": f"/integrations/{provider}/wizard/{_next_step(state)}",
        }

    def skip(self, company_id: str, provider: str, step: Step) -> dict[str, Any]:
        row = self._connection(company_id, provider)
        state = self._state(row)
        if state[step]["status"] == "open":
            state[step]["status"] = "skipped"
            state[step]["updated_at"] = self._clock()
            self._save(row, state)
        return self.state(company_id, provider)

    def summary(self, company_id: str, provider: str) -> dict[str, Any]:
        row = self._connection(company_id, provider)
        state = self._state(row)
        settings = row.settings
        auto = {
            kind: bool(getattr(settings, f"auto_sync_{kind}", True))
            for kind in ("invoices", "payments", "customers", "items")
        }
        return {
            "provider": provider,
            "customers_added": len(state["customers"]["added"]),
            "customers_linked": len(state["customers"]["linked"]),
            "items_imported": len(state["items"]["added"]),
            "items_linked": len(state["items"]["linked"]),
            "steps": {step: state[step]["status"] for step in STEPS},
            "auto_sync": auto,
            "auto_sync_on": auto["invoices"] and auto["payments"],
            "finished": all(state[s]["status"] != "open" for s in STEPS),
        }

    # -- step 1: customers ----------------------------------------------------------------------
    def customers(self, company_id: str, provider: str, *, page: int, page_size: int) -> dict[str, Any]:
        row = self._connection(company_id, provider)
        listing = self._directory_for(row).list_customers((page - 1) * page_size + 1, page_size)
        remote = list(listing.rows)
        linked, unlinked = self._books(company_id, provider, DocumentKind.CUSTOMER)
        finder = _finder(unlinked)
        types = self._classifier.classify(remote)
        rows = []
        for customer, suggested in zip(remote, types, strict=True):
            match = None if customer.id in linked else finder.match(customer)
            existing = linked.get(customer.id) or (match.doc_id if match else None)
            rows.append(
                {
                    **_customer_view(customer),
                    "suggested_type": suggested.type.value,
                    "reason": suggested.reason,
                    "classified_by": suggested.source,
                    "status": ALREADY_EXISTS if existing else "New",
                    "existing_customer_id": existing,
                    "match": {"score": 1.0, "matched": ["link"]}
                    if customer.id in linked
                    else ({"score": match.score, "matched": list(match.matched)} if match else None),
                    "preselected": existing is None and customer.active,
                }
            )
        return self._page(provider, "customers", page, page_size, listing, rows, self._state(row))

    def import_customers(
        self, company_id: str, provider: str, choices: Sequence[CustomerChoice]
    ) -> dict[str, Any]:
        row = self._connection(company_id, provider)
        remote, complete = self._walk(self._directory_for(row).list_customers)
        by_id = {r.id: r for r in remote}
        self._require_known(provider, "customers", [c.remote_id for c in choices], by_id, complete)
        linked, unlinked = self._books(company_id, provider, DocumentKind.CUSTOMER)
        now = self._clock()
        report: dict[str, list[Any]] = {"added": [], "linked": [], "already": [], "failed": []}
        # Every duplicate is linked to the customer it duplicates, selected or not (seeds: existing
        # customers are linked to their accounting records automatically).
        taken: set[str] = set(linked.values())
        finder = _finder(unlinked)
        for customer in remote:
            if customer.id in linked:
                continue
            match = finder.match(customer)
            if (
                match is not None
                and match.doc_id not in taken
                and self._link_existing(
                    LinkScope.of(row),
                    DocumentKind.CUSTOMER,
                    match.doc_id,
                    customer.id,
                    customer.version,
                    now,
                )
            ):
                taken.add(match.doc_id)
                linked[customer.id] = match.doc_id
                report["linked"].append(
                    {"remote_id": customer.id, "customer_id": match.doc_id, "matched": list(match.matched)}
                )
        for choice in choices:
            if choice.remote_id in linked:
                report["already"].append(
                    {"remote_id": choice.remote_id, "customer_id": linked[choice.remote_id]}
                )
                continue
            created = self._create_customer(LinkScope.of(row), by_id[choice.remote_id], choice.type, now)
            report["added" if "customer_id" in created else "failed"].append(created)
        self._record(row, "customers", report)
        return {"provider": provider, **report, **self._counts(report)}

    def _create_customer(
        self, scope: LinkScope, remote: RemoteCustomer, kind: CustomerType, now: float
    ) -> dict[str, Any]:
        company_id, provider = scope.company_id, scope.provider
        doc_id = doc_id_for(provider, remote.id)
        try:
            customer = _customer_document(doc_id, remote, kind)
        except ValidationError as exc:
            return _refused(remote.id, exc, provider, "customer")
        if not self._hold(scope, DocumentKind.CUSTOMER, remote.id, doc_id, now):
            return _held(remote.id, provider, "customer")
        outcome = self._docs.put(company_id, DocumentKind.CUSTOMER, customer, now=now, pending=False)
        self._link(outcome.row, provider, remote.id, remote.version, now)
        return {"remote_id": remote.id, "customer_id": doc_id, "type": kind.value}

    # -- step 2: items --------------------------------------------------------------------------
    def items(self, company_id: str, provider: str, *, page: int, page_size: int) -> dict[str, Any]:
        row = self._connection(company_id, provider)
        listing = self._directory_for(row).list_items((page - 1) * page_size + 1, page_size)
        linked, unlinked = self._books(company_id, provider, DocumentKind.ITEM)
        existing = _ItemIndex(unlinked, provider)
        rows = []
        for item in listing.rows:
            same = linked.get(item.id) or existing.match(item)
            rows.append(
                {
                    **_item_view(item),
                    "status": ALREADY_EXISTS if same else "New",
                    "existing_item_id": same,
                    "linked_automatically": bool(same),
                    "preselected": same is None and item.active,
                }
            )
        return self._page(provider, "items", page, page_size, listing, rows, self._state(row))

    def import_items(self, company_id: str, provider: str, choices: Sequence[ItemChoice]) -> dict[str, Any]:
        row = self._connection(company_id, provider)
        for choice in choices:
            if choice.income_account_id is not None and self._check_income_account is not None:
                self._check_income_account(company_id, provider, choice.income_account_id)
        remote, complete = self._walk(self._directory_for(row).list_items)
        by_id = {r.id: r for r in remote}
        self._require_known(provider, "items", [c.remote_id for c in choices], by_id, complete)
        linked, unlinked = self._books(company_id, provider, DocumentKind.ITEM)
        now = self._clock()
        report: dict[str, list[Any]] = {"added": [], "linked": [], "already": [], "failed": []}
        existing = _ItemIndex(unlinked, provider)
        for item in remote:  # existing items are linked automatically, by name or SKU
            if item.id in linked:
                continue
            same = existing.match(item)
            if same and self._link_existing(
                LinkScope.of(row), DocumentKind.ITEM, same, item.id, item.version, now
            ):
                existing.take(same)
                linked[item.id] = same
                report["linked"].append({"remote_id": item.id, "item_id": same})
        for choice in choices:
            if choice.remote_id in linked:
                report["already"].append({"remote_id": choice.remote_id, "item_id": linked[choice.remote_id]})
                continue
            created = self._create_item(LinkScope.of(row), by_id[choice.remote_id], choice, now)
            report["added" if "item_id" in created else "failed"].append(created)
        self._record(row, "items", report)
        return {"provider": provider, **report, **self._counts(report)}

    def _create_item(
        self, scope: LinkScope, remote: RemoteItem, choice: ItemChoice, now: float
    ) -> dict[str, Any]:
        company_id, provider = scope.company_id, scope.provider
        doc_id = doc_id_for(provider, remote.id)
        try:
            item = _item_document(doc_id, remote)
        except ValidationError as exc:
            return _refused(remote.id, exc, provider, "item")
        if not self._hold(scope, DocumentKind.ITEM, remote.id, doc_id, now):
            return _held(remote.id, provider, "item")
        outcome = self._docs.put(company_id, DocumentKind.ITEM, item, now=now, pending=False)
        # Where the provider keeps an income account per item (else its choice was refused).
        per_item = declaration(provider).supports(Capability.INCOME_ACCOUNT_PER_ITEM)
        account = (choice.income_account_id or remote.income_account_id) if per_item else None
        doc = outcome.row
        if account:
            # Mapped before the link: the pushed hash must include the account.
            self._mappings.set_item_account(doc, provider, account)
        self._link(doc, provider, remote.id, remote.version, now)
        return {"remote_id": remote.id, "item_id": doc_id, "income_account_id": account}

    # -- helpers --------------------------------------------------------------------------------
    def _connection(self, company_id: str, provider: str) -> ConnectionModel:
        label = provider_label(provider)
        row = self._connections.get(company_id, provider) if is_accounting(provider) else None
        if row is None or row.status == ConnectionStatus.DISCONNECTED:
            raise NotFoundError(
                f"{label} is not connected, so it has no post-connection wizard.",
                fix=f"Connect it first: POST /integrations/{provider}/connect.",
            )
        if row.status == ConnectionStatus.CHOOSE_ORGANISATION:
            raise organisation_not_chosen(provider, "the post-connection wizard")
        return row

    def _state(self, row: ConnectionModel) -> dict[str, Any]:
        state: dict[str, Any] = row.wizard or _blank_state(row.connected_at or self._clock())
        return state

    def _save(self, row: ConnectionModel, state: dict[str, Any]) -> None:
        self._connections.save_wizard(row, state)

    def _record(self, row: ConnectionModel, step: Step, report: dict[str, list[Any]]) -> None:
        state = self._state(row)
        entry = state[step]
        ids_key = "customer_id" if step == "customers" else "item_id"
        entry["added"] = sorted(set(entry["added"]) | {r[ids_key] for r in report["added"]})
        entry["linked"] = sorted(set(entry["linked"]) | {r[ids_key] for r in report["linked"]})
        entry["status"] = "done"
        entry["updated_at"] = self._clock()
        self._save(row, state)

    @staticmethod
    def _step_view(entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "status": entry["status"],
            "added": len(entry["added"]),
            "linked": len(entry["linked"]),
            "updated_at": entry["updated_at"],
        }

    @staticmethod
    def _counts(report: dict[str, list[Any]]) -> dict[str, Any]:
        return {"counts": {k: len(v) for k, v in report.items()}}

    @staticmethod
    def _page(
        provider: str,
        step: Step,
        page: int,
        page_size: int,
        listing: RemotePage[Any],
        rows: list[dict[str, Any]],
        state: dict[str, Any],
    ) -> dict[str, Any]:
        return {
            "provider": provider,
            "step": step,
            "step_status": state[step]["status"],
            "page": page,
            "page_size": page_size,
            "has_more": listing.next_start is not None,
            step: rows,
        }

    def _walk(self, list_page: Callable[[int, int], RemotePage[Any]]) -> tuple[list[Any], bool]:
        rows: list[Any] = []
        start: int | None = 1
        while start is not None and len(rows) < WALK_LIMIT:
            page = list_page(start, WALK_PAGE)
            rows.extend(page.rows)
            start = page.next_start
        return rows, start is None

    @staticmethod
    def _require_known(
        provider: str, field: str, wanted: Sequence[str], known: dict[str, Any], complete: bool
    ) -> None:
        missing = [remote_id for remote_id in wanted if remote_id not in known]
        if missing:
            label = provider_label(provider)
            more = "" if complete else f" among the first {WALK_LIMIT}"
            raise FieldProblem(
                f"{field}.remote_id",
                f"{label} has no active {field[:-1]} with id {missing[0]!r}{more}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                f"Choose ids listed by GET /integrations/{provider}/wizard/{field}.",
            )

    def _books(self, company_id: str, provider: str, kind: DocumentKind) -> tuple[dict[str, str], list[Any]]:
        """One read of the company's documents of ``kind``: remote id -> doc id for those linked
        to the provider, and the others (parsed), which the provider's records may duplicate."""
        linked: dict[str, str] = {}
        unlinked: list[Any] = []
        after: str | None = None
        while True:
            rows, after = self._docs.page(company_id, kind, after=after, limit=500)
            for row in rows:
                link = row.link(provider)
                if link is not None and link.remote_id:
                    linked[str(link.remote_id)] = row.doc_id
                else:
                    unlinked.append(self._docs.parse(row))
            if after is None:
                return linked, unlinked

    def _link_existing(
        self,
        scope: LinkScope,
        kind: DocumentKind,
        doc_id: str,
        remote_id: str,
        version: str | None,
        now: float,
    ) -> bool:
        provider = scope.provider
        row = self._docs.get(scope.company_id, kind, doc_id)
        if row is None or _has_link(row, provider):
            return False
        if not self._hold(scope, kind, remote_id, doc_id, now):
            return False  # another document holds it (a sync linked it meanwhile)
        # Linked as it stands in booksync: if it differs from the provider's record, booksync's
        # next sync of it pushes booksync's version (booksync is the source of truth).
        self._link(row, provider, remote_id, version, now, pushed=False)
        return True

    def _hold(self, scope: LinkScope, kind: DocumentKind, remote_id: str, doc_id: str, now: float) -> bool:
        """A link is one-to-one: the remote object is claimed for the document before the link."""
        return self._claims.claim(scope, kind, remote_id, doc_id, now=now)

    def _link(
        self,
        row: DocumentModel,
        provider: str,
        remote_id: str,
        version: str | None,
        now: float,
        pushed: bool = True,
    ) -> None:
        link = new_link(
            remote_id=remote_id,
            version=version,
            pushed_hash=row.content_hash if pushed else None,
            synced_at=now,
            outcome="linked",
            claimed=True,
        )
        self._docs.save_link(row, provider, link)


def _refused(remote_id: str, exc: ValidationError, provider: str, what: str) -> dict[str, Any]:
    problem = exc.errors()[0]
    label = provider_label(provider)
    return {
        "remote_id": remote_id,
        "error": f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}",
        "fix": f"Correct the {what} in {label}, then import it again.",
    }


def _held(remote_id: str, provider: str, what: str) -> dict[str, Any]:
    label = provider_label(provider)
    return {
        "remote_id": remote_id,
        "error": f"This {label} {what} is already linked to another booksync {what}.",
        "fix": f"Nothing to import: the {what} it is linked to is the one booksync keeps.",
    }


def _finder(customers: Sequence[Customer]) -> DuplicateFinder:
    # Imported on first use: rapidfuzz is not needed for the API's other routes' cold start.
    from booksync.onboarding.duplicates import DuplicateFinder

    return DuplicateFinder(customers)


def _has_link(row: DocumentModel, provider: str) -> bool:
    link = row.link(provider)
    return link is not None and bool(link.remote_id)


class _ItemIndex:
    """booksync's unlinked items by name and by SKU, compared as the provider stores and compares
    them (its profile: QuickBooks cleans a name, "a:b" is stored "a-b", then compares it letter
    case aside, nothing folded further: "Strauß" is not "Strauss")."""

    def __init__(self, items: Sequence[Item], provider: str) -> None:
        declared = profile(provider)
        self._name, self._sku = declared.item_name_key, declared.sku_key
        self._by_name = {self._name(i.name): i.id for i in items}
        self._by_sku = {self._sku(i.sku): i.id for i in items if i.sku}
        self._taken: set[str] = set()

    def match(self, item: RemoteItem) -> str | None:
        found = self._by_name.get(self._name(item.name)) or (
            self._by_sku.get(self._sku(item.sku)) if item.sku else None
        )
        return found if found not in self._taken else None

    def take(self, doc_id: str) -> None:
        self._taken.add(doc_id)


def _customer_view(c: RemoteCustomer) -> dict[str, Any]:
    return {
        "remote_id": c.id,
        "name": c.display_name,
        "company": c.company_name,
        "given_name": c.given_name,
        "family_name": c.family_name,
        "email": c.email,
        "phone": c.phone,
        "billing_address": c.billing_address.model_dump(exclude_none=True) if c.billing_address else None,
        "active": c.active,
    }


def _item_view(i: RemoteItem) -> dict[str, Any]:
    return {
        "remote_id": i.id,
        "name": i.name,
        "sku": i.sku,
        "type": i.type,
        "price": None if i.unit_price is None else str(i.unit_price),
        "description": i.description,
        "income_account": None
        if i.income_account_id is None
        else {"id": i.income_account_id, "name": i.income_account_name},
        "taxable": i.taxable,
        "active": i.active,
    }


def _customer_document(doc_id: str, c: RemoteCustomer, kind: CustomerType) -> Customer:
    fields: dict[str, Any] = {
        "id": doc_id,
        "display_name": c.display_name or c.company_name or f"Customer {c.id}",
        "given_name": (c.given_name or "")[:100] or None,
        "family_name": (c.family_name or "")[:100] or None,
        "company_name": (c.company_name or "")[:100] or None,
        "email": c.email,
        "phone": (c.phone or "")[:30] or None,
        "billing_address": c.billing_address,
        "customer_type": kind,
    }
    try:
        return Customer.model_validate(fields)
    except ValidationError as exc:
        # An address booksync would refuse (QuickBooks is lenient with e-mail) is left out, not the customer.
        bad = {str(e["loc"][0]) for e in exc.errors()} & {"email", "billing_address"}
        if not bad:
            raise
        return Customer.model_validate({**fields, **dict.fromkeys(bad)})


def _item_document(doc_id: str, i: RemoteItem) -> Item:
    price = (i.unit_price or Decimal(0)).quantize(Decimal("0.01"))
    return Item.model_validate(
        {
            "id": doc_id,
            "name": i.name,
            "type": ItemType.SERVICE if i.type == "service" else ItemType.NON_INVENTORY,
            "unit_price": price,
            "description": (i.description or "")[:4000] or None,
            "sku": (i.sku or "")[:100] or None,
            "taxable": i.taxable,
        }
    )
