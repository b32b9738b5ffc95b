"""The sites' wall-clock time. Session days and times are written as the site sees them, in the
server's local time zone (the registry's dates are the server's too)."""

from __future__ import annotations

from datetime import date, datetime, time


def wall_clock(day: date, moment: time) -> datetime:
    """A time of day at the sites on `day`, as an aware datetime."""
    return datetime.combine(day, moment).astimezone()


def local_day(now: datetime) -> date:
    """The sites' date at the aware moment `now`."""
    return now.astimezone().date()
