"""Intuit's Fault envelope and the errors the sandbox raises, with Intuit's codes and wording.

Texts come from Intuit's error pages and from answers quoted in public SDK issues (providers.md
1.5); where Intuit's exact wording is unknown the README says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INACTIVE_DETAIL = (
    "Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)
BUSINESS_MESSAGE = "A business validation error has occurred while processing your request"


@dataclass
class QBOFault(Exception):
    """One Intuit error; raising it anywhere in request handling answers with its envelope."""

    code: str
    message: str
    detail: str
    element: str = ""
    status: int = 400
    fault_type: str = "ValidationFault"

    def __str__(self) -> str:
        return f"{self.code} {self.message}: {self.detail}"

    def error(self) -> dict[str, Any]:
        return {"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}

    def fault(self) -> dict[str, Any]:
        return {"Error": [self.error()], "type": self.fault_type}


def required_missing(element: str) -> QBOFault:
    return QBOFault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def unsupported_property(name: str) -> QBOFault:
    return QBOFault(
        "2010",
        "Request has invalid or unsupported property",
        f"Property Name:{name} specified is unsupported or invalid",
        name,
    )


def unreadable_body() -> QBOFault:
    return QBOFault(
        "2010",
        "Request has invalid or unsupported property",
        "Property Name:the request body is not valid JSON specified is unsupported or invalid",
    )


def invalid_string(element: str) -> QBOFault:
    return QBOFault(
        "2040",
        "Invalid String",
        f"The String may contain unsupported or illegal chars. Element: {element}",
        element,
    )


def string_length(element: str, maximum: int, supplied: int) -> QBOFault:
    return QBOFault(
        "2050",
        "String length is either shorter or longer than supported by specification",
        "String length specified does not match the supported length. "
        f"Min:0 Max:{maximum} supported. Supplied length:{supplied}",
        element,
    )


def invalid_reference(element: str, *, inactive: bool = False) -> QBOFault:
    detail = INACTIVE_DETAIL if inactive else element
    return QBOFault("2500", "Invalid Reference Id", f"Invalid Reference Id : {detail}", element)


def category_in_transaction(element: str) -> QBOFault:
    return QBOFault(
        "2500",
        "Invalid Reference Id",
        "Invalid Reference Id : Categories cannot be used in transactions.",
        element,
    )


def not_found() -> QBOFault:
    return QBOFault("610", "Object Not Found", f"Object Not Found : {INACTIVE_DETAIL}")


def stale_object() -> QBOFault:
    return QBOFault(
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and another user were working on this at the same time. "
        "The other user finished before you did, so your work was not saved.",
    )


def duplicate_name(owner: str) -> QBOFault:
    return QBOFault(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {owner} is already using this name. "
        "Please use a different name.",
    )


def business(detail: str, code: str = "6000", element: str = "") -> QBOFault:
    return QBOFault(code, BUSINESS_MESSAGE, f"Business Validation Error: {detail}", element)


def amount_mismatch(supplied: object) -> QBOFault:
    return business(
        f"Amount is not equal to UnitPrice * Qty. Supplied value:{supplied}", "6070", "Line.Amount"
    )


def deposited_transaction() -> QBOFault:
    return QBOFault(
        "6540",
        "Deposited Transaction cannot be changed",
        "This transaction has been deposited. If you want to change or delete it, you must edit "
        "the deposit it appears on and remove it first.",
    )


def unsupported_operation(operation: str) -> QBOFault:
    return QBOFault("500", "Unsupported Operation", f"Operation {operation} is not supported.")


def query_parse(detail: str) -> QBOFault:
    return QBOFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def query_invalid(detail: str) -> QBOFault:
    return QBOFault("4001", "Invalid query", f"QueryValidationError: {detail}")


def batch_too_large(count: int, maximum: int) -> QBOFault:
    return QBOFault(
        "1040",
        "Batch size exceeds allowed limit",
        f"Number of batch items {count} exceeds the allowed limit of {maximum}",
    )


def authentication_failed(detail: str) -> QBOFault:
    return QBOFault(
        "3200",
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        detail,
        status=401,
        fault_type="AUTHENTICATION",
    )


def authorization_failed() -> QBOFault:
    return QBOFault(
        "3100",
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        "",
        status=403,
        fault_type="AUTHENTICATION",
    )


def throttled() -> QBOFault:
    return QBOFault(
        "3001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached.  Try again later",
        status=429,
        fault_type="SERVICE",
    )


def system_failure() -> QBOFault:
    return QBOFault(
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your data. "
        "Please wait a few minutes and try again. If the problem persists, contact customer support.",
        status=500,
        fault_type="SystemFault",
    )
