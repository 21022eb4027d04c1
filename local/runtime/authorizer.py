"""API Gateway's JWT authorizer (HTTP APIs), checking tokens against the local signing key.

It follows API Gateway's documented checks, in order: the token is taken from the identity source
(a ``Bearer`` prefix is dropped), decoded, its ``kid`` must name a key of the issuer, the RS256
signature must hold, ``iss`` must equal the issuer, ``aud`` (or ``client_id``) must be one of the
audiences, ``exp`` must be in the future, ``nbf`` and ``iat`` (if present) in the past, and, when
the route asks for scopes, ``scope``/``scp`` must include one. A failed check is 401; missing scopes
are 403.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import jwt

from local.runtime.jwt_tokens import SigningKey
from local.runtime.model import JwtAuthorizerSpec
from local.runtime.web import HttpRequest


class AuthorizationError(Exception):
    """The request is refused; ``status`` is what API Gateway answers (401 or 403)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Authorization:
    """What the function sees in requestContext.authorizer.jwt."""

    claims: dict[str, str]
    scopes: list[str] | None

    def context(self) -> dict[str, Any]:
        return {"jwt": {"claims": self.claims, "scopes": self.scopes}}


class JwtAuthorizer:
    def __init__(
        self, spec: JwtAuthorizerSpec, keys: Sequence[SigningKey], clock: Callable[[], float] = time.time
    ) -> None:
        self.spec = spec
        self._keys = {key.kid: key for key in keys}
        self._clock = clock

    def authorize(self, request: HttpRequest, route_scopes: Sequence[str]) -> Authorization:
        token = self._token(request)
        claims = self._verified_claims(token)
        token_scopes = _scopes(claims)
        if route_scopes and not set(route_scopes) & set(token_scopes):
            raise AuthorizationError(403, "the token has none of the route's scopes")
        return Authorization(
            claims={name: _claim_text(value) for name, value in claims.items()},
            scopes=token_scopes if route_scopes else None,
        )

    def _token(self, request: HttpRequest) -> str:
        source = self.spec.identity_source
        value: str | None
        if source.lower().startswith("$request.header."):
            value = request.header(source[len("$request.header.") :])
        elif source.startswith("$request.querystring."):
            wanted = source[len("$request.querystring.") :]
            value = next((v for k, v in parse_qsl(request.raw_query) if k == wanted), None)
        else:
            raise AuthorizationError(401, f"identity source {source} is not emulated")
        token = (value or "").strip()
        scheme, _, rest = token.partition(" ")
        if scheme.lower() == "bearer":
            token = rest.strip()
        if not token:
            raise AuthorizationError(401, "no token in the identity source")
        return token

    def _verified_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise AuthorizationError(401, f"malformed token: {error}") from None
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            raise AuthorizationError(401, "the token's kid is not a key of the issuer")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public_key,
                algorithms=["RS256"],
                options={
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as error:
            raise AuthorizationError(401, f"invalid token: {error}") from None
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = self._clock()
        if claims.get("iss") != self.spec.issuer:
            raise AuthorizationError(401, "the token's issuer is not the authorizer's")
        audiences = claims.get("aud", claims.get("client_id"))
        token_audiences = audiences if isinstance(audiences, list) else [audiences]
        if not set(self.spec.audiences) & {str(a) for a in token_audiences if a is not None}:
            raise AuthorizationError(401, "the token's audience is not the authorizer's")
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or expires <= now:
            raise AuthorizationError(401, "the token has expired")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is not None and (not isinstance(value, int | float) or value > now):
                raise AuthorizationError(401, f"the token is not valid yet ({name})")


def _scopes(claims: dict[str, Any]) -> list[str]:
    raw = claims.get("scope", claims.get("scp"))
    if isinstance(raw, str):
        return raw.split()
    return [str(s) for s in raw] if isinstance(raw, list) else []


def _claim_text(value: Any) -> str:
    """API Gateway hands claims over as strings, lists and maps printed the way Go prints them."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + " ".join(_claim_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{_claim_text(item)}" for key, item in sorted(value.items())) + "]"
    return str(value)
