"""CDSi vaccine group forecast (chapter 9): antigen results combined per vaccine group."""

from __future__ import annotations

from collections.abc import Sequence

from immunis.forecast.organize import History
from immunis.forecast.results import (
    AntigenResult,
    DoseEvaluation,
    EvaluationStatus,
    GroupDoseEvaluation,
    NextDose,
    SeriesStatus,
    VaccineGroupForecast,
)
from immunis.schedule.model import VaccineGroup


def _group_doses(
    history: History, antigens: Sequence[AntigenResult]
) -> tuple[GroupDoseEvaluation, ...]:
    per_dose: dict[int, list[DoseEvaluation]] = {}
    for result in antigens:
        for evaluation in result.evaluations:
            per_dose.setdefault(evaluation.dose_index, []).append(evaluation)
    doses = []
    for index in sorted(per_dose):
        evaluations = per_dose[index]
        # Not valid for any antigen makes the dose not valid for the group; a dose extraneous
        # for one antigen (pertussis after its last Tdap) still counts if valid for another.
        worst = next((e for e in evaluations if e.status is EvaluationStatus.NOT_VALID), None)
        if worst is None and not any(e.status is EvaluationStatus.VALID for e in evaluations):
            worst = evaluations[0]
        dose = history.doses[index]
        doses.append(
            GroupDoseEvaluation(
                dose_index=index,
                date_administered=dose.date_administered,
                cvx=dose.cvx,
                status=worst.status if worst else EvaluationStatus.VALID,
                reasons=worst.reasons if worst else (),
                antigens=tuple(evaluations),
                dose_id=dose.id,
            )
        )
    return tuple(doses)


def _multi_antigen_status(antigens: Sequence[AntigenResult]) -> SeriesStatus:
    """Table 9-4."""
    statuses = [a.status for a in antigens]
    for status in (
        SeriesStatus.CONTRAINDICATED,
        SeriesStatus.AGED_OUT,
        SeriesStatus.NOT_RECOMMENDED,
        SeriesStatus.NOT_COMPLETE,
    ):
        if status in statuses:
            return status
    if statuses and all(s is SeriesStatus.IMMUNE for s in statuses):
        return SeriesStatus.IMMUNE
    return SeriesStatus.COMPLETE


def _group_next_dose(
    group: VaccineGroup, due: Sequence[AntigenResult], history: History, single: bool
) -> NextDose:
    """Table 9-5 and FORECASTVG-2..6, FORECASTDN-2: the group's dates from its antigens'."""
    forecasts = [a.next_dose for a in due if a.next_dose is not None]
    earliest_dates = [f.earliest for f in forecasts]
    if single:
        earliest = min(earliest_dates)
    elif any(a.interval_priority for a in due):
        given = [history.doses[e.dose_index].date_administered for a in due for e in a.evaluations]
        earliest = max([min(earliest_dates), *given])
    else:
        earliest = max(earliest_dates)
    recommended = max(min(f.recommended for f in forecasts), earliest)
    past_dues = [f.past_due for f in forecasts if f.past_due is not None]
    latests = [f.latest for f in forecasts if f.latest is not None]
    numbers = [f.dose_number for f in forecasts]
    lead = forecasts[0]
    return NextDose(
        dose_number=min(numbers) if group.administer_full_vaccine_group else max(numbers),
        earliest=earliest,
        recommended=recommended,
        past_due=max(min(past_dues), earliest) if past_dues else None,
        latest=min(latests) if latests else None,
        reason=lead.reason,
        recommended_vaccines=tuple(
            dict.fromkeys(v for f in forecasts for v in f.recommended_vaccines)
        ),
        target_dose_number=lead.target_dose_number,
    )


def combine(
    group: VaccineGroup, antigens: Sequence[AntigenResult], history: History
) -> VaccineGroupForecast:
    """Chapter 9: one vaccine group's result from its antigens' results."""
    single = len(antigens) == 1
    status = antigens[0].status if single else _multi_antigen_status(antigens)
    due = [a for a in antigens if a.status is SeriesStatus.NOT_COMPLETE and a.next_dose]
    next_dose = (
        _group_next_dose(group, due, history, single)
        if due and status is SeriesStatus.NOT_COMPLETE
        else None
    )
    reason = (
        next_dose.reason
        if next_dose
        else next((a.reason for a in antigens if a.status is status), "")
    )
    return VaccineGroupForecast(
        vaccine_group=group.name,
        status=status,
        next_dose=next_dose,
        doses=_group_doses(history, antigens),
        antigens=tuple(antigens),
        reason=reason,
    )
