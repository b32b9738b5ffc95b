"""May this vaccine be booked for this person on this day? Read off their forecast (pure).

A vaccine protects against the vaccine groups its antigens belong to. It may be booked when the
forecast says a dose of one of those groups is due on the day. A vaccine the schedule does not
recommend for the person (a services vaccine such as rabies before exposure, or one the schedule
does not know) may be chosen freely, if the site offers it. Otherwise the refusal says why: not
due yet (and from when), too late, complete, immune, aged out or contraindicated.
"""

from __future__ import annotations

from datetime import date

from immunis.forecast import Forecast, SeriesStatus, VaccineGroupForecast
from immunis.schedule.model import Schedule

_NOT_DUE_ANY_MORE = {
    SeriesStatus.COMPLETE: "the {group} series is complete",
    SeriesStatus.IMMUNE: "the person is immune to {group}",
    SeriesStatus.AGED_OUT: "the person is too old for the {group} series",
}


def vaccine_groups(schedule: Schedule, cvx: str) -> list[str]:
    """The vaccine groups a vaccine gives doses of under this schedule (none when it is unknown)."""
    vaccine = schedule.vaccine(cvx)
    if vaccine is None:
        return []
    antigens = {association.antigen for association in vaccine.associations}
    return [
        name for name, group in schedule.vaccine_groups.items() if antigens & set(group.antigens)
    ]


def _due_on(result: VaccineGroupForecast, day: date) -> bool:
    dose = result.next_dose
    if result.status is not SeriesStatus.NOT_COMPLETE:
        return False
    return dose is None or (dose.earliest <= day and (dose.latest is None or day <= dose.latest))


def refusal(cvx: str, day: date, answer: Forecast, schedule: Schedule) -> str | None:
    """Why a dose of `cvx` cannot be booked on `day` according to the forecast made for that day,
    or None when it can."""
    results = [
        answer.vaccine_groups[name]
        for name in vaccine_groups(schedule, cvx)
        if name in answer.vaccine_groups
    ]
    vaccine = schedule.vaccine(cvx)
    name = f"CVX {cvx} ({vaccine.short_description})" if vaccine else f"CVX {cvx}"
    for result in results:
        if result.status is SeriesStatus.CONTRAINDICATED:
            return f"{name}: contraindicated for {result.vaccine_group} ({result.reason})"
    if not results or any(_due_on(result, day) for result in results):
        return None
    upcoming = [
        result.next_dose.earliest
        for result in results
        if result.status is SeriesStatus.NOT_COMPLETE
        and result.next_dose is not None
        and result.next_dose.earliest > day
    ]
    if upcoming:
        return f"{name}: not due yet on {day}; the earliest date is {min(upcoming)}"
    for result in results:
        dose = result.next_dose
        if result.status is SeriesStatus.NOT_COMPLETE and dose is not None and dose.latest:
            return f"{name}: too late on {day}; the last date to give it was {dose.latest}"
    if any(result.status is SeriesStatus.NOT_RECOMMENDED for result in results):
        return None
    first = results[0]
    return f"{name}: " + _NOT_DUE_ANY_MORE[first.status].format(group=first.vaccine_group)
