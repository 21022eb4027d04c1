"""Tokens for the local stack's JWT authorizer, signed with a local RSA key (.local/jwt/).

The key pair is made on first use and kept, so a token minted by ``make token`` stays valid across
restarts of ``make dev``. The issuer and audience below are what ``local/stack.yaml`` gives the
template's ``JwtIssuer`` and ``JwtAudience``.

    python -m local.runtime.jwt_tokens --company demo-company --role admin
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import os
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_KEY_DIR = REPO_ROOT / ".local" / "jwt"
LOCAL_ISSUER = "https://auth.booksync.local/"
LOCAL_AUDIENCE = "booksync-api"
ROLES = ("admin", "member")
Role = Literal["admin", "member"]
_PRIVATE_KEY_FILE = "private.pem"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def jwk(self) -> dict[str, Any]:
        """The public half as a JWKS entry, as an issuer publishes it."""
        numbers = self.public_key.public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _b64(numbers.n),
            "e": _b64(numbers.e),
        }


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _kid(private_key: rsa.RSAPrivateKey) -> str:
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode()


def load_or_create_key(key_dir: Path | None = None) -> SigningKey:
    """The local signing key, made on first use; safe when two processes race to make it."""
    folder = key_dir or DEFAULT_KEY_DIR
    path = folder / _PRIVATE_KEY_FILE
    if not path.exists():
        _create_key(path)
    private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: not an RSA private key")
    return SigningKey(kid=_kid(private_key), private_key=private_key)


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(pem)
    # link() fails if another process made the key first; then that key is the one to use.
    with contextlib.suppress(FileExistsError):
        os.link(temporary, path)
    temporary.unlink()


def mint_token(
    company_id: str,
    role: Role = "admin",
    sub: str = "demo-user",
    email: str | None = None,
    ttl_seconds: int = 3600,
    issuer: str = LOCAL_ISSUER,
    audience: str | Sequence[str] = LOCAL_AUDIENCE,
    *,
    key_dir: Path | None = None,
    extra_claims: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> str:
    """An RS256 token the local authorizer accepts: sub, company_id, role, email, iss, aud, iat, nbf, exp.

    ``extra_claims`` are added last (they may override), for tests that need an odd token.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    key = load_or_create_key(key_dir)
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "sub": sub,
        "company_id": company_id,
        "role": role,
        "email": email or f"{sub}@{company_id}.example",
        "iss": issuer,
        "aud": audience if isinstance(audience, str) else list(audience),
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    claims.update(extra_claims or {})
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.runtime.jwt_tokens", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--company", required=True, help="company_id claim")
    parser.add_argument("--role", choices=ROLES, default="admin")
    parser.add_argument("--sub", default="demo-user")
    parser.add_argument("--email")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    parser.add_argument("--issuer", default=LOCAL_ISSUER)
    parser.add_argument("--audience", default=LOCAL_AUDIENCE)
    parser.add_argument("--key-dir", type=Path, help=f"default {DEFAULT_KEY_DIR}")
    args = parser.parse_args(argv)
    token = mint_token(
        args.company,
        args.role,
        sub=args.sub,
        email=args.email,
        ttl_seconds=args.ttl,
        issuer=args.issuer,
        audience=args.audience,
        key_dir=args.key_dir,
    )
    sys.stdout.write(token + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
