"""What a schedule is: the CDSi supporting-data model as frozen dataclasses.

Every schedule the engine runs (CDC's US ACIP data, the Vietnam EPI and services schedule, WHO's)
loads into these types; nothing in them knows where the data came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple

_TERM = re.compile(r"([+-]?)\s*(\d+)\s*(year|month|week|day)s?", re.IGNORECASE)


class Duration(NamedTuple):
    """An age or interval as CDSi writes it, e.g. ``6 weeks - 4 days``: signed calendar terms.

    A named tuple rather than a dataclass: the engine uses durations as dictionary keys on its
    hot path, and tuples hash in C.
    """

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``"4 years - 4 days"``; raises ValueError on anything else."""
        cleaned = text.strip()
        terms = _TERM.findall(cleaned)
        if not terms or _TERM.sub("", cleaned).strip():
            raise ValueError(f"not a CDSi duration: {text!r}")
        totals = {"year": 0, "month": 0, "week": 0, "day": 0}
        for sign, amount, unit in terms:
            totals[unit.lower()] += -int(amount) if sign == "-" else int(amount)
        return cls(totals["year"], totals["month"], totals["week"], totals["day"])

    def __str__(self) -> str:
        terms = [
            (amount, unit)
            for amount, unit in (
                (self.years, "year"),
                (self.months, "month"),
                (self.weeks, "week"),
                (self.days, "day"),
            )
            if amount
        ]
        if not terms:
            return "0 days"
        words = []
        for index, (amount, unit) in enumerate(terms):
            word = f"{abs(amount)} {unit}{'' if abs(amount) == 1 else 's'}"
            if index == 0:
                words.append(f"-{word}" if amount < 0 else word)
            else:
                words.append(f"{'-' if amount < 0 else '+'} {word}")
        return " ".join(words)


class SeriesType(StrEnum):
    STANDARD = "Standard"
    RISK = "Risk"
    EVALUATION_ONLY = "Evaluation Only"


@dataclass(frozen=True, slots=True)
class AgeRule:
    """Table 'Age' of a series dose; the dates bound when the rule applies."""

    absolute_min_age: Duration | None = None
    min_age: Duration | None = None
    earliest_recommended_age: Duration | None = None
    latest_recommended_age: Duration | None = None
    max_age: Duration | None = None
    effective_date: date | None = None
    cessation_date: date | None = None


@dataclass(frozen=True, slots=True)
class IntervalRule:
    """Table 'Interval' of a series dose: from the previous dose, a target dose, the most recent
    dose of some vaccine types, or a relevant observation."""

    from_previous: bool = False
    from_target_dose: int | None = None
    from_most_recent_cvx: tuple[str, ...] = ()
    from_relevant_observation: str | None = None
    absolute_min_interval: Duration | None = None
    min_interval: Duration | None = None
    earliest_recommended_interval: Duration | None = None
    latest_recommended_interval: Duration | None = None
    overrides_age: bool = False
    effective_date: date | None = None
    cessation_date: date | None = None


@dataclass(frozen=True, slots=True)
class AllowableInterval:
    from_previous: bool = False
    from_target_dose: int | None = None
    absolute_min_interval: Duration | None = None
    effective_date: date | None = None
    cessation_date: date | None = None


@dataclass(frozen=True, slots=True)
class PreferableVaccine:
    vaccine_type: str
    cvx: str
    begin_age: Duration | None = None
    end_age: Duration | None = None
    trade_name: str | None = None
    mvx: str | None = None
    volume_ml: float | None = None
    forecast_vaccine_type: bool = False


@dataclass(frozen=True, slots=True)
class AllowableVaccine:
    vaccine_type: str
    cvx: str
    begin_age: Duration | None = None
    end_age: Duration | None = None


@dataclass(frozen=True, slots=True)
class InadvertentVaccine:
    vaccine_type: str
    cvx: str


class ConditionType(StrEnum):
    AGE = "Age"
    COMPLETED_SERIES = "Completed Series"
    INTERVAL = "Interval"
    VACCINE_COUNT_BY_AGE = "Vaccine Count by Age"
    VACCINE_COUNT_BY_DATE = "Vaccine Count by Date"
    VACCINE_COUNT_BY_DATE_AND_AGE = "Vaccine Count by Date and Age"


@dataclass(frozen=True, slots=True)
class SkipCondition:
    condition_id: int
    condition_type: ConditionType
    start_date: date | None = None
    end_date: date | None = None
    begin_age: Duration | None = None
    end_age: Duration | None = None
    interval: Duration | None = None
    dose_count: int | None = None
    dose_type: str | None = None  # "Valid" or "Total"
    dose_count_logic: str | None = None  # "greater than", "equal to", "less than"
    vaccine_types: tuple[str, ...] = ()
    series_groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SkipSet:
    set_id: int
    description: str
    condition_logic: str | None  # "AND" / "OR" / None when there is one condition
    conditions: tuple[SkipCondition, ...]
    effective_date: date | None = None
    cessation_date: date | None = None


