"""Every error is a JSON problem document (RFC 9457) that says what is wrong and how to fix it.

This is the one place where exceptions become responses.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from booksync.errors import (
    AccountTaken,
    AlreadyExists,
    BooksyncError,
    ConcurrentChange,
    ConfigurationError,
    ConsentNotYours,
    FieldError,
    FieldProblem,
    InvalidRequest,
    NeedsReconnection,
    NotConnectable,
    NotFoundError,
    OrganisationNotChosen,
    ProviderError,
    RateLimited,
)

logger = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    fix: str | None = None
    errors: list[FieldError] = []


class Forbidden(BooksyncError):
    code = "forbidden"


class Unauthorized(BooksyncError):
    code = "unauthorized"


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    fix: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://booksync.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "fix": fix,
        "errors": [error.as_dict() for error in errors or []],
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


_STATUS: list[tuple[type[BooksyncError], int, str]] = [
    (Unauthorized, 401, "Not authenticated"),
    (ConsentNotYours, 403, "This connection was started by another account"),
    (Forbidden, 403, "Not allowed"),
    (NotFoundError, 404, "Not found"),
    (AlreadyExists, 409, "Already exists"),  # a FieldProblem: before InvalidRequest
    (InvalidRequest, 422, "The request cannot be processed"),
    (ConcurrentChange, 409, "Changed by another request at the same time"),
    (AccountTaken, 409, "Connected to another booksync company"),
    (NotConnectable, 409, "The provider lets none of these accounts be connected"),
    (ConfigurationError, 503, "booksync is not configured for this"),
    (RateLimited, 429, "The provider is rate limiting"),
    (OrganisationNotChosen, 409, "Choose the organisation to connect"),  # before NeedsReconnection
    (NeedsReconnection, 409, "The integration needs to be reconnected"),
    (ProviderError, 502, "The provider refused or failed"),
]

# What any route may answer, documented on every operation (api/document.py).
PROBLEM_STATUSES: dict[int, str] = {
    **{status: title for _, status, title in _STATUS},
    400: "The body is not JSON",
    405: "Method not allowed",
    409: "The integration needs to be reconnected (or its organisation chosen), another document "
    "already has this number, the provider account is connected to another booksync company (or "
    "the provider lets none of the consent's accounts be connected), or "
    "other requests changed the same record meanwhile",
    422: "Invalid request",
}


def internal_error() -> JSONResponse:
    return problem(
        500,
        "internal_error",
        "Unexpected error",
        "Something went wrong on our side.",
        "Try again; if it persists, contact support with the request id.",
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(BooksyncError)
    async def _booksync(_: Request, exc: BooksyncError) -> JSONResponse:
        for cls, status, title in _STATUS:
            if isinstance(exc, cls):
                errors = [exc.error] if isinstance(exc, FieldProblem) else None
                headers = {"Retry-After": str(int(exc.retry_after))} if isinstance(exc, RateLimited) else None
                if status >= 500:
                    logger.warning("request failed", extra={"code": exc.code, "detail": exc.message})
                return problem(status, exc.code, title, exc.message, exc.fix or None, errors, headers)
        logger.exception("unmapped booksync error")
        return internal_error()

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        from booksync.api.field_errors import teach

        model = getattr(exc, "model", None) or _route_body_model(request)
        taught = [teach(dict(err), model, exc.body) for err in exc.errors()]
        detail = "; ".join(f"{t.field}: {t.message}" for t in taught)
        fixes = list(dict.fromkeys(t.fix for t in taught if t.fix))
        return problem(
            422,
            "validation_error",
            "Some fields are invalid" if taught[0].field != "body" else "The body is not valid JSON",
            detail,
            " ".join(fixes),
            taught,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        fixes = {
            400: "Send a JSON object encoded as UTF-8, with Content-Type: application/json.",
            404: "Check the path; GET /openapi.json lists every route.",
            405: "Use a method this route allows (see GET /openapi.json).",
        }
        return problem(
            exc.status_code,
            f"http_{exc.status_code}",
            str(exc.detail),
            str(exc.detail),
            fixes.get(exc.status_code),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error")
        return internal_error()


class DocumentInvalid(RequestValidationError):
    """A body validated in the route against ``model`` (FastAPI saw a ``dict``): the model is
    kept so each error can say what the field expects."""

    def __init__(self, errors: Any, model: type[BaseModel], body: Any = None) -> None:
        super().__init__(errors, body=body)
        self.model = model


def _route_body_model(request: Request) -> type[BaseModel] | None:
    """The model FastAPI validated the route's body against, if it is one."""
    field = getattr(request.scope.get("route"), "body_field", None)
    annotation = getattr(getattr(field, "field_info", None), "annotation", None)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
