"""An invoice with what it refers to: its customer (in the invoice's currency, where the books
keep several), its items (with their income accounts) and the invoice itself, each through the
one push pattern (``sync/push.py``); a customer job pushes its customer alone."""

from __future__ import annotations

from collections.abc import Callable

from booksync.documents import Customer, DocumentKind, Invoice, Item, marker
from booksync.errors import CurrencyNotBookable, Rejected
from booksync.providers.declaration import AnyDeclaration
from booksync.providers.port import AccountingProvider, CompanyCurrencies, InvoiceRefs, ItemRefs, RemoteObject
from booksync.providers.profile import profile, provider_label
from booksync.store.models import DocumentModel, LinkMap
from booksync.sync.accounts import item_income_account
from booksync.sync.context import JobContext
from booksync.sync.push import Pusher, Settle
from booksync.sync.report import Outcome

# The company's currencies as the connection keeps them (``fresh``: read from the provider again).
Currencies = Callable[[bool], CompanyCurrencies]


class InvoicePush:
    def __init__(
        self,
        context: JobContext,
        *,
        provider: AccountingProvider,
        declared: AnyDeclaration,
        pusher: Pusher,
        currencies: Currencies,
        income_account_for: Callable[[], str | None],
        settle: Settle,
    ) -> None:
        self._context = context
        self._provider = provider
        self._declared = declared
        self._pusher = pusher
        self._currencies_for = currencies
        self._income_account_for = income_account_for
        self._settle = settle
        self._income_account: str | None = None
        self._currencies: CompanyCurrencies | None = None

    def push(self, row: DocumentModel, link: LinkMap | None, invoice: Invoice) -> tuple[str, str]:
        """The invoice's customer, items and the invoice: (remote customer id, remote invoice id)."""
        context, provider = self._context, self._provider
        self._declared.refuse_too_long(DocumentKind.INVOICE, invoice, invoice.id)
        currencies = self._bookable(invoice)
        customer_id = self._customer(invoice.customer_id, invoice, currencies)
        item_ids = {item_id: self._item(item_id) for item_id in invoice.item_ids}
        refs = InvoiceRefs(
            customer_id=customer_id,
            item_ids=item_ids,
            marker=marker(context.company, DocumentKind.INVOICE, invoice.id),
        )
        remote = self._pusher.push(
            row,
            link,
            DocumentKind.INVOICE,
            get=provider.get_invoice,
            find=lambda: provider.find_invoice(invoice, refs.marker),
            create=lambda rid: provider.create_invoice(invoice, refs, idempotency_key=rid),
            update=lambda current, rid: provider.update_invoice(current, invoice, refs, idempotency_key=rid),
        )
        context.report.remote_invoice_id = remote.id
        self._check_total(invoice, remote)
        self._clear_failure(row)
        return customer_id, remote.id

    def _bookable(self, invoice: Invoice) -> CompanyCurrencies:
        """The company's currencies, once they can hold the invoice's; else the invoice is held
        (read afresh first: the user may just have turned multicurrency on)."""
        if self._currencies is None or not self._currencies.books(invoice.currency):
            self._currencies = self._currencies_for(False)
            if not self._currencies.books(invoice.currency):
                self._currencies = self._currencies_for(True)
        found = self._currencies
        if found.books(invoice.currency):
            return found
        declared = profile(self._context.provider)
        name = declared.label
        why = f"the {name} company keeps its books in {found.home} only (multicurrency is off)"
        where = f" ({declared.multicurrency_setting})" if declared.multicurrency_setting else ""
        raise self._not_bookable(
            invoice,
            why,
            f"Turn on multicurrency in {name}{where}, then resync the invoice; "
            f"or send the invoice in {found.home}.",
        )

    def _not_bookable(self, invoice: Invoice, why: str, fix: str) -> CurrencyNotBookable:
        return CurrencyNotBookable(
            f"Invoice {invoice.number} is in {invoice.currency}, but {why}; it was not sent, so it is "
            "not booked in another currency.",
            provider=self._context.provider,
            fix=fix,
        )

    def _customer_currency(self, remote: RemoteObject, invoice: Invoice, customer: Customer) -> None:
        """A customer is booked in one currency: its invoices must be in it (multicurrency only)."""
        currency = remote.currency
        if currency is None:
            current = self._provider.get_customer(remote.id)
            currency = current.currency if current is not None else None
        if currency is None or currency == invoice.currency:
            return
        name = provider_label(self._context.provider)
        raise self._not_bookable(
            invoice,
            f"customer {customer.display_name!r} is kept in {currency} in {name}, which books a "
            "customer's invoices in the customer's currency",
            f"Send {invoice.currency} invoices for this customer under a separate customer in your app "
            f"(e.g. '{customer.display_name} ({invoice.currency})'), or send this invoice in {currency}.",
        )

    def _check_total(self, invoice: Invoice, remote: RemoteObject) -> None:
        """The books must show what the customer was billed; say so when the provider disagrees."""
        if remote.total is None or remote.total == invoice.total:
            return
        declared = profile(self._context.provider)
        shown = f"{declared.label} shows a total of {remote.total} for invoice {invoice.number}"
        self._context.report.failures.append(
            {
                "document": f"invoice {invoice.id}",
                "code": "total_mismatch",
                "message": f"{shown}; booksync sent {invoice.total}.",
                "fix": f"Check {declared.tax_settings}, then resync the invoice.",
            }
        )

    def _clear_failure(self, row: DocumentModel) -> None:
        """An earlier run failed (say, on an item); this one pushed everything: show it synced."""
        link = self._context.link(row)
        if link is not None and link.outcome != Outcome.SYNCED and link.pushed_hash == row.content_hash:
            self._settle(row, link)
            link.outcome, link.error_code, link.error_message, link.error_fix = (
                Outcome.SYNCED,
                None,
                None,
                None,
            )
            self._context.save_link(row, link)

    # -- customers and items -----------------------------------------------------------------
    def _customer(self, customer_id: str, invoice: Invoice, currencies: CompanyCurrencies) -> str:
        row = self._required(DocumentKind.CUSTOMER, customer_id)
        customer: Customer = self._context.documents.parse(row)
        # Created in the invoice's currency (QuickBooks keeps it for good); the home one goes unsaid.
        currency = invoice.currency if invoice.currency != currencies.home else None
        remote = self._push_customer(row, customer, currency)
        if currencies.multicurrency and self._declared.customer_currency_binds:
            self._customer_currency(remote, invoice, customer)
        return remote.id

    def customer_alone(self, row: DocumentModel) -> None:
        """A customer job (auto_sync_customers): the customer as an invoice's job pushes it; one
        already in sync costs no provider call. In a multicurrency company a customer not yet in
        the books waits for its first invoice: the books set a customer's currency when it is
        created, and only an invoice says which (created alone, it would be in the home currency
        and its first invoice in another one would be held)."""
        context = self._context
        link = context.link(row)
        binds = self._declared.customer_currency_binds
        if (link is None or not link.remote_id) and binds and self._currencies_for(False).multicurrency:
            if row.pending_bucket:
                context.documents.clear_pending(row, row.content_hash)  # its first invoice's job pushes it
            context.report.counts["waiting"] += 1
            message = f"Customer {row.doc_id} waits for its first invoice, which sets its currency."
            context.note(
                {"document": f"customer {row.doc_id}", "code": "waiting", "message": message, "fix": None}
            )
            return
        self._push_customer(row, context.documents.parse(row), None)
        if row.pending_bucket:
            # Unchanged since its last push (a redelivery, a sweep after a send that did land).
            context.documents.clear_pending(row, row.content_hash)

    def _push_customer(self, row: DocumentModel, customer: Customer, currency: str | None) -> RemoteObject:
        provider = self._provider
        return self._pusher.named(
            row,
            DocumentKind.CUSTOMER,
            customer,
            customer.display_name,
            distinct=provider.distinct,
            get=provider.get_customer,
            find=provider.find_customer,
            create=lambda doc, rid: provider.create_customer(doc, idempotency_key=rid, currency=currency),
            update=lambda current, doc, rid: provider.update_customer(current, doc, idempotency_key=rid),
        )

    def _item(self, item_id: str) -> str:
        provider = self._provider
        row = self._required(DocumentKind.ITEM, item_id)
        item: Item = self._context.documents.parse(row)

        def refs() -> ItemRefs:
            # Resolved when the item is written, not before: an unchanged or linked item needs
            # no account, and the default is looked up in the provider only if it is used.
            account = item_income_account(row, item.name, self._declared, self._default_income_account)
            return ItemRefs(income_account_id=account)

        remote = self._pusher.named(
            row,
            DocumentKind.ITEM,
            item,
            item.name,
            distinct=provider.distinct,
            get=provider.get_item,
            find=provider.find_item,
            create=lambda doc, rid: provider.create_item(doc, refs(), idempotency_key=rid),
            update=lambda current, doc, rid: provider.update_item(current, doc, refs(), idempotency_key=rid),
        )
        return remote.id

    def _default_income_account(self) -> str | None:
        if self._income_account is None:
            self._income_account = self._income_account_for()
        return self._income_account

    def _required(self, kind: DocumentKind, doc_id: str) -> DocumentModel:
        row = self._context.documents.get(self._context.company, kind, doc_id)
        if row is None:
            raise Rejected(
                f"The invoice refers to {kind.value} {doc_id}, which booksync has not received.",
                provider=self._context.provider,
                fix=f"Send it with PUT /{kind.value}s/{doc_id}, then sync the invoice again.",
            )
        return row
