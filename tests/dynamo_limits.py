"""DynamoDB's key size limits, which moto does not enforce on reads.

Real DynamoDB answers ValidationException to a read or write whose partition key is over 2,048
bytes or whose sort key is over 1,024 bytes (also in a query's key condition). ``enforce(monkeypatch)``
makes every pynamodb request check the same, so a test sees what AWS would answer.
"""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.connection.base import Connection

PARTITION_KEY_MAX_BYTES = 2048
SORT_KEY_MAX_BYTES = 1024


class KeyTooLong(AssertionError):
    """What real DynamoDB would refuse with a ValidationException."""


def _size(value: dict[str, Any]) -> int:
    (kind, raw), *_ = value.items()
    return len(raw.encode()) if kind == "S" else len(str(raw))


def check(operation: str, kwargs: dict[str, Any]) -> None:
    keys = list((kwargs.get("Key") or {}).values())
    if keys and _size(keys[0]) > PARTITION_KEY_MAX_BYTES:
        raise KeyTooLong(f"{operation}: partition key of {_size(keys[0])} bytes")
    if len(keys) > 1 and _size(keys[1]) > SORT_KEY_MAX_BYTES:
        raise KeyTooLong(f"{operation}: sort key of {_size(keys[1])} bytes")
    if operation == "Query":
        for value in (kwargs.get("ExpressionAttributeValues") or {}).values():
            if _size(value) > PARTITION_KEY_MAX_BYTES:
                raise KeyTooLong(f"Query: key condition value of {_size(value)} bytes")


def enforce(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the test ends, every pynamodb request is checked as DynamoDB checks it."""
    original = Connection._make_api_call

    def call(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        check(operation_name, operation_kwargs)
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", call)
