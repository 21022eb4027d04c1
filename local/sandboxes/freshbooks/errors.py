"""FreshBooks' error answers, in each of its shapes (providers.md 7.2; SDK fixtures):

- the accounting API's legacy shape, ``{"response": {"errors": [{errno, field, message, object,
  value}]}}`` (what ``freshbooks-sdk``'s AccountingResource reads), or its newer one,
  ``{"code": <google.rpc code>, "message", "details": [ErrorInfo]}`` (``error_style: rpc``);
- the events (callbacks) API's ``{"errno", "message", "details"}``;
- the identity service's and token endpoint's ``{"error", "error_description"}`` (401
  ``unauthenticated`` from /users/me; Doorkeeper's ``invalid_grant``, ``invalid_client``).
"""

from __future__ import annotations

from typing import Any, Literal

from local.sandboxes.kit.wire import Response, json_response

Style = Literal["legacy", "rpc", "events"]

# google.rpc.Code by HTTP status, for the newer shape.
_RPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 422: 3, 429: 8, 500: 13, 503: 14}
UNAUTHENTICATED = "This action requires authentication to continue."
# Doorkeeper's words (FreshBooks' token endpoint answers them; its answer carries created_at).
OAUTH_DESCRIPTIONS = {
    "invalid_grant": (
        "The provided authorization grant is invalid, expired, revoked, does not match the "
        "redirection URI used in the authorization request, or was issued to another client."
    ),
    "invalid_client": (
        "Client authentication failed due to unknown client, no client authentication included, "
        "or unsupported authentication method."
    ),
    "invalid_request": (
        "The request is missing a required parameter, includes an unsupported parameter value, "
        "or is otherwise malformed."
    ),
    "unsupported_grant_type": "The authorization grant type is not supported by the authorization server.",
    "invalid_redirect_uri": "The requested redirect uri is malformed or doesn't match client redirect URI.",
}


class FreshBooksError(Exception):
    """An answer other than 2xx: ``status``, FreshBooks' ``errno`` and where it applies."""

    def __init__(
        self,
        status: int,
        errno: int,
        message: str,
        *,
        field: str | None = None,
        obj: str | None = None,
        value: object = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errno = errno
        self.message = message
        self.field = field
        self.obj = obj
        self.value = value
        self.headers = headers or {}

    def body(self, style: Style) -> dict[str, Any]:
        value = None if self.value is None else str(self.value)
        if style == "events":
            return {"errno": self.errno, "message": self.message, "details": []}
        if style == "rpc":
            info = {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": str(self.errno),
                "domain": "freshbooks.com",
                "metadata": {
                    key: str(item)
                    for key, item in (("object", self.obj), ("field", self.field), ("value", value))
                    if item is not None
                },
            }
            return {"code": _RPC_CODES.get(self.status, 2), "message": self.message, "details": [info]}
        error = {
            "errno": self.errno,
            "field": self.field,
            "message": self.message,
            "object": self.obj,
            "value": value,
        }
        return {"response": {"errors": [error]}}

    def response(self, style: Style) -> Response:
        return json_response(self.status, self.body(style), headers=self.headers, fault_code=str(self.errno))


class OAuthError(Exception):
    """The token endpoint's (and /users/me's) ``{"error", "error_description"}``."""

    def __init__(self, error: str, status: int = 400, description: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.description = description or OAUTH_DESCRIPTIONS.get(error, error)

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description}
        return json_response(self.status, body, fault_code=self.error)


def unauthenticated() -> OAuthError:
    """401 from /users/me (SDK fixture ``auth_me_response__no_auth``); the accounting API's 401
    body is unconfirmed, the sandbox answers the same."""
    return OAuthError("unauthenticated", 401, UNAUTHENTICATED)


def not_found(obj: str, field: str, value: object) -> FreshBooksError:
    """404 errno 1012, as FreshBooks answers a client it does not have (SDK fixture)."""
    return FreshBooksError(404, 1012, f"{obj.capitalize()} not found.", field=field, obj=obj, value=value)


def invalid(obj: str, field: str, message: str, value: object = None, errno: int = 1003) -> FreshBooksError:
    """422: a field FreshBooks refuses (the message says what is wrong and how to fix it)."""
    return FreshBooksError(422, errno, message, field=field, obj=obj, value=value)


def bad_request(message: str) -> FreshBooksError:
    return FreshBooksError(400, 1000, message)


def rate_limited(retry_after: int) -> FreshBooksError:
    return FreshBooksError(
        429,
        429,
        "Too many requests. Retry after the Retry-After header's seconds.",
        headers={"Retry-After": str(retry_after)},
    )


def internal() -> FreshBooksError:
    return FreshBooksError(500, 500, "An internal error occurred.")


def unavailable() -> FreshBooksError:
    return FreshBooksError(503, 503, "Service unavailable.")