@dataclass(frozen=True, slots=True)
class ConditionalSkip:
    context: str  # "Evaluation", "Forecast" or "Both"
    set_logic: str | None  # "AND" / "OR" / None
    sets: tuple[SkipSet, ...]


@dataclass(frozen=True, slots=True)
class SeasonalRecommendation:
    start_date: date | None
    end_date: date | None


@dataclass(frozen=True, slots=True)
class SeriesDose:
    dose_number: int
    ages: tuple[AgeRule, ...] = ()
    intervals: tuple[IntervalRule, ...] = ()
    allowable_intervals: tuple[AllowableInterval, ...] = ()
    preferable_vaccines: tuple[PreferableVaccine, ...] = ()
    allowable_vaccines: tuple[AllowableVaccine, ...] = ()
    inadvertent_vaccines: tuple[InadvertentVaccine, ...] = ()
    conditional_skips: tuple[ConditionalSkip, ...] = ()
    recurring: bool = False
    seasonal_recommendation: SeasonalRecommendation | None = None
    sources: tuple[str, ...] = ()  # citations for this dose's rules; CDC's data has none


@dataclass(frozen=True, slots=True)
class Indication:
    observation_code: str
    observation_text: str | None = None
    description: str | None = None
    begin_age: Duration | None = None
    end_age: Duration | None = None
    guidance: str | None = None


@dataclass(frozen=True, slots=True)
class SeriesSelection:
    default_series: bool = False
    product_path: bool = False
    series_group_name: str | None = None
    series_group: str | None = None
    series_priority: str = "A"
    series_preference: int = 1
    min_age_to_start: Duration | None = None
    max_age_to_start: Duration | None = None


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    target_disease: str
    vaccine_group: str
    series_type: SeriesType
    selection: SeriesSelection
    doses: tuple[SeriesDose, ...]
    admin_guidance: tuple[str, ...] = ()
    equivalent_series_groups: str | None = None
    required_gender: tuple[str, ...] = ()
    indications: tuple[Indication, ...] = ()
    sources: tuple[str, ...] = ()  # citations for the series as a whole (project schedules)


@dataclass(frozen=True, slots=True)
class ClinicalHistoryImmunity:
    guideline_code: str
    guideline_title: str


@dataclass(frozen=True, slots=True)
class BirthDateImmunity:
    immunity_birth_date: date
    birth_country: str | None
    exclusions: tuple[tuple[str, str], ...] = ()  # (observation code, title)


@dataclass(frozen=True, slots=True)
class Immunity:
    clinical_history: tuple[ClinicalHistoryImmunity, ...] = ()
    birth_dates: tuple[BirthDateImmunity, ...] = ()


@dataclass(frozen=True, slots=True)
class Contraindication:
    observation_code: str
    observation_title: str
    text: str | None = None
    guidance: str | None = None
    begin_age: Duration | None = None
    end_age: Duration | None = None
    cvx: tuple[str, ...] = ()  # empty: the whole vaccine group is contraindicated


@dataclass(frozen=True, slots=True)
class Antigen:
    """One antigen's supporting data: immunity, contraindications and its series."""

    name: str
    series: tuple[Series, ...]
    immunity: Immunity = field(default_factory=Immunity)
    contraindications: tuple[Contraindication, ...] = ()


@dataclass(frozen=True, slots=True)
class LiveVirusConflict:
    previous_vaccine_type: str
    previous_cvx: str
    current_vaccine_type: str
    current_cvx: str
    conflict_begin_interval: Duration
    min_conflict_end_interval: Duration
    conflict_end_interval: Duration


@dataclass(frozen=True, slots=True)
class VaccineGroup:
    name: str
    antigens: tuple[str, ...]
    administer_full_vaccine_group: bool = False


@dataclass(frozen=True, slots=True)
class AntigenAssociation:
    antigen: str
    begin_age: Duration | None = None
    end_age: Duration | None = None


@dataclass(frozen=True, slots=True)
class Vaccine:
    """A CVX code and the antigens it carries."""

    cvx: str
    short_description: str
    associations: tuple[AntigenAssociation, ...] = ()


@dataclass(frozen=True, slots=True)
class Observation:
    code: str
    title: str
    group: str | None = None
    indication_text: str | None = None
    contraindication_text: str | None = None
    clarifying_text: str | None = None
    coded_values: tuple[tuple[str, str, str], ...] = ()  # (code system, code, text)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A whole schedule: what the engine needs to evaluate and forecast every vaccine group."""

    id: str
    title: str
    version: str
    antigens: dict[str, Antigen]
    vaccine_groups: dict[str, VaccineGroup]
    vaccines: dict[str, Vaccine]
    live_virus_conflicts: tuple[LiveVirusConflict, ...] = ()
    observations: dict[str, Observation] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def vaccine(self, cvx: str) -> Vaccine | None:
        """The vaccine with this CVX code, with or without leading zeros."""
        return self.vaccines.get(normalize_cvx(cvx))


def normalize_cvx(cvx: str) -> str:
    """CVX codes compare as numbers: ``'03'`` and ``'3'`` are the same vaccine."""
    stripped = cvx.strip()
    return str(int(stripped)) if stripped.isdigit() else stripped
