"""CDSi conditional skip: when a target dose need not be given, in evaluation and forecast."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from immunis.forecast.context import PatientContext
from immunis.forecast.dates import add
from immunis.schedule.model import ConditionType, SeriesDose, SkipCondition, SkipSet

EVALUATION = "Evaluation"
FORECAST = "Forecast"


class CountedDose(Protocol):
    """What a skip condition needs to know of an earlier dose."""

    @property
    def date_administered(self) -> date: ...
    @property
    def cvx(self) -> str: ...
    @property
    def is_valid(self) -> bool: ...


def _in_effect(skip_set: SkipSet, on: date) -> bool:
    if skip_set.effective_date and on < skip_set.effective_date:
        return False
    return not (skip_set.cessation_date and on > skip_set.cessation_date)


def _count_matches(condition: SkipCondition, count: int) -> bool:
    wanted = condition.dose_count or 0
    logic = condition.dose_count_logic or "greater than"
    if logic == "greater than":
        return count > wanted
    if logic == "less than":
        return count < wanted
    return count == wanted


def _condition_met(
    condition: SkipCondition,
    context: PatientContext,
    reference_date: date,
    earlier_doses: Sequence[CountedDose],
    completed_series_groups: frozenset[str],
) -> bool:
    kind = condition.condition_type
    if kind is ConditionType.AGE:
        if condition.begin_age and reference_date < context.age_date(condition.begin_age):
            return False
        if condition.end_age and reference_date >= context.age_date(condition.end_age):
            return False
        if condition.start_date and reference_date < condition.start_date:
            return False
        return not (condition.end_date and reference_date > condition.end_date)
    if kind is ConditionType.INTERVAL:
        if not earlier_doses or condition.interval is None:
            return False
        previous = earlier_doses[-1].date_administered
        return reference_date >= add(previous, condition.interval)
    if kind is ConditionType.COMPLETED_SERIES:
        return any(group in completed_series_groups for group in condition.series_groups)
    count = 0
    begin = context.age_date(condition.begin_age) if condition.begin_age else None
    end = context.age_date(condition.end_age) if condition.end_age else None
    valid_only = condition.dose_type == "Valid"
    for dose in earlier_doses:
        if valid_only and not dose.is_valid:
            continue
        if condition.vaccine_types and dose.cvx not in condition.vaccine_types:
            continue
        given = dose.date_administered
        if begin and given < begin:
            continue
        if end and given >= end:
            continue
        if condition.start_date and given < condition.start_date:
            continue
        if condition.end_date and given > condition.end_date:
            continue
        count += 1
    return _count_matches(condition, count)


def _set_met(
    skip_set: SkipSet,
    context: PatientContext,
    reference_date: date,
    earlier_doses: Sequence[CountedDose],
    completed_series_groups: frozenset[str],
) -> bool:
    results = (
        _condition_met(c, context, reference_date, earlier_doses, completed_series_groups)
        for c in skip_set.conditions
    )
    if skip_set.condition_logic == "OR":
        return any(results)
    return all(results)


def can_skip(
    target: SeriesDose,
    phase: str,
    context: PatientContext,
    reference_date: date,
    earlier_doses: Sequence[CountedDose],
    completed_series_groups: frozenset[str] = frozenset(),
) -> bool:
    """Whether `target` may be skipped in `phase` ("Evaluation" or "Forecast") on `reference_date`
    (the dose's date when evaluating, the assessment date when forecasting)."""
    for skip in target.conditional_skips:
        if skip.context not in (phase, "Both"):
            continue
        sets = [s for s in skip.sets if _in_effect(s, reference_date)]
        if not sets:
            continue
        outcomes = (
            _set_met(s, context, reference_date, earlier_doses, completed_series_groups)
            for s in sets
        )
        if skip.set_logic == "AND":
            if all(outcomes):
                return True
        elif any(outcomes):
            return True
    return False
