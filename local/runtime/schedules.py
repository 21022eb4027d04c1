"""EventBridge schedules: ``rate(...)``, ``cron(...)`` and (Scheduler) ``at(...)`` expressions, fired
on time and on demand.

Time can be scaled: with ``BOOKSYNC_SCHEDULE_SCALE=0.01`` a ``rate(5 minutes)`` fires every 3 s and a
cron expression runs on a clock 100 times faster; ``0`` fires only on demand. An automatic fire is
asynchronous, as EventBridge invokes Lambda asynchronously: a slow run does not delay the next one.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from local.runtime.functions import FunctionPool, InvocationResult
from local.runtime.model import ScheduleSpec
from local.runtime.template import TemplateError


class Expression(Protocol):
    def next_after(self, moment: datetime) -> datetime | None: ...


_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_CRON = re.compile(r"cron\((.*)\)")
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Rate:
    period: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return moment + self.period


@dataclass(frozen=True)
class At:
    moment: datetime

    def next_after(self, moment: datetime) -> datetime | None:
        return self.moment if self.moment > moment else None


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_NAMES = {name: number for number, name in enumerate(_MONTHS, start=1)}
_DAY_NAMES = {
    name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)
}
# Field bounds of EventBridge cron: minutes, hours, day-of-month, month, day-of-week (1=SUN), year.
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199))
_SEARCH_DAYS = 366 * 5


def _field(text: str, index: int) -> frozenset[int] | None:
    """The values one cron field allows; None for ``?``."""
    if text == "?":
        if index not in (2, 4):
            raise ValueError("? is only allowed in day-of-month or day-of-week")
        return None
    low, high = _BOUNDS[index]
    names = _MONTH_NAMES if index == 3 else _DAY_NAMES if index == 4 else {}
    values: set[int] = set()
    for part in text.upper().split(","):
        if any(mark in part for mark in ("L", "W", "#")) and part not in names:
            raise ValueError(f"{part}: L, W and # are not supported locally")
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(base, names)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high):
            raise ValueError(f"{part}: out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _set(values: frozenset[int] | None) -> frozenset[int]:
    if values is None:
        raise ValueError("? is only allowed in day-of-month or day-of-week")
    return values


def _value(text: str, names: dict[str, int]) -> int:
    return names[text] if text in names else int(text)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None
    months: frozenset[int]
    weekdays: frozenset[int] | None
    years: frozenset[int]
    zone: ZoneInfo | None = None

    @classmethod
    def parse(cls, fields_text: str, zone: ZoneInfo | None = None) -> Cron:
        fields = fields_text.split()
        if len(fields) != 6:
            raise ValueError("cron needs 6 fields: minutes hours day-of-month month day-of-week year")
        parsed = [_field(text, index) for index, text in enumerate(fields)]
        if (parsed[2] is None) == (parsed[4] is None):
            raise ValueError("exactly one of day-of-month and day-of-week must be ?")
        minutes, hours, days, months, weekdays, years = parsed
        # Only day-of-month and day-of-week may be ? (None); _field refuses it elsewhere.
        return cls(_set(minutes), _set(hours), days, _set(months), weekdays, _set(years), zone)

    def _day_matches(self, day: datetime) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.days is not None:
            return day.day in self.days
        assert self.weekdays is not None
        return (day.weekday() + 1) % 7 + 1 in self.weekdays

    def next_after(self, moment: datetime) -> datetime | None:
        local = moment.astimezone(self.zone or UTC).replace(second=0, microsecond=0)
        start = local + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate.astimezone(UTC)
            day = (day + timedelta(days=1)).replace(hour=0, minute=0)
        return None


def parse_expression(expression: str, timezone: str | None = None) -> Expression:
    """rate(5 minutes), cron(0/5 * * * ? *), at(2030-01-01T00:00:00); ValueError otherwise."""
    text = expression.strip()
    zone = ZoneInfo(timezone) if timezone else None
    if match := _RATE.fullmatch(text):
        count, unit = int(match.group(1)), match.group(2).rstrip("s")
        if count < 1:
            raise ValueError("a rate must be at least 1")
        return Rate(timedelta(seconds=count * _UNIT_SECONDS[unit]))
    if match := _CRON.fullmatch(text):
        return Cron.parse(match.group(1), zone)
    if match := _AT.fullmatch(text):
        return At(datetime.fromisoformat(match.group(1)).replace(tzinfo=zone or UTC))
    raise ValueError(f"{expression!r} is not a rate(), cron() or at() expression")


def scheduled_event(spec: ScheduleSpec, now: datetime, account_id: str, region: str) -> Any:
    """What EventBridge sends: the event's Input when declared, else the scheduled event."""
    if spec.input is not None:
        return json.loads(spec.input)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events" if spec.kind == "Schedule" else "aws.scheduler",
        "account": account_id,
        "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [spec.arn],
        "detail": {},
    }


class Scheduler:
    """Fires every enabled schedule on its (scaled) clock; any schedule on demand."""

    def __init__(
        self,
        schedules: Sequence[ScheduleSpec],
        pool: FunctionPool,
        account_id: str,
        region: str,
        scale: float,
        log: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.schedules = {(s.function, s.event): s for s in schedules}
        self._expressions = {key: _parse(spec) for key, spec in self.schedules.items()}
        self._pool = pool
        self._account_id = account_id
        self._region = region
        self._scale = scale
        self._log = log
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self._scale <= 0:
            return
        for key, spec in self.schedules.items():
            if spec.enabled:
                thread = threading.Thread(
                    target=self._run, args=(key,), name=f"schedule-{spec.function}-{spec.event}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def fire(self, function: str, event: str) -> InvocationResult:
        """Invoke now and wait for the result (the control API's on-demand fire)."""
        spec = self.schedules.get((function, event))
        if spec is None:
            raise KeyError(f"{function}/{event}")
        payload = scheduled_event(spec, datetime.now(UTC), self._account_id, self._region)
        return self._pool[function].invoke(payload, f"schedule {event} (on demand)")

    def _run(self, key: tuple[str, str]) -> None:
        spec, expression = self.schedules[key], self._expressions[key]
        real_start, virtual_start = time.monotonic(), datetime.now(UTC)

        def virtual_now() -> datetime:
            return virtual_start + timedelta(seconds=(time.monotonic() - real_start) / self._scale)

        upcoming = expression.next_after(virtual_start)
        while upcoming is not None:
            wait = (upcoming - virtual_now()).total_seconds() * self._scale
            if self._stopping.wait(max(wait, 0)):
                return
            payload = scheduled_event(spec, datetime.now(UTC), self._account_id, self._region)
            self._pool.submit(spec.function, payload, f"schedule {spec.event}")
            self._log(f"fired {spec.function}/{spec.event} ({spec.expression})")
            upcoming = expression.next_after(upcoming)


def _parse(spec: ScheduleSpec) -> Expression:
    """The schedule's expression, checked at start-up with its Input (EventBridge needs JSON there)."""
    where = f"Resources.{spec.function}.Events.{spec.event}.Properties"
    try:
        if spec.input is not None:
            json.loads(spec.input)
        return parse_expression(spec.expression, spec.timezone)
    except json.JSONDecodeError as error:
        raise TemplateError(f"{where}.Input: not JSON: {error}") from error
    except (ValueError, KeyError) as error:
        raise TemplateError(f"{where}: {spec.expression}: {error}") from error
