"""The company's wall clock for timestamps, as Intuit formats them (lifetimes and throttle windows
run on the kit's scaled ``SandboxClock``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


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
