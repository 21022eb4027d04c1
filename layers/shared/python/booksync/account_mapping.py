"""Account mapping (seeds: Integrations > [Provider] > Account Mapping): the provider's accounts,
every item with the income account it posts to, per-item and bulk "apply to unmapped", the
account payments go into, and the check every chosen account passes (known, active, of the
right kind) before it is saved.

The chart of accounts is read from the provider and kept for a minute per company, so the
mapping page and the saves behind it cost one provider request, not one each.

Only a provider that declares ``INCOME_ACCOUNT_PER_ITEM`` keeps an income account on each item:
for another, choosing one (the mapping, the default income account, the wizard's import) is
refused as not supported, its chart is still listed, and its items sync with no account
(``sync/accounts.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from booksync.documents import DocumentKind
from booksync.errors import InvalidRequest, NotFoundError
from booksync.providers.declaration import Capability
from booksync.providers.port import Account, AccountingProvider, AccountKind
from booksync.providers.profile import provider_label
from booksync.providers.registry import REGISTRY, declaration, is_accounting
from booksync.store.account_mapping import AccountMappingStore
from booksync.store.connections import ConnectionRepository, ConnectionStatus, organisation_not_chosen
from booksync.store.documents import DocumentRepository
from booksync.store.models import ConnectionModel, DocumentModel, update_connection_settings

# The API's ``?type=`` words, each by booksync's kinds of account (``AccountKind``): the adapter
# maps its provider's own types to those kinds.
ACCOUNT_FILTERS: dict[str, Callable[[Account], bool]] = {
    "income": lambda a: a.kind is AccountKind.INCOME,
    "bank": lambda a: a.kind is AccountKind.BANK,
    "expense": lambda a: a.kind is AccountKind.EXPENSE,
    "asset": lambda a: a.classification == "Asset",
    "liability": lambda a: a.classification == "Liability",
    "equity": lambda a: a.kind is AccountKind.EQUITY,
    "credit_card": lambda a: a.kind is AccountKind.CREDIT_CARD,
    # Accounts a payment can go into (a bank, Undeposited Funds, or one the provider lets take
    # payments: Xero's EnablePaymentsToAccount).
    "payments": lambda a: a.takes_payments,
    "all": lambda a: True,
}
# The payout deposit settings (booksync/payouts/) and the accounts each may name.
DEPOSIT_ACCOUNT_KINDS: dict[str, str] = {
    "deposit_bank_account_id": "bank",
    "merchant_fees_account_id": "expense",
    "payout_fees_account_id": "expense",
    "tips_account_id": "all",  # income, or a liability when tips are owed to staff
    "refunds_account_id": "all",
    "adjustments_account_id": "all",
    # Refund receipts (sync/engine.py): paid from a bank account or Undeposited Funds.
    "refunds_from_account_id": "asset",
}
CACHE_SECONDS = 60.0
BULK_WRITERS = 16


def require_income_account_per_item(provider: str, what: str) -> None:
    """Refuses choosing an item's income account (``what``) where the provider keeps none per item."""
    declared = declaration(provider)
    if not declared.supports(Capability.INCOME_ACCOUNT_PER_ITEM):
        refused = declared.not_supported(
            Capability.INCOME_ACCOUNT_PER_ITEM,
            what,
            fix=f"Nothing to choose: booksync sends items to {declared.label} without an account, "
            f"and {declared.label} posts their sales as its own settings say.",
        )
        raise InvalidRequest(refused.message, fix=refused.fix)


def account_dict(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "code": account.code,
        "kind": account.kind.value,
        "classification": account.classification,
        "type": account.account_type,
        "sub_type": account.sub_type,
        "active": account.active,
    }


def payment_account_state(provider: str, chosen: str | None, name: str | None = None) -> dict[str, Any]:
    """The account payments go into (``chosen``, the connection's setting), whether the
    provider requires one, and, while its payments wait for one, why and what ends the wait: what
    Account mapping and the integration's card show."""
    declared = declaration(provider)
    waiting = declared.payment_account_not_chosen() if declared.payments_wait(chosen) else None
    return {
        "account_id": chosen,
        "account_name": name,
        "required": declared.payment_account_required,
        "waiting_for": {"message": waiting.message, "fix": waiting.fix} if waiting else None,
    }


