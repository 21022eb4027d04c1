"""Xero's error answers: the Accounting API's 400 ``Error`` (spec ``Error``/``Element``), the
problem documents of its gateway (401, 403, 404) and the identity service's OAuth errors."""

from __future__ import annotations

from typing import Any

from local.sandboxes.kit.wire import Response, json_response


class XeroError(Exception):
    """An Accounting or identity answer other than 2xx, rendered by ``response()``."""

    def __init__(
        self, status: int, body: dict[str, Any] | None, code: str, headers: dict[str, str] | None = None
    ):
        super().__init__(code)
        self.status = status
        self.body = body
        self.code = code
        self.headers = headers or {}

    def response(self) -> Response:
        if self.body is None:
            return Response(self.status, b"", dict(self.headers), self.code)
        return json_response(self.status, self.body, headers=self.headers, fault_code=self.code)


def problem(status: int, title: str, detail: str) -> XeroError:
    """The gateway's problem document, e.g. 401 ``TokenExpired: ...``, 403 ``AuthenticationUnsuccessful``."""
    code = detail.split(":", maxsplit=1)[0]
    return XeroError(status, {"Title": title, "Status": status, "Detail": detail}, code)


def unauthorized(detail: str) -> XeroError:
    return problem(401, "Unauthorized", detail)


def forbidden() -> XeroError:
    """A tenant the token has no connection to (never had, or disconnected)."""
    return problem(403, "Forbidden", "AuthenticationUnsuccessful")


def not_found(what: str) -> XeroError:
    return problem(404, "Not Found", f"{what} was not found")


def validation(message: str, elements: list[dict[str, Any]] | None = None) -> XeroError:
    """Xero's 400 ValidationException (ErrorNumber 10), with the elements that failed."""
    body: dict[str, Any] = {"ErrorNumber": 10, "Type": "ValidationException", "Message": message}
    if elements is not None:
        body["Elements"] = elements
    return XeroError(400, body, "ValidationException")


def bad_request(message: str) -> XeroError:
    """A request Xero refuses before looking at its elements (bad JSON, a reused Idempotency-Key)."""
    return XeroError(
        400,
        {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message},
        "PostDataInvalidException",
    )


def oauth_error(error: str, status: int = 400) -> XeroError:
    """The identity service's token endpoint errors: invalid_grant, invalid_client, ..."""
    return XeroError(status, {"error": error}, error)


def internal() -> XeroError:
    return XeroError(
        500,
        {"ErrorNumber": 500, "Type": "UnknownErrorException", "Message": "An error occurred in Xero."},
        "UnknownErrorException",
    )


def unavailable() -> XeroError:
    return XeroError(
        503,
        {"Title": "Service Unavailable", "Status": 503, "Detail": "ServiceUnavailable"},
        "ServiceUnavailable",
    )


def rate_limited(problem_kind: str, retry_after: int, headers: dict[str, str]) -> XeroError:
    """429 with ``Retry-After`` (seconds) and ``X-Rate-Limit-Problem``: minute, day, appminute
    or concurrent."""
    all_headers = {**headers, "Retry-After": str(retry_after), "X-Rate-Limit-Problem": problem_kind}
    return XeroError(
        429,
        {"Title": "Too Many Requests", "Status": 429, "Detail": f"Rate limit exceeded: {problem_kind}"},
        "RateLimitExceeded",
        all_headers,
    )
