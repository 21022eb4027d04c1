"""OAuth state rows: one per connection started, spent once (``integrations.Integrations``)."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from booksync.security.vault import SealedTokens
from booksync.store.models import OAuthStateModel


class OAuthStateRepository:
    """The DynamoDB adapter of ``integrations.OAuthStates``."""

    def create(self, row: OAuthStateModel) -> None:
        row.save()

    def get(self, state: str) -> OAuthStateModel | None:
        try:
            return OAuthStateModel.get(state, consistent_read=True)
        except OAuthStateModel.DoesNotExist:
            return None

    def seal_code(
        self, row: OAuthStateModel, *, consent_hash: str, sealed: SealedTokens, account_id: str | None
    ) -> bool:
        """Keep the sealed code and the consent's digest on the state, once: False when the state
        is spent or already holds a code."""
        actions: list[Action] = [
            OAuthStateModel.consent_hash.set(consent_hash),
            OAuthStateModel.code_key.set(sealed.encrypted_key),
            OAuthStateModel.code_nonce.set(sealed.nonce),
            OAuthStateModel.code_ciphertext.set(sealed.ciphertext),
        ]
        if account_id is not None:
            actions.append(OAuthStateModel.account_id.set(account_id))
        try:
            row.update(
                actions=actions,
                condition=OAuthStateModel.state.exists() & OAuthStateModel.consent_hash.does_not_exist(),
            )
        except UpdateError:
            return False
        return True

    def spend(self, row: OAuthStateModel, *, consent_hash: str | None = None) -> bool:
        """Delete the state, on condition that it is still there (and holds ``consent_hash``, when
        given): exactly one request spends it; False for the others."""
        condition: Condition = OAuthStateModel.state.exists()
        if consent_hash is not None:
            condition &= OAuthStateModel.consent_hash == consent_hash
        try:
            row.delete(condition=condition)
        except DeleteError:
            return False
        return True
