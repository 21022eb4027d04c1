"""The write lease of ``sync/once.py`` against the functions that hold it (template.yaml).

A claim on a write must not lapse while the invocation that holds it can still be running: a
second worker would take it over, look the object up while the first one's create is still in
flight, find nothing and create it again. And the claim of a worker that died must have lapsed
by the time its message comes back, or the redelivery is refused as "in progress" and spends one
of the queue's five receives. The functions that write through the default lease are the invoice
sync (``sync/engine.py``) and the payout deposit (``payouts/deposits.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from booksync.errors import WriteInProgress
from booksync.providers.port import RemoteObject
from booksync.store.intents import IntentRepository
from booksync.sync.once import ExactlyOnce

from tests.conftest import only_table
from tests.unit.test_template import (
    events_of,
    function_setting,
    functions,
    load_template,
    queue_arn_target,
    resources_of,
)

pytestmark = pytest.mark.reliability

WRITERS = ("functions/sync_invoice/", "functions/payout_deposit/")  # their code folders
CLAIMED_AT = 1_000_000.0


@pytest.fixture(scope="module")
def intents(moto_url: str) -> Iterator[None]:
    with only_table("intents_table"):
        yield


def writers() -> list[tuple[str, int, int]]:
    """(function, timeout, its queue's visibility timeout) of each function that writes."""
    template = load_template()
    queues = resources_of(template, "AWS::SQS::Queue")
    found: list[tuple[str, int, int]] = []
    for name, function in functions(template).items():
        if function["Properties"].get("CodeUri") in WRITERS:
            (event,) = events_of(function, "SQS").values()
            visibility = queues[queue_arn_target(event["Queue"])]["Properties"]["VisibilityTimeout"]
            found.append((name, int(function_setting(template, function, "Timeout", 3)), int(visibility)))
    assert len(found) == len(WRITERS), found
    return found


class Worker:
    """One worker writing through the default lease, on a clock the test moves."""

    def __init__(self, name: str, clock: list[float]) -> None:
        self.once = ExactlyOnce(IntentRepository(), owner=name, provider="quickbooks", clock=lambda: clock[0])

    def write(self, key: str, perform: Any) -> RemoteObject:
        return self.once.write(
            key, perform=perform, lookup=lambda: None, fetch=lambda remote_id: RemoteObject(id=remote_id)
        ).remote


@pytest.mark.parametrize(("function", "timeout", "visibility"), writers())
def test_a_write_is_not_taken_over_while_the_invocation_holding_it_can_still_run(
    intents: None, function: str, timeout: int, visibility: int
) -> None:
    key, clock = f"lease-{uuid.uuid4().hex}", [CLAIMED_AT]
    first, second = Worker("first", clock), Worker("second", clock)
    refused: list[WriteInProgress] = []

    def slow_create(request_id: str) -> RemoteObject:
        clock[0] = CLAIMED_AT + timeout  # the call ends as the invocation's time runs out
        with pytest.raises(WriteInProgress) as busy:
            second.write(key, lambda request_id: RemoteObject(id="second"))
        refused.append(busy.value)
        return RemoteObject(id="first")

    assert first.write(key, slow_create).id == "first"
    assert len(refused) == 1, f"{function}: a second worker took over the write of a live invocation"


class Died(BaseException):
    """The worker's process ended mid-call (the invocation's timeout): it does nothing more."""


@pytest.mark.parametrize(("function", "timeout", "visibility"), writers())
def test_the_claim_of_a_worker_that_died_has_lapsed_when_its_message_comes_back(
    intents: None, function: str, timeout: int, visibility: int
) -> None:
    key, clock = f"lease-{uuid.uuid4().hex}", [CLAIMED_AT]
    redelivered: list[RemoteObject] = []

    def dies(request_id: str) -> RemoteObject:
        clock[0] = CLAIMED_AT + visibility  # the message is visible again; its worker is gone
        redelivered.append(Worker("redelivery", clock).write(key, lambda request_id: RemoteObject(id="r1")))
        raise Died

    with pytest.raises(Died):
        Worker("dead", clock).write(key, dies)
    assert [r.id for r in redelivered] == ["r1"], f"{function}: the redelivery waits on a dead worker"
