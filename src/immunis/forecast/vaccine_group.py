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

# When antigens disagree, the group reports the status that still asks for action first.
_STATUS_ORDER = (
    SeriesStatus.NOT_COMPLETE,
    SeriesStatus.CONTRAINDICATED,
    SeriesStatus.NOT_RECOMMENDED,
    SeriesStatus.AGED_OUT,
    SeriesStatus.IMMUNE,
    SeriesStatus.COMPLETE,
)


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
        worst = next((e for e in evaluations if e.status is not EvaluationStatus.VALID), None)
        dose = history.doses[index]
        doses.append(
            GroupDoseEvaluation(
                dose_index=index,
                date_administered=dose.date_administered,
                cvx=dose.cvx,
                status=worst.status if worst else EvaluationStatus.VALID,
                reasons=worst.reasons if worst else (),
                antigens=tuple(evaluations),
            )
        )
    return tuple(doses)


def combine(
    group: VaccineGroup, antigens: Sequence[AntigenResult], history: History
) -> VaccineGroupForecast:
    """One vaccine group's result from its antigens' results."""
    status = min((a.status for a in antigens), key=_STATUS_ORDER.index, default=SeriesStatus.COMPLETE)
    due = [a for a in antigens if a.status is SeriesStatus.NOT_COMPLETE and a.next_dose]
    next_dose: NextDose | None = None
    reason = next((a.reason for a in antigens if a.status is status), "")
    if due:
        lead = due[0].next_dose
        assert lead is not None
        pick = max if group.administer_full_vaccine_group else min
        earliest = pick(a.next_dose.earliest for a in due if a.next_dose)
        recommended = pick(a.next_dose.recommended for a in due if a.next_dose)
        past_dues = [a.next_dose.past_due for a in due if a.next_dose and a.next_dose.past_due]
        latests = [a.next_dose.latest for a in due if a.next_dose and a.next_dose.latest]
        next_dose = NextDose(
            dose_number=lead.dose_number,
            earliest=earliest,
            recommended=max(recommended, earliest),
            past_due=pick(past_dues) if past_dues else None,
            latest=min(latests) if latests else None,
            reason=lead.reason,
            recommended_vaccines=lead.recommended_vaccines,
        )
        reason = lead.reason
    return VaccineGroupForecast(
        vaccine_group=group.name,
        status=status,
        next_dose=next_dose,
        doses=_group_doses(history, antigens),
        antigens=tuple(antigens),
        reason=reason,
    )
