"""Voyage's error answers: JSON ``{"detail": "<message>"}`` with the status (the ``voyageai``
package reads ``detail`` and picks its error class by status: 400 InvalidRequestError, 401
AuthenticationError, 422 MalformedRequestError, 429 RateLimitError, 500 ServerError, 502-504
ServiceUnavailableError; providers.md 7.4). The words are assumed."""

from __future__ import annotations

from local.sandboxes.kit.wire import Response, json_response

# The request log's fault code of each status (Voyage's error type names, docs.voyageai.com/docs/error-codes).
_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    422: "malformed_request",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "service_unavailable",
}


class VoyageError(Exception):
    """An answer other than 200: its status, Voyage's ``detail`` and, for a 429, Retry-After."""

    def __init__(self, status: int, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after

    def response(self) -> Response:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return json_response(
            self.status, {"detail": self.detail}, headers=headers, fault_code=_CODES.get(self.status)
        )


def invalid(detail: str) -> VoyageError:
    return VoyageError(400, detail)


def malformed(detail: str) -> VoyageError:
    return VoyageError(422, detail)


def unauthorized() -> VoyageError:
    return VoyageError(
        401, "Provided API key is invalid. Please create or view your API key at https://dash.voyageai.com."
    )


def rate_limited(what: str, retry_after: int | None) -> VoyageError:
    return VoyageError(
        429,
        f"You have exceeded your {what} rate limit. Please pace your requests or contact Voyage to raise it.",
        retry_after=retry_after,
    )


def server_error() -> VoyageError:
    return VoyageError(500, "An unexpected error occurred on the server. Please retry after a brief wait.")


def unavailable() -> VoyageError:
    return VoyageError(503, "The service is temporarily overloaded. Please retry after a brief wait.")
