"""Two clocks: a scaled one for lifetimes and throttle windows, and the wall clock for timestamps."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


class SandboxClock:
    """Monotonic seconds that run ``scale`` times faster than real time.

    Every lifetime (tokens, codes) and every throttle window is measured on this clock, so a
    bench can compress an hour into seconds while every ratio between them stays the same.
    """

    def __init__(self, scale: float) -> None:
        self._scale = scale
        self._origin = time.monotonic()
        self._offset = 0.0

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        return self._offset + (time.monotonic() - self._origin) * self._scale

    def advance(self, seconds: float) -> float:
        """Move sandbox time forward (never back) and answer the new reading: a test makes a
        lifetime run out without waiting for it, whatever the machine's load."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        return self.now()

    def to_real_seconds(self, sandbox_seconds: float) -> float:
        return sandbox_seconds / self._scale


class CompanyClock:
    """Wall-clock times in the company's time zone, formatted as Intuit formats them."""

    def __init__(self, tz_name: str) -> None:
        self.tz = ZoneInfo(tz_name)

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def today(self) -> date:
        return self.now().date()

    def response_time(self) -> str:
        """The ``time`` attribute of every IntuitResponse, e.g. 2017-11-23T08:05:18.937-08:00."""
        return self.now().isoformat(timespec="milliseconds")

    @staticmethod
    def meta_time(moment: datetime) -> str:
        """MetaData times carry seconds and the offset, e.g. 2015-07-24T10:33:39-07:00."""
        return moment.isoformat(timespec="seconds")

    def parse_moment(self, text: str) -> datetime:
        """A filter value for MetaData times; a naive value is read in the company's zone."""
        value = text.strip().replace("Z", "+00:00")
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=self.tz)


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)