class AccountMapping:
    def __init__(
        self,
        *,
        connections: ConnectionRepository,
        documents: DocumentRepository,
        provider_for: Callable[[ConnectionModel], AccountingProvider],
        mappings: AccountMappingStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        cache_seconds: float = CACHE_SECONDS,
        on_payment_account: Callable[[str, str], object] | None = None,
    ) -> None:
        # (company, provider): run once the account payments go into is chosen (the payments
        # waiting for it resume; their notification ends).
        self._on_payment_account = on_payment_account
        self._connections = connections
        self._docs = documents
        self._provider_for = provider_for
        self._mappings = mappings or AccountMappingStore()
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._charts: dict[tuple[str, str], tuple[float, Sequence[Account]]] = {}

    # -- the chart ------------------------------------------------------------------------------
    def accounts(self, company_id: str, provider: str, kind: str = "all") -> list[dict[str, Any]]:
        keep = ACCOUNT_FILTERS[kind]
        return [account_dict(a) for a in self._chart(company_id, provider) if a.active and keep(a)]

    def check_income_account(self, company_id: str, provider: str, account_id: str) -> Account:
        """The account, if items can post their sales to it; else a refusal saying why."""
        require_income_account_per_item(provider, f"account {account_id}")
        fix = f"Choose one of GET /integrations/{provider}/accounts?type=income."
        account = self._check(
            company_id,
            provider,
            account_id,
            kind="income",
            fix=fix,
            context="",
            wrong_kind=", not an income account: items post their sales to income accounts.",
        )
        declared = declaration(provider)
        if declared.item_account_by_code and not account.code:
            raise InvalidRequest(
                f"{declared.label} account '{account.name}' has no code, and {declared.label} names "
                "the account an item's sales post to by its code.",
                fix=f"Give the account a code in {declared.label} (its chart of accounts), or choose "
                f"another with a code: {fix[:-1]} (each shows its code).",
            )
        return account

    def check_deposit_account(self, company_id: str, provider: str, setting: str, account_id: str) -> Account:
        """The account, if payout deposits can use it for ``setting``; else a refusal saying why."""
        kind = DEPOSIT_ACCOUNT_KINDS[setting]
        return self._check(
            company_id,
            provider,
            account_id,
            kind=kind,
            fix=f"Choose one of GET /integrations/{provider}/accounts?type={kind} for {setting}.",
            context=f" ({setting})",
            wrong_kind=f"; {setting} needs a {kind} account.",
        )

    def check_payment_account(self, company_id: str, provider: str, account_id: str) -> Account:
        """The account, if payments can go into it; else a refusal naming those that can."""
        label = provider_label(provider)
        able = [a for a in self._chart(company_id, provider) if a.active and a.takes_payments]
        named = "; ".join(f"'{a.name}' ({a.id})" for a in able) or "none yet"
        return self._check(
            company_id,
            provider,
            account_id,
            kind="payments",
            fix=f"Choose one of GET /integrations/{provider}/accounts?type=payments: {named}"
            + ("" if able else f" (add a bank account in {label} first)")
            + ".",
            context=" (payment_account_id)",
            wrong_kind=f", which {label} does not let payments go into: choose a bank account or "
            "one that accepts payments.",
        )

    def set_payment_account(self, company_id: str, provider: str, account_id: str) -> dict[str, Any]:
        """The account the company's payments go into (checked against the chart): saved on the
        connection's settings; payments that waited for it resume."""
        connection = self._connection(company_id, provider)
        account = self.check_payment_account(company_id, provider, account_id)
        previous = connection.settings.payment_account_id if connection.settings else None
        update_connection_settings(connection, {"payment_account_id": account.id})
        if self._on_payment_account is not None:
            self._on_payment_account(company_id, provider)
        return {
            **self.payment_account(company_id, provider, connection, {account.id: account.name}),
            "changed": previous != account.id,
        }

    def payment_account(
        self,
        company_id: str,
        provider: str,
        connection: ConnectionModel | None = None,
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The account payments go into, whether the provider needs one, and what waits for it."""
        connection = connection or self._connection(company_id, provider)
        chosen = connection.settings.payment_account_id if connection.settings else None
        if chosen and names is None:
            names = {a.id: a.name for a in self._chart(company_id, provider)}
        return payment_account_state(provider, chosen, (names or {}).get(chosen) if chosen else None)

    def _check(
        self,
        company_id: str,
        provider: str,
        account_id: str,
        *,
        kind: str,
        fix: str,
        context: str,
        wrong_kind: str,
    ) -> Account:
        """The active account of ``kind``; refusals name it (``context`` says for what)."""
        label = provider_label(provider)
        chart = {a.id: a for a in self._chart(company_id, provider, fresh_if_missing=account_id)}
        account = chart.get(account_id)
        if account is None:
            raise InvalidRequest(f"{label} has no account with id {account_id!r}{context}.", fix=fix)
        if not account.active:
            raise InvalidRequest(f"{label} account '{account.name}' is inactive{context}.", fix=fix)
        if not ACCOUNT_FILTERS[kind](account):
            raise InvalidRequest(
                f"{label} account '{account.name}' is a {account.account_type} account{wrong_kind}", fix=fix
            )
        return account

    def _chart(
        self, company_id: str, provider: str, *, fresh_if_missing: str | None = None
    ) -> Sequence[Account]:
        key = (company_id, provider)
        cached = self._charts.get(key)
        now = self._clock()
        # A minute old at most; an account created since (the id asked for is missing) re-reads.
        fresh = cached is not None and now - cached[0] < self._cache_seconds
        if cached is not None and fresh and (fresh_if_missing in (None, *(a.id for a in cached[1]))):
            return cached[1]
        chart = list(self._provider_for(self._connection(company_id, provider)).list_accounts())
        self._charts[key] = (now, chart)
        return chart

    def _connection(self, company_id: str, provider: str) -> ConnectionModel:
        label = provider_label(provider)
        if not is_accounting(provider):  # e.g. Square: a payment processor keeps no chart of accounts
            raise NotFoundError(
                f"{provider!r} is not an accounting system: it has no account mapping.",
                fix=f"Use one of: {', '.join(REGISTRY.names('accounting'))}.",
            )
        row = self._connections.get(company_id, provider)
        if row is None or row.status == ConnectionStatus.DISCONNECTED:
            raise NotFoundError(
                f"{label} is not connected.", fix="Connect it in Settings > Integrations first."
            )
        if row.status == ConnectionStatus.CHOOSE_ORGANISATION:
            raise organisation_not_chosen(provider, "its chart of accounts")
        return row

    # -- the mapping ----------------------------------------------------------------------------
    def mapping(self, company_id: str, provider: str) -> dict[str, Any]:
        """Every item with the account it posts to: its own, the default, or none ("unmapped")."""
        connection = self._connection(company_id, provider)
        require_income_account_per_item(provider, "account mapping")
        default = connection.settings.default_income_account_id if connection.settings else None
        names = {a.id: a.name for a in self._chart(company_id, provider)}
        items = [self._entry(row, provider, default, names) for row in self._mappings.items(company_id)]
        counts = {"items": len(items), "mapped": 0, "default": 0, "unmapped": 0}
        for item in items:
            counts[item["source"]] += 1
        return {
            "provider": provider,
            "default_income_account": {"id": default, "name": names.get(default)} if default else None,
            "payment_account": self.payment_account(company_id, provider, connection, names),
            "counts": counts,
            "items": items,
        }

    def map_item(self, company_id: str, provider: str, item_id: str, account_id: str) -> dict[str, Any]:
        connection = self._connection(company_id, provider)
        require_income_account_per_item(provider, f"item {item_id}")
        row = self._docs.get(company_id, DocumentKind.ITEM, item_id)
        if row is None:
            raise NotFoundError(f"No item {item_id!r}.", fix=f"Send it first with PUT /items/{item_id}.")
        account = self.check_income_account(company_id, provider, account_id)
        changed = self._mappings.set_item_account(row, provider, account.id)
        default = connection.settings.default_income_account_id if connection.settings else None
        return {
            **self._entry(row, provider, default, {account.id: account.name}),
            "changed": changed,
        }

    def apply_to_unmapped(self, company_id: str, provider: str, account_id: str) -> dict[str, Any]:
        """Bulk assign: every item without its own account gets this one (mapped ones are kept)."""
        self._connection(company_id, provider)
        require_income_account_per_item(provider, "apply to unmapped")
        account = self.check_income_account(company_id, provider, account_id)
        unmapped = [row for row in self._mappings.items(company_id) if not row.income_account(provider)]
        # One conditional write per item, several at a time: thousands must fit the API's 29 s.
        with ThreadPoolExecutor(max_workers=BULK_WRITERS) as pool:
            changed = pool.map(
                lambda row: self._mappings.set_item_account(row, provider, account.id), unmapped
            )
            updated = sum(1 for done in changed if done)
        return {"account": account_dict(account), "updated": updated, **self.mapping(company_id, provider)}

    @staticmethod
    def _entry(
        row: DocumentModel, provider: str, default: str | None, names: dict[str, str]
    ) -> dict[str, Any]:
        own = row.income_account(provider)
        account_id = own or default
        link = row.link(provider)
        return {
            "item_id": row.doc_id,
            "name": str((row.body or {}).get("name", "")),
            "source": "mapped" if own else ("default" if default else "unmapped"),
            "account_id": account_id,
            "account_name": names.get(account_id) if account_id else None,
            # The next sync sends the new account to an item already in the books.
            "out_of_date": bool(link is not None and link.remote_id and link.pushed_hash != row.content_hash),
        }
