"""What the engine answers: every dose evaluated, every vaccine group forecast, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from immunis.forecast.records import AdministeredDose


class EvaluationStatus(StrEnum):
    VALID = "Valid"
    NOT_VALID = "Not Valid"
    EXTRANEOUS = "Extraneous"
    SUB_STANDARD = "Sub-standard"


class EvaluationReason(StrEnum):
    TOO_YOUNG = "Age: Too Young"
    TOO_OLD = "Age: Too Old"
    GRACE_PERIOD_AGE = "Age: Grace Period"
    TOO_SOON = "Interval: Too Soon"
    GRACE_PERIOD_INTERVAL = "Interval: Grace Period"
    LIVE_VIRUS_CONFLICT = "Live Virus Conflict"
    INADVERTENT = "Inadvertent Vaccine"
    NOT_PREFERABLE_OR_ALLOWABLE = "Not a preferable or allowable vaccine"
    SERIES_COMPLETE = "Series Already Complete"
    DOSE_CONDITION = "Dose Condition"
    NOT_FOR_ANTIGEN = "Vaccine does not carry this antigen at this age"


class SeriesStatus(StrEnum):
    NOT_COMPLETE = "Not complete"
    COMPLETE = "Complete"
    AGED_OUT = "Aged out"
    IMMUNE = "Immune"
    CONTRAINDICATED = "Contraindicated"
    NOT_RECOMMENDED = "Not recommended"


@dataclass(frozen=True, slots=True)
class DoseEvaluation:
    """One dose's evaluation for one antigen in the selected series."""

    dose_index: int  # position in the history sorted by date
    date_administered: date
    cvx: str
    antigen: str
    status: EvaluationStatus
    reasons: tuple[str, ...] = ()
    target_dose_number: int | None = None
    dose_id: str | None = None  # the AdministeredDose's id, when the caller gave one


@dataclass(frozen=True, slots=True)
class NextDose:
    """The forecast of one series' next target dose."""

    dose_number: int
    earliest: date
    recommended: date
    past_due: date | None
    latest: date | None
    reason: str
    recommended_vaccines: tuple[str, ...] = ()
    target_dose_number: int | None = None  # the series' target dose this forecast is for


@dataclass(frozen=True, slots=True)
class AntigenResult:
    antigen: str
    series_name: str | None
    status: SeriesStatus
    next_dose: NextDose | None
    evaluations: tuple[DoseEvaluation, ...]
    reason: str = ""
    interval_priority: bool = (
        False  # FORECASTPRIORITY-1: every interval of the next dose overrides age
    )


@dataclass(frozen=True, slots=True)
class GroupDoseEvaluation:
    """A dose's evaluation for a vaccine group: not valid if not valid for any antigen it gives."""

    dose_index: int  # position in the history sorted by date
    date_administered: date
    cvx: str
    status: EvaluationStatus
    reasons: tuple[str, ...]
    antigens: tuple[DoseEvaluation, ...]
    dose_id: str | None = None  # the AdministeredDose's id, when the caller gave one


@dataclass(frozen=True, slots=True)
class VaccineGroupForecast:
    vaccine_group: str
    status: SeriesStatus
    next_dose: NextDose | None
    doses: tuple[GroupDoseEvaluation, ...]
    antigens: tuple[AntigenResult, ...]
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Forecast:
    """The whole answer for one patient on one assessment date under one schedule."""

    schedule_id: str
    assessment_date: date
    vaccine_groups: dict[str, VaccineGroupForecast]
    unknown_vaccines: tuple[str, ...] = ()  # CVX codes the schedule does not know: not evaluated
    doses_after_assessment: tuple[AdministeredDose, ...] = ()  # not yet given on that date
