"""Vaccination histories: which doses of the programme each person got, when, and where.

Due dates come from the schedule (the default series' recommended ages and intervals); coverage,
drop-out, delays, and missing records from data/programme.yaml.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from immunis.schedule.model import Duration, Schedule
from immunis.synth import sources
from immunis.synth.areas import Geography
from immunis.synth.people import People

EPOCH = date(1970, 1, 1)


def days(duration: Duration | None) -> int | None:
    """A CDSi duration as whole days, rounded up: a dose dated by it is never early."""
    if duration is None:
        return None
    return math.ceil(
        duration.years * 365.25 + duration.months * 30.4375 + duration.weeks * 7 + duration.days
    )


def day_number(day: date) -> int:
    return (day - EPOCH).days


@dataclass(frozen=True)
class PlannedDose:
    """A course dose with its timing read from the schedule, in days."""

    course: int
    step: int
    cvx: str
    product: str
    site: str
    coverage: float  # of this step given the previous one (drop-out), before province factors
    services: bool
    median_delay: float
    recommended_age: int | None
    interval: int | None  # from the previous dose of the course
    max_age: int | None
    introduced: int | None


def plan_doses(schedule: Schedule) -> list[PlannedDose]:
    """Every dose of the programme, its timing taken from `schedule`'s default series."""
    programme = sources.programme()
    planned = []
    for course_index, course in enumerate(programme.courses):
        previous_coverage = 1.0
        for step, dose in enumerate(course.doses):
            antigen = schedule.antigens[dose.antigen]
            series = next(s for s in antigen.series if s.selection.default_series)
            rules = series.doses[dose.dose - 1]
            age = rules.ages[0] if rules.ages else None
            interval = rules.intervals[0] if rules.intervals and step else None
            if (age is None or age.earliest_recommended_age is None) and interval is None:
                raise ValueError(
                    f"programme.yaml: {course.name} dose {step + 1} ({dose.antigen} dose "
                    f"{dose.dose}) has no recommended age, nor an interval from a previous dose"
                )
            planned.append(
                PlannedDose(
                    course=course_index,
                    step=step,
                    cvx=dose.cvx,
                    product=dose.product,
                    site=course.site,
                    coverage=dose.coverage / previous_coverage,
                    services=course.services,
                    median_delay=dose.delay_days,
                    recommended_age=days(age.earliest_recommended_age) if age else None,
                    interval=days(interval.earliest_recommended_interval or interval.min_interval)
                    if interval
                    else None,
                    max_age=days(age.max_age) if age else None,
                    introduced=day_number(dose.introduced) if dose.introduced else None,
                )
            )
            previous_coverage = dose.coverage
    return planned


@dataclass
class Doses:
    """A block's recorded doses as columns: `person` indexes the block's people."""

    person: np.ndarray
    day: np.ndarray
    planned: np.ndarray  # index into the plan
    site_id: np.ndarray

    def take(self, rows: np.ndarray) -> Doses:
        return Doses(**{name: column[rows] for name, column in vars(self).items()})


def draw_doses(
    rng: np.random.Generator,
    people: People,
    plan: list[PlannedDose],
    geography: Geography,
    as_of_day: int,
) -> Doses:
    """The doses each person got and that reached the registry, sorted by person and date."""
    programme = sources.programme()
    provinces = sources.provinces()
    coverage_factor = np.array([p.coverage for p in provinces])[people.province]
    services_factor = np.array([p.services for p in provinces])[people.province]
    count = len(people)
    back_entered = people.birth_day >= day_number(programme.back_entered_born_from)
    started: dict[int, np.ndarray] = {}  # course -> who got its first dose
    persons, dates, planned_index = [], [], []
    alive = np.zeros(count, dtype=bool)
    previous_day = np.zeros(count, dtype=np.int64)
    for index, dose in enumerate(plan):
        course = programme.courses[dose.course]
        if dose.step == 0:
            alive = np.ones(count, dtype=bool)
            for other, replacing in enumerate(programme.courses[: dose.course]):
                if course.name in replacing.replaces:
                    alive &= ~started[other]
            if course.sex == "female":
                alive &= ~people.male
        factor = (services_factor if dose.step == 0 else 1.0) if dose.services else coverage_factor
        chance = np.clip(dose.coverage * factor, 0.0, 1.0)
        delay = rng.lognormal(math.log(dose.median_delay), programme.delay_sigma, count)
        # Due at the recommended age, but not before the interval from the previous dose;
        # plan_doses made sure that a dose has at least one of them.
        candidates = []
        if dose.recommended_age is not None:
            candidates.append(people.birth_day + dose.recommended_age)
        if dose.interval is not None:
            candidates.append(previous_day + dose.interval)
        due = np.maximum.reduce(candidates)
        day = due + np.floor(delay).astype(np.int64)
        given = alive & (rng.random(count) < chance) & (day <= as_of_day)
        if dose.introduced is not None:
            given &= day >= dose.introduced
        if dose.max_age is not None:
            given &= day < people.birth_day + dose.max_age
        if dose.step == 0:
            started[dose.course] = given
        alive, previous_day = given, day
        missing = np.where(
            day >= day_number(programme.records_from),
            programme.missing,
            np.where(back_entered, programme.missing_before_records, 1.0),
        )
        recorded = given & (rng.random(count) >= missing)
        who = np.flatnonzero(recorded)
        persons.append(who)
        dates.append(day[who])
        planned_index.append(np.full(len(who), index))
    person = np.concatenate(persons)
    day = np.concatenate(dates)
    planned = np.concatenate(planned_index)
    order = np.lexsort((planned, day, person))
    person, day, planned = person[order], day[order], planned[order]
    return Doses(person, day, planned, site_ids(person, planned, plan, people, geography))


def site_ids(
    person: np.ndarray,
    planned: np.ndarray,
    plan: list[PlannedDose],
    people: People,
    geography: Geography,
) -> np.ndarray:
    """Where each dose was given: the birth facility, the commune station or a private centre."""
    commune = people.commune[person]
    kind = np.array([dose.site for dose in plan], dtype=object)[planned]
    return np.select(
        [kind == "birth", kind == "public"],
        [
            geography.district_centre_ids[geography.commune_district[commune]],
            geography.station_ids[commune],
        ],
        geography.private_ids[people.private_centre[person]],
    )
