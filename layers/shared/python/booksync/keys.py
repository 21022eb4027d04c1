"""Bounds on outside values that become DynamoDB keys.

DynamoDB refuses a partition key over 2,048 bytes and a sort key over 1,024 bytes (moto does not,
on reads), and booksync prefixes many keys (``invoice#…``, ``quickbooks#…``). So every value that
reaches a key from outside (a path or query parameter, an OAuth callback, a webhook's ids) is
bounded where it enters, with a problem that names it, before any read: ``KEY_MAX_CHARS``
characters of up to 4 UTF-8 bytes each leave room for any prefix under the smaller limit.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

KEY_MAX_CHARS = 200
# An id from outside that becomes (part of) a key: a provider's ids, a run id, a realm, a state.
OutsideKey = Annotated[str, StringConstraints(min_length=1, max_length=KEY_MAX_CHARS)]


def fits_key(value: str) -> bool:
    """Whether an outside value is short enough to be part of a key."""
    return 0 < len(value) <= KEY_MAX_CHARS
