"""In-memory stand-ins for the store's repositories, behind the ports the domain code declares
(``sync.keepalive.DueConnections`` and ``Notifier``, ``onboarding.wizard.WizardConnections``,
``integrations.OAuthStates``): the domain's rules tested in milliseconds, without moto. Rows are
the store's own pynamodb models, built in memory (a model writes nothing until it is saved).
Each adapter keeps one moto test of its own (tests/integration/test_store_ports_dynamodb.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from booksync.security.vault import PlainTokens, SealedTokens, TokenContext, VaultError
from booksync.store.models import ConnectionModel, ConnectionSettingsMap, OAuthStateModel


class ContextCipher:
    """Seals to the context itself and opens only under the same one (as AES-GCM's associated
    data does), without KMS."""

    def seal(self, tokens: PlainTokens, context: TokenContext) -> SealedTokens:
        blob = json.dumps({"context": context.encryption_context(), "a": tokens.access_token}).encode()
        return SealedTokens(encrypted_key=b"k", nonce=b"n", ciphertext=blob)

    def open(self, sealed: SealedTokens, context: TokenContext) -> PlainTokens:
        data = json.loads(sealed.ciphertext)
        if data["context"] != context.encryption_context():
            raise VaultError("Stored tokens do not belong to this connection; reconnect it.")
        return PlainTokens(access_token=data["a"], refresh_token=None)


class InMemoryConnections:
    """Connection rows by (company, provider): ``get`` answers a copy, as a read does."""

    def __init__(self, *rows: ConnectionModel) -> None:
        self.rows: dict[tuple[str, str], ConnectionModel] = {}
        for row in rows:
            self.add(row)

    def add(self, row: ConnectionModel) -> ConnectionModel:
        self.rows[(str(row.company_id), str(row.provider))] = row
        return row

    def get(self, company_id: str, provider: str) -> ConnectionModel | None:
        row = self.rows.get((company_id, provider))
        return copy.deepcopy(row) if row is not None else None

    def refresh_due(self, provider: str, now: float) -> Iterator[ConnectionModel]:
        due = [
            row
            for (_, named), row in sorted(self.rows.items())
            if named == provider and row.refresh_due_at is not None and row.refresh_due_at <= now
        ]
        return iter([copy.deepcopy(row) for row in due])

    def save_wizard(self, row: ConnectionModel, state: dict[str, Any]) -> None:
        stored = self.rows[(str(row.company_id), str(row.provider))]
        stored.wizard = copy.deepcopy(state)
        row.wizard = copy.deepcopy(state)

    def update_settings(self, row: ConnectionModel, changes: dict[str, Any]) -> None:
        stored = self.rows[(str(row.company_id), str(row.provider))]
        for target in (stored, row):
            target.settings = target.settings or ConnectionSettingsMap()
            for name, value in changes.items():
                setattr(target.settings, name, value)


@dataclass
class InMemoryNotifications:
    """One notification per (company, kind) while it lasts; ``raised`` keeps each as raised."""

    raised: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def raise_once(
        self, company_id: str, kind: str, *, title: str, message: str, fix: str | None, now: float
    ) -> bool:
        key = (company_id, kind)
        if key in self.raised:
            self.raised[key]["occurrences"] += 1
            return False
        self.raised[key] = {"title": title, "message": message, "fix": fix, "at": now, "occurrences": 1}
        return True


class InMemoryOAuthStates:
    """OAuth state rows: a code sealed on one once, each spent once (conditions as the table's)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def create(self, row: OAuthStateModel) -> None:
        self.rows[str(row.state)] = {
            name: getattr(row, name)
            for name in ("company_id", "provider", "user_id", "redirect_uri", "code_verifier", "ttl")
        }

    def get(self, state: str) -> OAuthStateModel | None:
        values = self.rows.get(state)
        return OAuthStateModel(state, **copy.deepcopy(values)) if values is not None else None

    def seal_code(
        self, row: OAuthStateModel, *, consent_hash: str, sealed: SealedTokens, account_id: str | None
    ) -> bool:
        values = self.rows.get(str(row.state))
        if values is None or values.get("consent_hash") is not None:
            return False
        values.update(
            consent_hash=consent_hash,
            code_key=sealed.encrypted_key,
            code_nonce=sealed.nonce,
            code_ciphertext=sealed.ciphertext,
        )
        if account_id is not None:
            values["account_id"] = account_id
        return True

    def spend(self, row: OAuthStateModel, *, consent_hash: str | None = None) -> bool:
        values = self.rows.get(str(row.state))
        if values is None or (consent_hash is not None and values.get("consent_hash") != consent_hash):
            return False
        del self.rows[str(row.state)]
        return True
