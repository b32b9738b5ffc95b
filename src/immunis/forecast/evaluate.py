"""CDSi dose evaluation (chapter 6): each antigen dose against the target doses of one series."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from immunis.forecast.conditional_skip import EVALUATION, can_skip
from immunis.forecast.context import PatientContext
from immunis.forecast.dates import add
from immunis.forecast.organize import AntigenDose
from immunis.forecast.results import EvaluationReason, EvaluationStatus
from immunis.schedule.model import AgeRule, IntervalRule, Series, SeriesDose

_AGE_OR_INTERVAL = frozenset({EvaluationReason.TOO_YOUNG.value, EvaluationReason.TOO_SOON.value})


@dataclass(slots=True)
class EvaluatedDose:
    dose: AntigenDose
    status: EvaluationStatus
    reasons: tuple[str, ...] = ()
    target_dose_number: int | None = None

    @property
    def date_administered(self) -> date:
        return self.dose.date_administered

    @property
    def cvx(self) -> str:
        return self.dose.cvx

    @property
    def is_valid(self) -> bool:
        return self.status is EvaluationStatus.VALID


@dataclass(slots=True)
class SeriesEvaluation:
    """A patient series: the series' target doses, and what each dose did to them."""

    series: Series
    doses: list[EvaluatedDose] = field(default_factory=list)
    satisfied: dict[int, EvaluatedDose] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)
    target_index: int = 0

    @property
    def complete(self) -> bool:
        return self.target_index >= len(self.series.doses)

    @property
    def valid_doses(self) -> int:
        """SELECTB-21: target doses satisfied by a valid dose."""
        return len(self.satisfied)

    @property
    def first_valid(self) -> EvaluatedDose | None:
        return next((d for d in self.doses if d.is_valid), None)


def applicable(rules: Sequence[AgeRule], on: date) -> AgeRule | None:
    """The age rule in effect on `on` (rules carry effective and cessation dates)."""
    for rule in rules:
        if rule.effective_date and on < rule.effective_date:
            continue
        if rule.cessation_date and on > rule.cessation_date:
            continue
        return rule
    return None


def intervals_in_effect(rules: Sequence[IntervalRule], on: date) -> list[IntervalRule]:
    return [
        r
        for r in rules
        if not (r.effective_date and on < r.effective_date)
        and not (r.cessation_date and on > r.cessation_date)
    ]


def interval_reference(
    rule: IntervalRule,
    evaluation: SeriesEvaluation,
    context: PatientContext,
    before_index: int,
    before_date: date,
) -> date | None:
    """The date an interval counts from: the previous dose, a target dose, the most recent dose of
    some vaccines, or an observation; None when there is no such dose."""
    if rule.from_previous:
        # An inadvertent dose is not a previous dose to count an interval from.
        previous = [
            d
            for d in evaluation.doses
            if d.dose.index < before_index and EvaluationReason.INADVERTENT.value not in d.reasons
        ]
        return previous[-1].date_administered if previous else None
    if rule.from_target_dose is not None:
        satisfied = evaluation.satisfied.get(rule.from_target_dose)
        return satisfied.date_administered if satisfied else None
    if rule.from_most_recent_cvx:
        found = None
        for index, dose in enumerate(context.history.doses):
            if index >= before_index or dose.date_administered > before_date:
                break
            if _plain_cvx(dose.cvx) in rule.from_most_recent_cvx:
                found = dose.date_administered
        return found
    if rule.from_relevant_observation:
        for observation in context.patient.observations:
            if observation.code == rule.from_relevant_observation and observation.start_date:
                return observation.start_date
    return None


def _plain_cvx(cvx: str) -> str:
    stripped = cvx.strip()
    return str(int(stripped)) if stripped.isdigit() else stripped


def _previous_not_valid_for_age_or_interval(evaluation: SeriesEvaluation) -> bool:
    if not evaluation.doses:
        return False
    previous = evaluation.doses[-1]
    return previous.status is EvaluationStatus.NOT_VALID and bool(
        _AGE_OR_INTERVAL.intersection(previous.reasons)
    )


def _evaluate_age(
    target: SeriesDose, dose: AntigenDose, context: PatientContext, evaluation: SeriesEvaluation
) -> tuple[EvaluationStatus, str | None]:
    """Table 'Evaluate age': absolute minimum, minimum (4-day grace), maximum age."""
    rule = applicable(target.ages, dose.date_administered)
    if rule is None:
        return EvaluationStatus.VALID, None
    given = dose.date_administered
    absolute_min = rule.absolute_min_age or rule.min_age
    if absolute_min and given < context.age_date(absolute_min):
        return EvaluationStatus.NOT_VALID, EvaluationReason.TOO_YOUNG.value
    if rule.min_age and given < context.age_date(rule.min_age):
        return EvaluationStatus.VALID, EvaluationReason.GRACE_PERIOD_AGE.value
    if rule.max_age and given >= context.age_date(rule.max_age):
        return EvaluationStatus.EXTRANEOUS, EvaluationReason.TOO_OLD.value
    return EvaluationStatus.VALID, None


