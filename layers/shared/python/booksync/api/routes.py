"""The route class every router of the API uses.

A route whose handler is annotated as returning a plain ``dict``/``list`` of JSON gets no response
model: FastAPI would build a validator for it at cold start that checks nothing (``dict[str, Any]``
accepts anything) while adding to every Lambda's init time.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute

_PLAIN_JSON = (dict, list)


def _returns_plain_json(endpoint: Callable[..., Any]) -> bool:
    try:
        annotation = typing.get_type_hints(endpoint).get("return", inspect.Signature.empty)
    except Exception:  # an annotation that cannot be resolved: leave FastAPI's default alone
        return False
    return typing.get_origin(annotation) in _PLAIN_JSON or annotation in _PLAIN_JSON


class LeanRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if isinstance(kwargs.get("response_model"), DefaultPlaceholder) and _returns_plain_json(endpoint):
            kwargs["response_model"] = None
        super().__init__(path, endpoint, **kwargs)
