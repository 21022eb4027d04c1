"""Make moto's DynamoDB writes atomic, as DynamoDB's are.

moto evaluates a write's ConditionExpression and applies the write without a lock, so two
concurrent conditional updates (two workers taking the same refresh lease, say) can both pass
their condition. Real DynamoDB makes each conditional write atomic; booksync's locks and intents
rely on that. The local stack and the tests therefore serialise moto's item writes in-process.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_PATCHED = "_booksync_atomic"


def serialise_dynamodb_writes() -> None:
    """Idempotent: patches moto's DynamoDB backend once per process."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name, None)
        if original is None or getattr(original, _PATCHED, False):
            continue
        setattr(DynamoDBBackend, name, _locked(original))


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def write(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    setattr(write, _PATCHED, True)
    return write