def _evaluate_intervals(
    target: SeriesDose, dose: AntigenDose, context: PatientContext, evaluation: SeriesEvaluation
) -> tuple[bool, str | None]:
    """Preferable intervals, then allowable intervals when a preferable one is not met."""
    given = dose.date_administered
    failed = False
    grace = False
    for rule in intervals_in_effect(target.intervals, given):
        reference = interval_reference(rule, evaluation, context, dose.index, given)
        if reference is None:
            continue
        absolute_min = rule.absolute_min_interval or rule.min_interval
        if absolute_min and given < add(reference, absolute_min):
            failed = True
            break
        if rule.min_interval and given < add(reference, rule.min_interval):
            if _previous_not_valid_for_age_or_interval(evaluation):
                failed = True
                break
            grace = True
    if failed and target.allowable_intervals:
        for allowable in target.allowable_intervals:
            if allowable.effective_date and given < allowable.effective_date:
                continue
            if allowable.cessation_date and given > allowable.cessation_date:
                continue
            ref_rule = IntervalRule(
                from_previous=allowable.from_previous, from_target_dose=allowable.from_target_dose
            )
            reference = interval_reference(ref_rule, evaluation, context, dose.index, given)
            if reference is None or allowable.absolute_min_interval is None:
                continue
            if given >= add(reference, allowable.absolute_min_interval):
                return True, None
    if failed:
        return False, EvaluationReason.TOO_SOON.value
    return True, EvaluationReason.GRACE_PERIOD_INTERVAL.value if grace else None


def _live_virus_conflict(
    dose: AntigenDose, context: PatientContext, evaluation: SeriesEvaluation
) -> bool:
    """Whether an earlier live vaccine was given too recently before this one."""
    if not context.conflicts:
        return False
    statuses = {d.dose.index: d.status for d in evaluation.doses}
    given = dose.date_administered
    for index, previous in enumerate(context.history.doses):
        if previous.date_administered >= given:
            break
        conflict = context.conflicts.get((_plain_cvx(previous.cvx), dose.cvx))
        if conflict is None:
            continue
        begins = add(previous.date_administered, conflict.conflict_begin_interval)
        previous_status = statuses.get(index, EvaluationStatus.VALID)
        end_interval = (
            conflict.min_conflict_end_interval
            if previous_status is EvaluationStatus.VALID
            else conflict.conflict_end_interval
        )
        if begins <= given < add(previous.date_administered, end_interval):
            return True
    return False


def _vaccine_counts(target: SeriesDose, dose: AntigenDose, context: PatientContext) -> bool:
    """Preferable vaccine (right product, right age) or else allowable vaccine."""
    given = dose.date_administered
    for preferable in target.preferable_vaccines:
        if preferable.cvx != dose.cvx:
            continue
        if preferable.begin_age and given < context.age_date(preferable.begin_age):
            continue
        if preferable.end_age and given >= context.age_date(preferable.end_age):
            continue
        if preferable.mvx and dose.mvx and preferable.mvx != dose.mvx:
            continue
        return True
    for allowable in target.allowable_vaccines:
        if allowable.cvx != dose.cvx:
            continue
        if allowable.begin_age and given < context.age_date(allowable.begin_age):
            continue
        if allowable.end_age and given >= context.age_date(allowable.end_age):
            continue
        return True
    return False


def _evaluate_dose(
    dose: AntigenDose, evaluation: SeriesEvaluation, context: PatientContext
) -> EvaluatedDose:
    series = evaluation.series
    targets = series.doses
    while evaluation.target_index < len(targets):
        target = targets[evaluation.target_index]
        if target.conditional_skips and can_skip(
            target, EVALUATION, context, dose.date_administered, evaluation.doses
        ):
            evaluation.skipped.append(target.dose_number)
            evaluation.target_index += 1
            continue
        break
    if evaluation.complete:
        return EvaluatedDose(
            dose, EvaluationStatus.EXTRANEOUS, (EvaluationReason.SERIES_COMPLETE.value,)
        )
    target = targets[evaluation.target_index]
    number = target.dose_number
    if dose.dose.condition is not None:
        return EvaluatedDose(
            dose,
            EvaluationStatus.NOT_VALID,
            (f"Dose condition: {dose.dose.condition.value}",),
            number,
        )
    if any(v.cvx == dose.cvx for v in target.inadvertent_vaccines):
        return EvaluatedDose(
            dose, EvaluationStatus.NOT_VALID, (EvaluationReason.INADVERTENT.value,), number
        )
    reasons: list[str] = []
    age_status, age_reason = _evaluate_age(target, dose, context, evaluation)
    if age_reason:
        reasons.append(age_reason)
    interval_ok, interval_reason = _evaluate_intervals(target, dose, context, evaluation)
    if interval_reason:
        reasons.append(interval_reason)
    conflict = _live_virus_conflict(dose, context, evaluation)
    if conflict:
        reasons.append(EvaluationReason.LIVE_VIRUS_CONFLICT.value)
    vaccine_ok = _vaccine_counts(target, dose, context)
    if not vaccine_ok:
        reasons.append(EvaluationReason.NOT_PREFERABLE_OR_ALLOWABLE.value)
    if age_status is EvaluationStatus.EXTRANEOUS:
        return EvaluatedDose(dose, EvaluationStatus.EXTRANEOUS, tuple(reasons), number)
    if age_status is not EvaluationStatus.VALID or not interval_ok or conflict or not vaccine_ok:
        return EvaluatedDose(dose, EvaluationStatus.NOT_VALID, tuple(reasons), number)
    evaluated = EvaluatedDose(dose, EvaluationStatus.VALID, tuple(reasons), number)
    evaluation.satisfied[number] = evaluated
    if not target.recurring:
        evaluation.target_index += 1
    return evaluated


def evaluate_series(
    series: Series, doses: Sequence[AntigenDose], context: PatientContext
) -> SeriesEvaluation:
    """Evaluate every dose of one antigen's history against one series, in date order."""
    evaluation = SeriesEvaluation(series)
    for dose in doses:
        evaluation.doses.append(_evaluate_dose(dose, evaluation, context))
    return evaluation
