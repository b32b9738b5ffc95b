"""The engine's Forecast as FHIR resources: one ImmunizationEvaluation per dose and antigen, and
one ImmunizationRecommendation with an entry per vaccine group (codes as the ImmDS IG uses them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cache
from typing import Any

from immunis.forecast import AdministeredDose, Forecast, Patient, SeriesStatus
from immunis.forecast.organize import organize
from immunis.forecast.results import EvaluationStatus, VaccineGroupForecast
from immunis.interop.fhir import systems
from immunis.schedule.catalog import load_schedule

# CDSi series status -> the base recommendation status (none for "not recommended") and ImmDS's.
_BASE_STATUS = {
    SeriesStatus.COMPLETE: "complete",
    SeriesStatus.IMMUNE: "immune",
    SeriesStatus.CONTRAINDICATED: "contraindicated",
    SeriesStatus.AGED_OUT: "agedout",
}
_IMMDS_STATUS = {
    SeriesStatus.NOT_COMPLETE: "notComplete",
    SeriesStatus.COMPLETE: "complete",
    SeriesStatus.NOT_RECOMMENDED: "notRecommended",
    SeriesStatus.IMMUNE: "immune",
    SeriesStatus.CONTRAINDICATED: "contraindicated",
    SeriesStatus.AGED_OUT: "agedOut",
}


def doses_in_engine_order(
    patient: Patient,
    doses: Sequence[AdministeredDose],
    assessment_date: date,
    schedule_id: str,
) -> tuple[AdministeredDose, ...]:
    """The doses as the engine numbers them in `dose_index`: those given by the assessment date,
    in its organise step's order (the same inputs give the same order)."""
    given = tuple(d for d in doses if d.date_administered <= assessment_date)
    return organize(patient, given, load_schedule(schedule_id)).doses


@cache
def _cvx_by_vaccine_type(schedule_id: str) -> dict[str, str]:
    """The schedule's preferable vaccines: their CDSi vaccine type and its CVX code."""
    found: dict[str, str] = {}
    for antigen in load_schedule(schedule_id).antigens.values():
        for series in antigen.series:
            for dose in series.doses:
                for vaccine in dose.preferable_vaccines:
                    found.setdefault(vaccine.vaccine_type, vaccine.cvx)
    return found


def _authority(answer: Forecast) -> dict[str, str]:
    schedule = load_schedule(answer.schedule_id)
    return {"display": f"{schedule.title} ({schedule.id} {schedule.version})"}


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}], "text": code}


def _dose_status(status: EvaluationStatus) -> dict[str, Any]:
    base = "valid" if status is EvaluationStatus.VALID else "notvalid"
    return {
        "coding": [
            {"system": systems.DOSE_STATUS, "code": base},
            {"system": systems.CDSI_EVALUATION_STATUS, "code": status.value},
        ],
        "text": status.value,
    }


def evaluation_resources(
    answer: Forecast, patient: dict[str, str], dose_references: Sequence[dict[str, str]]
) -> list[dict[str, Any]]:
    """One ImmunizationEvaluation per evaluated dose and antigen; `dose_references[i]` refers to
    the dose the engine numbered i."""
    authority = _authority(answer)
    resources = []
    for group in answer.vaccine_groups.values():
        series_of = {a.antigen: a.series_name for a in group.antigens}
        for dose in group.doses:
            for evaluation in dose.antigens:
                resource: dict[str, Any] = {
                    "resourceType": "ImmunizationEvaluation",
                    "status": "completed",
                    "patient": patient,
                    "date": answer.assessment_date.isoformat(),
                    "authority": authority,
                    "targetDisease": _concept(systems.CDSI_ANTIGEN, evaluation.antigen),
                    "immunizationEvent": dose_references[dose.dose_index],
                    "doseStatus": _dose_status(evaluation.status),
                }
                if evaluation.reasons:
                    resource["doseStatusReason"] = [{"text": r} for r in evaluation.reasons]
                if series_of.get(evaluation.antigen):
                    resource["series"] = series_of[evaluation.antigen]
                if evaluation.target_dose_number:
                    resource["doseNumberPositiveInt"] = evaluation.target_dose_number
                resources.append(resource)
    return resources


def _forecast_status(group: VaccineGroupForecast, assessment_date: date) -> dict[str, Any]:
    base = _BASE_STATUS.get(group.status)
    if group.status is SeriesStatus.NOT_COMPLETE:
        past_due = group.next_dose.past_due if group.next_dose else None
        base = "overdue" if past_due is not None and assessment_date >= past_due else "due"
    coding = [{"system": systems.RECOMMENDATION_STATUS, "code": base}] if base else []
    coding.append({"system": systems.IMMDS_FORECAST_STATUS, "code": _IMMDS_STATUS[group.status]})
    return {"coding": coding, "text": group.status.value}


def _date_criteria(group: VaccineGroupForecast) -> list[dict[str, Any]]:
    next_dose = group.next_dose
    if next_dose is None:
        return []
    dates = (
        (systems.EARLIEST_DATE, next_dose.earliest),
        (systems.DUE_DATE, next_dose.recommended),
        (systems.OVERDUE_DATE, next_dose.past_due),
        (systems.LATEST_DATE, next_dose.latest),
    )
    return [
        {
            "code": {"coding": [{"system": systems.LOINC, "code": code, "display": display}]},
            "value": day.isoformat(),
        }
        for (code, display), day in dates
        if day is not None
    ]


def _entry(group: VaccineGroupForecast, answer: Forecast) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    next_dose = group.next_dose
    if next_dose and next_dose.recommended_vaccines:
        cvx_of = _cvx_by_vaccine_type(answer.schedule_id)
        entry["vaccineCode"] = [
            {"coding": [{"system": systems.CVX, "code": cvx_of[kind]}], "text": kind}
            if kind in cvx_of
            else {"text": kind}
            for kind in next_dose.recommended_vaccines
        ]
    entry["targetDisease"] = _concept(systems.CDSI_VACCINE_GROUP, group.vaccine_group)
    entry["forecastStatus"] = _forecast_status(group, answer.assessment_date)
    if group.reason:
        entry["forecastReason"] = [{"text": group.reason}]
    criteria = _date_criteria(group)
    if criteria:
        entry["dateCriterion"] = criteria
    series = ", ".join(dict.fromkeys(a.series_name for a in group.antigens if a.series_name))
    if series:
        entry["series"] = series
    if next_dose:
        entry["doseNumberPositiveInt"] = next_dose.dose_number
    return entry


def recommendation_resource(answer: Forecast, patient: dict[str, str]) -> dict[str, Any]:
    """One ImmunizationRecommendation: an entry per vaccine group that applies to the patient
    (groups not recommended and never given are left out, unless no group applies)."""
    groups = list(answer.vaccine_groups.values())
    applying = [g for g in groups if g.status is not SeriesStatus.NOT_RECOMMENDED or g.doses]
    return {
        "resourceType": "ImmunizationRecommendation",
        "patient": patient,
        "date": answer.assessment_date.isoformat(),
        "authority": _authority(answer),
        "recommendation": [_entry(group, answer) for group in applying or groups],
    }
