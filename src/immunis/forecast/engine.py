"""The engine's entry point: `forecast(patient, doses, assessment_date, schedule)`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from immunis.forecast.context import PatientContext, conflicts_by_pair
from immunis.forecast.contraindications import antigen_contraindicated, contraindicated_vaccines
from immunis.forecast.evaluate import evaluate_series
from immunis.forecast.next_dose import NOTHING_BLOCKED, Blocked, SeriesForecast, forecast_series
from immunis.forecast.organize import organize
from immunis.forecast.records import AdministeredDose, Patient
from immunis.forecast.results import (
    AntigenResult,
    DoseEvaluation,
    Forecast,
    SeriesStatus,
)
from immunis.forecast.select_series import best_series, relevant_series
from immunis.forecast.vaccine_group import combine
from immunis.schedule.model import Antigen, Schedule


class ForecastInputError(ValueError):
    """The patient or the history cannot be evaluated as given."""


def _immune(antigen: Antigen, context: PatientContext) -> str | None:
    """Evidence of immunity: a clinical-history observation, or birth before the immunity date."""
    for history in antigen.immunity.clinical_history:
        if context.has_observation(history.guideline_code):
            return history.guideline_title
    for birth in antigen.immunity.birth_dates:
        if context.birth_date < birth.immunity_birth_date and not any(
            context.has_observation(code) for code, _ in birth.exclusions
        ):
            return f"born before {birth.immunity_birth_date.isoformat()}"
    return None


# When an antigen has best series in several series groups, the one asking for a dose speaks first
# (the earliest), then a complete one, then the rest.
_BLEND_ORDER = (
    SeriesStatus.NOT_COMPLETE,
    SeriesStatus.COMPLETE,
    SeriesStatus.IMMUNE,
    SeriesStatus.AGED_OUT,
    SeriesStatus.NOT_RECOMMENDED,
    SeriesStatus.CONTRAINDICATED,
)


def _blend_rank(candidate: SeriesForecast) -> tuple[int, date]:
    earliest = candidate.next_dose.earliest if candidate.next_dose else date.max
    return _BLEND_ORDER.index(candidate.status), earliest


def _evaluations(chosen: SeriesForecast) -> tuple[DoseEvaluation, ...]:
    return tuple(
        DoseEvaluation(
            dose_index=d.dose.index,
            date_administered=d.date_administered,
            cvx=d.cvx,
            antigen=d.dose.antigen,
            status=d.status,
            reasons=d.reasons,
            target_dose_number=d.target_dose_number,
            dose_id=d.dose.dose.id,
        )
        for d in chosen.evaluation.doses
    )


def evaluate_antigen(antigen: Antigen, context: PatientContext) -> AntigenResult:
    """Evaluate and forecast one antigen: every relevant series, then the best one."""
    doses = context.history.by_antigen.get(antigen.name, ())
    blocked = (
        Blocked(
            antigen_contraindicated(antigen, context), contraindicated_vaccines(antigen, context)
        )
        if context.patient.observations
        else NOTHING_BLOCKED
    )
    candidates = [
        forecast_series(evaluate_series(series, doses, context), context, blocked)
        for series in relevant_series(antigen.series, context)
    ]
    best = best_series(candidates, context)
    chosen = min(best, key=_blend_rank) if best else None
    if chosen is None:
        return AntigenResult(
            antigen.name, None, SeriesStatus.NOT_RECOMMENDED, None, (), "no relevant series"
        )
    immunity = _immune(antigen, context)
    if immunity and chosen.status is not SeriesStatus.COMPLETE:
        return AntigenResult(
            antigen.name,
            chosen.evaluation.series.name,
            SeriesStatus.IMMUNE,
            None,
            _evaluations(chosen),
            f"Not recommended: immune ({immunity})",
        )
    return AntigenResult(
        antigen=antigen.name,
        series_name=chosen.evaluation.series.name,
        status=chosen.status,
        next_dose=chosen.next_dose,
        evaluations=_evaluations(chosen),
        reason=chosen.next_dose.reason if chosen.next_dose else chosen.reason,
        interval_priority=chosen.interval_priority,
    )


def forecast(
    patient: Patient,
    doses: Iterable[AdministeredDose],
    assessment_date: date,
    schedule: Schedule,
    vaccine_groups: Iterable[str] | None = None,
) -> Forecast:
    """Evaluate every dose and forecast every vaccine group (or only `vaccine_groups`).

    Doses after the assessment date are not yet given and are left out; a dose before birth or an
    assessment before birth is an input error.
    """
    if assessment_date < patient.birth_date:
        raise ForecastInputError("assessment date is before the date of birth")
    given: list[AdministeredDose] = []
    later: list[AdministeredDose] = []
    for dose in doses:
        if dose.date_administered < patient.birth_date:
            raise ForecastInputError(
                f"dose of CVX {dose.cvx} on {dose.date_administered.isoformat()} is before the "
                f"date of birth {patient.birth_date.isoformat()}"
            )
        (given if dose.date_administered <= assessment_date else later).append(dose)
    history = organize(patient, tuple(given), schedule)
    context = PatientContext(
        patient=patient,
        assessment_date=assessment_date,
        history=history,
        schedule=schedule,
        conflicts=conflicts_by_pair(schedule),
    )
    names = list(vaccine_groups) if vaccine_groups is not None else list(schedule.vaccine_groups)
    antigen_results: dict[str, AntigenResult] = {}
    groups = {}
    for name in names:
        group = schedule.vaccine_groups.get(name)
        if group is None:
            raise ForecastInputError(f"unknown vaccine group {name!r}")
        results = []
        for antigen_name in group.antigens:
            antigen = schedule.antigens.get(antigen_name)
            if antigen is None:
                continue
            if antigen_name not in antigen_results:
                antigen_results[antigen_name] = evaluate_antigen(antigen, context)
            results.append(antigen_results[antigen_name])
        groups[name] = combine(group, results, history)
    return Forecast(
        schedule_id=schedule.id,
        assessment_date=assessment_date,
        vaccine_groups=groups,
        unknown_vaccines=history.unknown_cvx,
        doses_after_assessment=tuple(later),
    )
