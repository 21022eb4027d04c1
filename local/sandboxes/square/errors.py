"""Square's error answers: ``{"errors": [{"category", "code", "detail", "field"?}]}``."""

from __future__ import annotations

from local.sandboxes.kit.wire import Response, json_response


class SquareError(Exception):
    """An error the API answers as Square does; raised anywhere below a route, rendered once."""

    def __init__(
        self,
        status: int,
        category: str,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.category = category
        self.code = code
        self.detail = detail
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        error: dict[str, str] = {"category": self.category, "code": self.code, "detail": self.detail}
        if self.field:
            error["field"] = self.field
        return {"errors": [error]}

    def response(self) -> Response:
        return json_response(self.status, self.body(), headers=self.headers, fault_code=self.code)


def unauthorized(
    detail: str = "This request could not be authorized.", code: str = "UNAUTHORIZED"
) -> SquareError:
    return SquareError(401, "AUTHENTICATION_ERROR", code, detail)


def forbidden(detail: str) -> SquareError:
    return SquareError(403, "AUTHENTICATION_ERROR", "INSUFFICIENT_SCOPES", detail)


def not_found(what: str, ident: str) -> SquareError:
    return SquareError(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", f"Could not find {what} with id '{ident}'.")


def invalid_value(field: str, detail: str) -> SquareError:
    return SquareError(400, "INVALID_REQUEST_ERROR", "INVALID_VALUE", detail, field=field)


def missing(field: str) -> SquareError:
    return SquareError(
        400,
        "INVALID_REQUEST_ERROR",
        "MISSING_REQUIRED_PARAMETER",
        f"Missing required parameter '{field}'.",
        field=field,
    )


def invalid_cursor() -> SquareError:
    return SquareError(
        400, "INVALID_REQUEST_ERROR", "INVALID_CURSOR", "The cursor is invalid or expired.", field="cursor"
    )


def rate_limited(retry_after: int | None) -> SquareError:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return SquareError(
        429, "RATE_LIMIT_ERROR", "RATE_LIMITED", "Rate limit exceeded. Retry later.", headers=headers
    )


def internal() -> SquareError:
    return SquareError(500, "API_ERROR", "INTERNAL_SERVER_ERROR", "An internal error has occurred.")


def unavailable() -> SquareError:
    return SquareError(503, "API_ERROR", "SERVICE_UNAVAILABLE", "The service is temporarily unavailable.")
