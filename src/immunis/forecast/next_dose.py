"""CDSi forecasting (chapter 7): whether a series needs another dose, and its dates and reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from immunis.forecast.conditional_skip import FORECAST, can_skip
from immunis.forecast.context import PatientContext
from immunis.forecast.contraindications import dose_contraindicated
from immunis.forecast.dates import ONE_DAY, add
from immunis.forecast.evaluate import (
    SeriesEvaluation,
    applicable,
    interval_reference,
    intervals_in_effect,
)
from immunis.forecast.results import EvaluationStatus, NextDose, SeriesStatus
from immunis.schedule.model import SeriesDose


@dataclass(frozen=True, slots=True)
class Blocked:
    """What contraindications rule out for one antigen (7.3)."""

    antigen: bool = False
    cvx: frozenset[str] = frozenset()


NOTHING_BLOCKED = Blocked()


@dataclass(frozen=True, slots=True)
class ForecastOutcome:
    status: SeriesStatus
    next_dose: NextDose | None
    target_index: int  # the target dose forecast (after forecast-time skips)
    reason: str = ""


class SeriesForecast:
    """A relevant patient series, evaluated; its forecast is worked out only when asked for,
    since series selection usually needs the forecast of just one series per antigen."""

    __slots__ = ("_outcome", "blocked", "context", "evaluation")

    def __init__(
        self, evaluation: SeriesEvaluation, context: PatientContext, blocked: Blocked
    ) -> None:
        self.evaluation = evaluation
        self.context = context
        self.blocked = blocked
        self._outcome: ForecastOutcome | None = None

    @property
    def outcome(self) -> ForecastOutcome:
        if self._outcome is None:
            self._outcome = _forecast(self.evaluation, self.context, self.blocked)
        return self._outcome

    @property
    def status(self) -> SeriesStatus:
        return self.outcome.status

    @property
    def next_dose(self) -> NextDose | None:
        return self.outcome.next_dose

    @property
    def target_index(self) -> int:
        return self.outcome.target_index

    @property
    def reason(self) -> str:
        return self.outcome.reason

    @property
    def interval_priority(self) -> bool:
        """FORECASTPRIORITY-1: the forecast dose has intervals and every one overrides age."""
        targets = self.evaluation.series.doses
        if self.next_dose is None or self.target_index >= len(targets):
            return False
        intervals = targets[self.target_index].intervals
        return bool(intervals) and all(rule.overrides_age for rule in intervals)


def _live_virus_end(
    evaluation: SeriesEvaluation, context: PatientContext, target_cvx: set[str]
) -> date | None:
    latest_end: date | None = None
    for previous in context.history.doses:
        previous_cvx = previous.cvx.lstrip("0") or "0"
        for cvx in target_cvx:
            conflict = context.conflicts.get((previous_cvx, cvx))
            if conflict is None:
                continue
            end = add(previous.date_administered, conflict.conflict_end_interval)
            if latest_end is None or end > latest_end:
                latest_end = end
    return latest_end


def _dose_number(evaluation: SeriesEvaluation) -> int:
    """FORECASTDN-1: one more than the satisfied target doses (this season's, for seasonal ones)."""
    count = 0
    for number, satisfied in evaluation.satisfied.items():
        season = evaluation.series.doses[number - 1].seasonal_recommendation
        if season and season.start_date and satisfied.date_administered < season.start_date:
            continue
        count += 1
    return count + 1


def _dates(
    evaluation: SeriesEvaluation, target: SeriesDose, context: PatientContext
) -> tuple[date, str, date, str, date | None, date | None]:
    """Table 7-13: earliest, recommended (with reasons), past-due and latest dates."""
    assessment = context.assessment_date
    age = applicable(target.ages, assessment)
    earliest_candidates: list[tuple[date, str]] = []
    if age and age.min_age:
        earliest_candidates.append((context.age_date(age.min_age), "age"))
    last_dose = evaluation.doses[-1] if evaluation.doses else None
    from_invalid = last_dose is not None and last_dose.status is not EvaluationStatus.VALID
    recommended_intervals: list[tuple[date, str]] = []
    past_due_intervals: list[date] = []
    for rule in intervals_in_effect(target.intervals, assessment):
        reference = interval_reference(
            rule, evaluation, context, len(context.history.doses), assessment
        )
        if reference is None:
            continue
        label = "interval from invalid dose" if rule.from_previous and from_invalid else "interval"
        if rule.min_interval:
            earliest_candidates.append((add(reference, rule.min_interval), f"minimum {label}"))
        if rule.earliest_recommended_interval:
            recommended_intervals.append(
                (add(reference, rule.earliest_recommended_interval), label)
            )
        if rule.latest_recommended_interval:
            past_due_intervals.append(add(reference, rule.latest_recommended_interval))
    conflict_end = _live_virus_end(evaluation, context, {v.cvx for v in target.preferable_vaccines})
    if conflict_end:
        earliest_candidates.append((conflict_end, "minimum interval from live virus vaccine"))
    season = target.seasonal_recommendation
    if season and season.start_date:
        earliest_candidates.append((season.start_date, "seasonal start date"))
    # The earliest date is never before a dose already evaluated against this series.
    evaluated = [d.date_administered for d in evaluation.doses if d.target_dose_number is not None]
    if evaluated:
        earliest_candidates.append((max(evaluated), "most recent dose"))
    earliest, earliest_reason = max(earliest_candidates, default=(context.birth_date, "age"))

    if age and age.earliest_recommended_age:
        recommended, recommended_reason = context.age_date(age.earliest_recommended_age), "age"
    elif recommended_intervals:
        recommended, recommended_reason = max(recommended_intervals)
    else:
        recommended, recommended_reason = earliest, earliest_reason
    if recommended < earliest:
        recommended, recommended_reason = earliest, earliest_reason
    past_due: date | None = None
    if age and age.latest_recommended_age:
        past_due = context.age_date(age.latest_recommended_age) - ONE_DAY
    elif past_due_intervals:
        past_due = max(past_due_intervals) - ONE_DAY
    if past_due is not None and past_due < earliest:
        past_due = earliest
    latest = context.age_date(age.max_age) - ONE_DAY if age and age.max_age else None
    return earliest, earliest_reason, recommended, recommended_reason, past_due, latest


def _recommended_vaccines(
    target: SeriesDose,
    context: PatientContext,
    earliest: date,
    recommended: date,
    blocked_cvx: frozenset[str],
) -> tuple[str, ...]:
    """FORECASTRECVAC-1: preferable vaccines flagged for forecasting, not contraindicated, right
    for the patient's age on the earliest or the recommended date."""
    chosen = []
    for vaccine in target.preferable_vaccines:
        if not vaccine.forecast_vaccine_type or vaccine.cvx in blocked_cvx:
            continue
        begin = context.age_date(vaccine.begin_age) if vaccine.begin_age else None
        end = context.age_date(vaccine.end_age) if vaccine.end_age else None
        for day in (earliest, recommended):
            if (begin is None or day >= begin) and (end is None or day < end):
                chosen.append(vaccine.vaccine_type)
                break
    return tuple(dict.fromkeys(chosen))


def forecast_series(
    evaluation: SeriesEvaluation, context: PatientContext, blocked: Blocked = NOTHING_BLOCKED
) -> SeriesForecast:
    """The series' forecast, computed when first needed."""
    return SeriesForecast(evaluation, context, blocked)


def _forecast(
    evaluation: SeriesEvaluation, context: PatientContext, blocked: Blocked
) -> ForecastOutcome:
    """Table 7-10 and 7-13: the next target dose of an evaluated series, with its earliest,
    recommended, past-due and latest dates, re-checked against forecast skips (7.6)."""
    series = evaluation.series
    targets = series.doses
    assessment = context.assessment_date
    index = evaluation.target_index
    # 7.1: skips judged on the assessment date.
    while index < len(targets) and targets[index].conditional_skips:
        if not can_skip(targets[index], FORECAST, context, assessment, evaluation.doses):
            break
        index += 1
    while index < len(targets):
        target = targets[index]
        earliest, _, recommended, reason, past_due, latest = _dates(evaluation, target, context)
        # 7.6: a dose that could be skipped on its own earliest date is not the one to give.
        if target.conditional_skips and can_skip(
            target, FORECAST, context, earliest, evaluation.doses
        ):
            index += 1
            continue
        if blocked.antigen or dose_contraindicated(target, blocked.cvx):
            return ForecastOutcome(
                SeriesStatus.CONTRAINDICATED, None, index, "Patient has a contraindication"
            )
        age = applicable(target.ages, assessment)
        max_age_date = context.age_date(age.max_age) if age and age.max_age else None
        season = target.seasonal_recommendation
        if season and season.end_date and assessment > season.end_date:
            return ForecastOutcome(
                SeriesStatus.NOT_RECOMMENDED,
                None,
                index,
                "Past seasonal recommendation end date",
            )
        if max_age_date and (assessment >= max_age_date or earliest >= max_age_date):
            return ForecastOutcome(
                SeriesStatus.AGED_OUT, None, index, "Patient has exceeded the maximum age"
            )
        next_dose = NextDose(
            dose_number=_dose_number(evaluation),
            earliest=earliest,
            recommended=recommended,
            past_due=past_due,
            latest=latest,
            reason=f"Recommended based on {reason}",
            recommended_vaccines=_recommended_vaccines(
                target, context, earliest, recommended, blocked.cvx
            ),
            target_dose_number=target.dose_number,
        )
        return ForecastOutcome(SeriesStatus.NOT_COMPLETE, next_dose, index)
    if evaluation.satisfied:
        return ForecastOutcome(SeriesStatus.COMPLETE, None, index, "Patient series is complete")
    return ForecastOutcome(
        SeriesStatus.NOT_RECOMMENDED,
        None,
        index,
        "Not recommended at this time due to past immunization history",
    )
