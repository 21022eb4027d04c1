"""Make moto's DynamoDB writes atomic, as DynamoDB's are (and size items as DynamoDB does).

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
    _size_items_as_dynamodb()


def _size_items_as_dynamodb() -> None:
    """moto checks an item's size as each attribute is set, counting the value being replaced as
    well as its replacement: an update of a 250 KB document to another 250 KB is refused there,
    never in DynamoDB (which sizes the item as it will be). Count the item without the old value."""
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    original = LimitedSizeDict.__setitem__
    if getattr(original, _PATCHED, False):
        return

    def setitem(self: LimitedSizeDict, key: str, value: Any) -> None:
        replaced = dict.pop(self, key, _ABSENT)
        try:
            original(self, key, value)
        except Exception:
            if replaced is not _ABSENT:
                dict.__setitem__(self, key, replaced)
            raise

    setattr(setitem, _PATCHED, True)
    LimitedSizeDict.__setitem__ = setitem  # type: ignore[method-assign]


_ABSENT = object()


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def write(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    setattr(write, _PATCHED, True)
    return write
