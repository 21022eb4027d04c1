"""Wave's answers outside a GraphQL result: the rate limit's 429 and a server failure, in the
GraphQL error shape (``errors[{message, extensions{code}}]``; the bodies are assumed)."""

from __future__ import annotations

from local.sandboxes.kit.wire import Response, json_response


def _errors(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return json_response(status, body, headers=headers, fault_code=code)


def rate_limited(retry_after: int) -> Response:
    return _errors(
        429, "Too many requests. Retry later.", "TOO_MANY_REQUESTS", {"Retry-After": str(retry_after)}
    )


def unavailable() -> Response:
    return _errors(503, "Service unavailable.", "SERVICE_UNAVAILABLE")


def internal() -> Response:
    return _errors(500, "Internal server error", "INTERNAL_SERVER_ERROR")


def unauthorized() -> Response:
    """An injected ``http_401``: the token refused, as Wave refuses one (HTTP 200, UNAUTHENTICATED)."""
    return _errors(200, "You must be logged in to perform this action.", "UNAUTHENTICATED")
