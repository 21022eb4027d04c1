"""Schedule expressions, the scheduled event, and schedules firing on a scaled clock."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from local.runtime.functions import FunctionPool
from local.runtime.model import ScheduleSpec
from local.runtime.schedules import Scheduler, parse_expression, scheduled_event
from local.stack import LocalStack
from tests.runtime.conftest import fixture_options

NOW = datetime(2026, 1, 3, 10, 7, 30, tzinfo=UTC)  # a Saturday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 minute)", NOW + timedelta(minutes=1)),
        ("rate(5 minutes)", NOW + timedelta(minutes=5)),
        ("rate(2 hours)", NOW + timedelta(hours=2)),
        ("rate(1 day)", NOW + timedelta(days=1)),
        ("cron(0/15 * * * ? *)", datetime(2026, 1, 3, 10, 15, tzinfo=UTC)),
        ("cron(0 3 * * ? *)", datetime(2026, 1, 4, 3, 0, tzinfo=UTC)),
        ("cron(0 9 ? * MON-FRI *)", datetime(2026, 1, 5, 9, 0, tzinfo=UTC)),
        ("cron(0 9 ? * 1 *)", datetime(2026, 1, 4, 9, 0, tzinfo=UTC)),  # 1 is Sunday
        ("cron(30 12 1 JAN,JUL ? 2027)", datetime(2027, 1, 1, 12, 30, tzinfo=UTC)),
        ("cron(7 10 3 1 ? 2026)", None),  # this very minute has begun: next is never
        ("at(2030-01-01T00:00:00)", datetime(2030, 1, 1, tzinfo=UTC)),
        ("at(2020-01-01T00:00:00)", None),
    ],
)
def test_next_fire_time(expression: str, expected: datetime | None) -> None:
    assert parse_expression(expression).next_after(NOW) == expected


def test_cron_in_a_time_zone() -> None:
    # 09:00 in New York in July is 13:00 UTC (EDT).
    expression = parse_expression("cron(0 9 * * ? *)", "America/New_York")
    assert expression.next_after(datetime(2026, 7, 1, tzinfo=UTC)) == datetime(2026, 7, 1, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "rate(5 fortnights)",
        "cron(0 3 * * * *)",  # day-of-month and day-of-week both set
        "cron(0 3 ? * ? *)",  # neither set
        "cron(0 3 L * ? *)",
        "cron(0 3 ? * 2#1 *)",
        "cron(0 3 * *)",
        "cron(61 3 * * ? *)",
        "every 5 minutes",
    ],
)
def test_invalid_expressions(expression: str) -> None:
    # Any message: the type is the contract (and PT011 is off for tests).
    with pytest.raises(ValueError):
        parse_expression(expression)


def _spec(kind: str, payload: str | None) -> ScheduleSpec:
    arn = "arn:aws:events:us-east-1:123456789012:rule/r" if kind == "Schedule" else "arn:aws:scheduler:s"
    return ScheduleSpec("Fn", "Ev", kind, "rate(1 minute)", payload, True, "r", arn, None)


def test_input_is_delivered_as_the_event() -> None:
    assert scheduled_event(_spec("Schedule", '{"task": "sweep"}'), NOW, "123456789012", "us-east-1") == {
        "task": "sweep"
    }


def test_scheduled_event_shape() -> None:
    event = scheduled_event(_spec("Schedule", None), NOW, "123456789012", "us-east-1")
    assert event == {
        "version": "0",
        "id": event["id"],
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-01-03T10:07:30Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/r"],
        "detail": {},
    }
    assert scheduled_event(_spec("ScheduleV2", None), NOW, "1", "r")["source"] == "aws.scheduler"


TICKS = 4


class SubmitTimes:
    """A function pool that only notes when each invocation was submitted (monotonic seconds)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.calls: list[tuple[str, str]] = []
        self.enough = threading.Event()

    def submit(self, logical_id: str, event: Any, trigger: str) -> None:
        self.times.append(time.monotonic())
        self.calls.append((logical_id, trigger))
        if len(self.times) >= TICKS:
            self.enough.set()


def test_a_rate_never_fires_before_its_time() -> None:
    """rate(1 minute) at scale 0.002 is a tick every 0.12 s, anchored at the start: tick k comes at
    (k+1) intervals at the earliest (Event.wait never returns early; a busy machine only makes a
    tick late, so there is no upper bound here: how late is a bench question)."""
    scale = 0.002
    interval = 60 * scale
    pool = SubmitTimes()
    spec = ScheduleSpec("Fn", "Tick", "Schedule", "rate(1 minute)", None, True, "r", "arn:r", None)
    scheduler = Scheduler([spec], cast(FunctionPool, pool), "123456789012", "us-east-1", scale)
    started = time.monotonic()
    scheduler.start()
    try:
        assert pool.enough.wait(60), f"{len(pool.times)} ticks in 60 s"  # a hang guard only
    finally:
        scheduler.stop()
    for k, fired in enumerate(pool.times[:TICKS]):
        assert fired - started >= (k + 1) * interval, f"tick {k} at {fired - started:.3f} s"
    assert pool.calls[:TICKS] == [("Fn", "schedule Tick")] * TICKS


@pytest.mark.xdist_group("stack")
def test_schedules_fire_on_their_rate(tmp_path: Path) -> None:
    # At scale 0.01, TickFunction's rate(1 minute) fires every 0.6 s (its timing: the test above).
    with LocalStack(fixture_options(tmp_path, schedule_scale=0.01)) as stack:
        deadline = time.monotonic() + 60  # a hang guard only: two ticks come after about 1.2 s
        while time.monotonic() < deadline:
            ticks = [i for i in stack.invocations("TickFunction") if i.trigger == "schedule Tick"]
            if len(ticks) >= 2:
                break
            time.sleep(0.1)
        assert len(ticks) >= 2
        assert all(tick.payload == {"ticked": True} for tick in ticks)
