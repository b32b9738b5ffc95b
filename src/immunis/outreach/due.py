"""Which doses are due soon and which are late, from a forecast or from the batch job's result
rows (pure: dates in, dates out, no clock)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from immunis.forecast import Forecast, SeriesStatus


class ReminderKind(StrEnum):
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class DueDose:
    """A vaccine group's next dose that a reminder is about."""

    vaccine_group: str
    dose_number: int | None
    recommended: date
    past_due: date | None
    kind: ReminderKind
    series_name: str | None = None  # the engine's selected series, when the forecast says

    @property
    def due_date(self) -> date:
        """The date the reminder is about: when the dose is recommended, or when it became late."""
        if self.kind is ReminderKind.OVERDUE and self.past_due is not None:
            return self.past_due
        return self.recommended


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One vaccine group of the batch job's results, as outreach reads them."""

    person_id: str
    vaccine_group: str
    status: str
    dose_number: int | None
    recommended: date | None
    past_due: date | None


# Five years back: the programme's childhood catch-up fits in it; a lifetime does not.
LOOKBACK_DAYS = 5 * 365


@dataclass(frozen=True, slots=True)
class DueWindow:
    """The days a list looks at: `window_days` ahead of `on` for doses coming due, and
    `lookback_days` back for doses already due (older gaps are for a clinical review of the
    record, not a reminder: an adult's missed infant dose of thirty years ago is not news)."""

    on: date
    window_days: int = 30
    lookback_days: int = LOOKBACK_DAYS


def classify(recommended: date, past_due: date | None, window: DueWindow) -> ReminderKind | None:
    """Overdue once the day is after the past-due date (CDSi: the last day the dose is on
    time); due soon when the recommended date is no later than `window_days` ahead (a dose
    already due but not yet late counts as due soon); nothing when the date the reminder would
    be about is more than `lookback_days` back, or the dose is not due yet."""
    oldest = window.on - timedelta(days=window.lookback_days)
    if past_due is not None and window.on > past_due:
        return ReminderKind.OVERDUE if past_due >= oldest else None
    if oldest <= recommended <= window.on + timedelta(days=window.window_days):
        return ReminderKind.DUE_SOON
    return None


def due_doses(answer: Forecast, window: DueWindow) -> list[DueDose]:
    """The person's vaccine groups with a next dose due soon or late in the window."""
    found = []
    for group in answer.vaccine_groups.values():
        due = group.next_dose
        if group.status is not SeriesStatus.NOT_COMPLETE or due is None:
            continue
        kind = classify(due.recommended, due.past_due, window)
        if kind is None:
            continue
        series = next((a.series_name for a in group.antigens if a.series_name), None)
        found.append(
            DueDose(
                group.vaccine_group,
                due.target_dose_number or due.dose_number,
                due.recommended,
                due.past_due,
                kind,
                series,
            )
        )
    return found


def due_doses_from_rows(rows: Iterable[ResultRow], window: DueWindow) -> list[DueDose]:
    """The same from the batch job's result rows (which do not name the selected series)."""
    found = []
    for row in rows:
        if row.status != SeriesStatus.NOT_COMPLETE.value or row.recommended is None:
            continue
        kind = classify(row.recommended, row.past_due, window)
        if kind is not None:
            found.append(
                DueDose(row.vaccine_group, row.dose_number, row.recommended, row.past_due, kind)
            )
    return found
