"""The providers booksync knows, each by its declaration (``providers/declaration.py``), and the
parts built from it. Adding a provider is a package with a ``DECLARATION`` and a line in
``_DECLARED`` below."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from pydantic import AfterValidator

from booksync.errors import NotFoundError
from booksync.providers.declaration import AnyDeclaration, Capability, ProviderKind

# A webhook receiver reads its declaration before its 3-second answer: it loads no store or port.
if TYPE_CHECKING:
    from booksync.providers.bulk import CatalogProvider, Gate
    from booksync.providers.port import AccountingProvider, OAuthClient, TokenSource
    from booksync.store.models import ConnectionModel
    from booksync.sync.rate_limits import RequestGate


def _freshbooks() -> AnyDeclaration:
    from booksync.providers.freshbooks.declaration import DECLARATION

    return DECLARATION


def _quickbooks() -> AnyDeclaration:
    from booksync.providers.quickbooks.declaration import DECLARATION

    return DECLARATION


def _square() -> AnyDeclaration:
    from booksync.providers.square.declaration import DECLARATION

    return DECLARATION


def _xero() -> AnyDeclaration:
    from booksync.providers.xero.declaration import DECLARATION

    return DECLARATION


def _wave() -> AnyDeclaration:
    from booksync.providers.wave.declaration import DECLARATION

    return DECLARATION


# Loaded on first use: a function imports only the declarations it asks for.
_DECLARED: Mapping[str, Callable[[], AnyDeclaration]] = {
    "freshbooks": _freshbooks,
    "quickbooks": _quickbooks,
    "square": _square,
    "wave": _wave,
    "xero": _xero,
}


_KINDS: Mapping[ProviderKind, str] = {
    "accounting": "an accounting system",
    "payments": "a payments processor",
}


class UnknownProvider(NotFoundError):
    code = "unknown_provider"


class ProviderRegistry:
    """Provider name -> declaration."""

    def __init__(self, declared: Mapping[str, Callable[[], AnyDeclaration]]) -> None:
        self._declared = dict(declared)
        self._loaded: dict[str, AnyDeclaration] = {}

    def names(self, kind: ProviderKind | None = None) -> tuple[str, ...]:
        return tuple(name for name in self._declared if kind is None or self.get(name).kind == kind)

    def get(self, provider: str) -> AnyDeclaration:
        found = self._loaded.get(provider)
        if found is None:
            load = self._declared.get(provider)
            if load is None:
                known = ", ".join(self._declared)
                raise UnknownProvider(
                    f"booksync knows no provider {provider!r} (it knows {known}).",
                    fix=f"Use one of: {known}.",
                )
            found = self._loaded[provider] = load()
        return found

    def declare(self, declaration: AnyDeclaration) -> Callable[[], None]:
        """Adds (or replaces) one provider until the returned function is called: a test's
        in-memory provider, known everywhere the registry is read (jobs, labels, connect)."""
        before = self._declared.get(declaration.name)
        self._declared[declaration.name] = lambda: declaration
        self._loaded.pop(declaration.name, None)

        def undo() -> None:
            self._loaded.pop(declaration.name, None)
            if before is None:
                self._declared.pop(declaration.name, None)
            else:
                self._declared[declaration.name] = before

        return undo

    def with_declaration(self, declaration: AnyDeclaration) -> ProviderRegistry:
        """This registry and one more (or another) provider: a test's, or a provider being built."""
        return ProviderRegistry({**self._declared, declaration.name: lambda: declaration})


REGISTRY = ProviderRegistry(_DECLARED)


def declaration(provider: str) -> AnyDeclaration:
    """The provider's declaration; an unknown one is refused, naming those booksync knows."""
    return REGISTRY.get(provider)


def require_kind(provider: str, kind: ProviderKind) -> str:
    """``provider`` if booksync knows it as ``kind``; else a clear refusal."""
    declared = declaration(provider)
    if declared.kind != kind:
        known = ", ".join(REGISTRY.names(kind))
        raise UnknownProvider(
            f"{declared.label} is not {_KINDS[kind]} but {_KINDS[declared.kind]} (booksync's are {known}).",
            fix=f"Use one of: {known}.",
        )
    return provider


def is_accounting(provider: str) -> bool:
    """Does booksync know ``provider`` as an accounting system (the company's books)?"""
    return provider in REGISTRY.names("accounting")


def _accounting_name(provider: str) -> str:
    try:
        return require_kind(provider, "accounting")
    except UnknownProvider as exc:
        raise ValueError(exc.message) from None


# A job's provider: one booksync knows as an accounting system (a queue message naming another is refused).
AccountingProviderName = Annotated[str, AfterValidator(_accounting_name)]


class ProviderSettingsSource(Protocol):
    """A function's settings, which read each provider's own settings on first use."""

    def provider_settings(self, provider: str) -> Any: ...


def refreshed_by_keep_alive(settings: ProviderSettingsSource) -> tuple[str, ...]:
    """The providers whose refresh tokens lapse unless used, as each declares with its settings."""
    return tuple(
        name
        for name in REGISTRY.names()
        if declaration(name).refresh_lapses(settings.provider_settings(name))
    )


def oauth_client(provider: str, settings: ProviderSettingsSource) -> OAuthClient:
    declared = declaration(provider)
    return declared.builders.oauth(settings.provider_settings(provider))


def accounting_provider(
    connection: ConnectionModel,
    settings: ProviderSettingsSource,
    tokens: TokenSource,
    gate: RequestGate | None = None,
) -> AccountingProvider:
    """The connection's adapter; ``gate``: what every request to its provider company passes."""
    declared = declaration(require_kind(connection.provider, "accounting"))
    adapter = declared.builders.adapter
    if adapter is None:
        raise AssertionError("an accounting declaration has an adapter (checked when declared)")
    return adapter(settings.provider_settings(connection.provider), str(connection.account_id), tokens, gate)


def catalog_writer(
    declared: AnyDeclaration,
    settings: Any,
    account_id: str,
    tokens: TokenSource,
    gate: RequestGate | None,
    pacing: Gate,
    deadline: Callable[[], float | None],
) -> CatalogProvider:
    """Sync Now's catalog writer: the provider's batch writer where it declares batch writes,
    else its adapter one record a request (``providers/one_by_one.py``). ``settings``: its own."""
    batch = declared.builders.catalog
    if declared.supports(Capability.BATCH_WRITES) and batch is not None:
        return batch(settings, account_id, tokens, gate, pacing, deadline)
    from booksync.providers.one_by_one import OneByOne

    adapter = declared.builders.adapter
    if adapter is None:
        raise AssertionError("an accounting declaration has an adapter (checked when declared)")
    return OneByOne(adapter(settings, account_id, tokens, gate), pacing, deadline=deadline)


def pick_default_income_account(connection: ConnectionModel, provider: AccountingProvider) -> str | None:
    """The connection's default income account; else the provider's usual one (the first of its
    declaration's ``income_account_names`` in the chart, else its first income account), remembered."""
    chosen = connection.settings.default_income_account_id if connection.settings else None
    if chosen:
        return str(chosen)
    usual = declaration(str(connection.provider)).income_account_names
    from booksync.providers.port import AccountKind

    income = [a for a in provider.list_accounts() if a.kind is AccountKind.INCOME and a.active]
    by_name = {a.name: a for a in income}
    pick = next((by_name[n] for n in usual if n in by_name), income[0] if income else None)
    if pick is None:
        return None
    from booksync.store.models import update_connection_settings

    update_connection_settings(connection, {"default_income_account_id": pick.id})
    return pick.id
