"""Count the AWS requests botocore sends, with a ``before-send`` event hook.

botocore copies a session's event emitter into each client it creates, so the hook goes on the
default boto3 session, on every botocore session created while counting (Powertools builds its
own for SSM) and on the clients of Powertools' process-wide parameter providers. Other clients
made before the ``counting()`` block are not seen: create them inside it (a handler's first,
cold invocation does).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import botocore.session


class AwsCalls:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def hook(self, **kwargs: Any) -> None:
        # event_name is "before-send.<service>.<Operation>", e.g. before-send.sqs.SendMessage.
        self.calls.append(str(kwargs.get("event_name", "before-send.?.?")).removeprefix("before-send."))
        # Returning None lets botocore send the request as usual.

    def reset(self) -> int:
        seen = len(self.calls)
        self.calls.clear()
        return seen


@contextmanager
def counting() -> Iterator[AwsCalls]:
    counter = AwsCalls()
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    default = boto3.DEFAULT_SESSION
    assert default is not None
    default.events.register("before-send", counter.hook)
    original = botocore.session.get_session

    def get_session(env_vars: Any = None) -> botocore.session.Session:
        session = original(env_vars)
        session.register("before-send", counter.hook)
        return session

    botocore.session.get_session = get_session
    # Powertools keeps its parameter providers (and their clients) for the process.
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    existing = [p.client.meta.events for p in DEFAULT_PROVIDERS.values() if hasattr(p, "client")]
    for events in existing:
        events.register("before-send", counter.hook)
    try:
        yield counter
    finally:
        botocore.session.get_session = original
        default.events.unregister("before-send", counter.hook)
        for events in existing:
            events.unregister("before-send", counter.hook)
