"""The CDSi calendar rules: adding ages and intervals to dates.

Years and months move the calendar fields; a date that does not exist (Feb 30) rolls forward to
the first day of the next month; weeks and days are then added as whole days.
"""

from __future__ import annotations

from datetime import date, timedelta

from immunis.schedule.model import Duration

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
ONE_DAY = timedelta(days=1)


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def add(start: date, duration: Duration) -> date:
    """`start` plus a CDSi duration such as ``4 years - 4 days``."""
    result = start
    if duration.years or duration.months:
        month_index = start.year * 12 + (start.month - 1) + duration.years * 12 + duration.months
        year, month = divmod(month_index, 12)
        month += 1
        if start.day > _days_in_month(year, month):
            # CDSi: an impossible date becomes the first of the following month.
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            result = date(year, month, 1)
        else:
            result = date(year, month, start.day)
    extra_days = duration.weeks * 7 + duration.days
    return result + timedelta(days=extra_days) if extra_days else result


def add_or_none(start: date | None, duration: Duration | None) -> date | None:
    """`add` when both are known; None when either is missing."""
    if start is None or duration is None:
        return None
    return add(start, duration)


def latest(*dates: date | None) -> date | None:
    """The latest of the known dates, or None when none is known."""
    known = [d for d in dates if d is not None]
    return max(known) if known else None
