"""KMS envelope encryption of OAuth tokens.

Each write asks KMS for a fresh data key (GenerateDataKey, AES-256) and seals the tokens with
AES-256-GCM under a fresh 96-bit nonce. The KMS encryption context and the GCM associated data
both bind the ciphertext to its company, provider and connection, so a blob copied onto another
connection row does not decrypt. Only ciphertext, the encrypted data key and the nonce are stored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from booksync.errors import BooksyncError

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient


@dataclass(frozen=True)
class TokenContext:
    company_id: str
    provider: str
    connection_id: str

    def encryption_context(self) -> dict[str, str]:
        return {"company_id": self.company_id, "provider": self.provider, "connection_id": self.connection_id}

    def aad(self) -> bytes:
        return json.dumps(self.encryption_context(), sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class SealedTokens:
    encrypted_key: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)


@dataclass(frozen=True)
class PlainTokens:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)

    def without_refresh(self) -> PlainTokens:
        return PlainTokens(access_token=self.access_token, refresh_token=None)


class VaultError(BooksyncError):
    code = "token_vault_error"


class TokenCipher(Protocol):
    def seal(self, tokens: PlainTokens, context: TokenContext) -> SealedTokens: ...
    def open(self, sealed: SealedTokens, context: TokenContext) -> PlainTokens: ...


class KmsTokenVault:
    """The production cipher: KMS data keys, AES-256-GCM."""

    def __init__(self, key_id: str, kms: KMSClient | None = None) -> None:
        self._key_id = key_id
        self._kms = kms

    @property
    def kms(self) -> KMSClient:
        if self._kms is None:
            import boto3

            self._kms = boto3.client("kms")
        return self._kms

    def seal(self, tokens: PlainTokens, context: TokenContext) -> SealedTokens:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        data_key = self.kms.generate_data_key(
            KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=context.encryption_context()
        )
        nonce = os.urandom(12)
        plaintext = json.dumps({"a": tokens.access_token, "r": tokens.refresh_token}).encode()
        ciphertext = AESGCM(data_key["Plaintext"]).encrypt(nonce, plaintext, context.aad())
        return SealedTokens(encrypted_key=data_key["CiphertextBlob"], nonce=nonce, ciphertext=ciphertext)

    def open(self, sealed: SealedTokens, context: TokenContext) -> PlainTokens:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            key = self.kms.decrypt(
                CiphertextBlob=sealed.encrypted_key,
                EncryptionContext=context.encryption_context(),
                KeyId=self._key_id,
            )["Plaintext"]
            data: dict[str, Any] = json.loads(
                AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, context.aad())
            )
        except InvalidTag:
            raise VaultError("Stored tokens do not belong to this connection; reconnect it.") from None
        except self.kms.exceptions.InvalidCiphertextException:
            raise VaultError(
                "Stored tokens could not be decrypted for this connection; reconnect it."
            ) from None
        return PlainTokens(access_token=data["a"], refresh_token=data.get("r"))
