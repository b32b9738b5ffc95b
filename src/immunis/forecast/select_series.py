"""CDSi select best patient series (chapter 8): which relevant series speaks for the antigen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from immunis.forecast.context import PatientContext
from immunis.forecast.dates import add
from immunis.forecast.next_dose import NOTHING_BLOCKED, SeriesForecast
from immunis.forecast.results import SeriesStatus
from immunis.schedule.model import Series, SeriesType


def relevant_series(series: Sequence[Series], context: PatientContext) -> list[Series]:
    """Standard series always; risk series when the patient has one of their indications; and
    only series whose required gender, if any, is the patient's."""
    gender = context.patient.gender.value
    if not context.patient.observations:
        return [
            s
            for s in series
            if s.series_type is not SeriesType.RISK
            and (not s.required_gender or gender in s.required_gender)
        ]
    assessment = context.assessment_date
    chosen = []
    for candidate in series:
        if candidate.required_gender and gender not in candidate.required_gender:
            continue
        if candidate.series_type is not SeriesType.RISK:
            chosen.append(candidate)
            continue
        for indication in candidate.indications:
            if not context.has_observation(indication.observation_code, assessment):
                continue
            if indication.begin_age and assessment < context.age_date(indication.begin_age):
                continue
            if indication.end_age and assessment >= context.age_date(indication.end_age):
                continue
            chosen.append(candidate)
            break
    return chosen


def _is_scorable(
    candidate: SeriesForecast,
    group: list[SeriesForecast],
    context: PatientContext,
    nothing_started: bool,
) -> bool:
    """SELECTSCORE-2 (Table 8-2): which relevant series of a series group may be scored.
    `nothing_started`: no series of the group has a valid dose, and none is the default."""
    series = candidate.evaluation.series
    # SELECTB-24; only a series with something blocked can be contraindicated, so the forecast
    # (and its status) is worked out just for those.
    if (
        candidate.blocked is not NOTHING_BLOCKED
        and candidate.status is SeriesStatus.CONTRAINDICATED
        and not all(c.status is SeriesStatus.CONTRAINDICATED for c in group)
    ):
        return False
    if series.series_type is SeriesType.RISK:
        return all(
            series.selection.series_priority <= c.evaluation.series.selection.series_priority
            for c in group
            if c.evaluation.series.series_type is SeriesType.RISK
        )
    if series.series_type is SeriesType.EVALUATION_ONLY:
        return candidate.status is SeriesStatus.COMPLETE
    first = candidate.evaluation.first_valid
    if first is not None:
        max_start = series.selection.max_age_to_start
        return max_start is None or first.date_administered < context.age_date(max_start)
    return nothing_started


def _points(values: list[float], index: int, alone: int, tie: int, other: int) -> int:
    """+alone to the single best (lowest) value, tie when several share it, other otherwise."""
    best = min(values)
    if values[index] != best:
        return other
    return alone if values.count(best) == 1 else tie


def _finish_date(candidate: SeriesForecast) -> date | None:
    """SELECTB-12: earliest date plus the largest minimum interval among the remaining doses."""
    if candidate.next_dose is None:
        return None
    start = candidate.next_dose.earliest
    finish = start
    for target in candidate.evaluation.series.doses[candidate.target_index + 1 :]:
        for rule in target.intervals:
            if rule.min_interval is not None:
                finish = max(finish, add(start, rule.min_interval))
    return finish


def _completable(candidate: SeriesForecast, context: PatientContext) -> bool:
    """SELECTB-3: the forecast finish date comes before the last target dose's maximum age."""
    finish = _finish_date(candidate)
    if finish is None:
        return False
    last = candidate.evaluation.series.doses[-1]
    max_age = next((a.max_age for a in last.ages if a.max_age), None)
    return max_age is None or finish < context.age_date(max_age)


def _all_valid(candidate: SeriesForecast) -> bool:
    return all(d.is_valid for d in candidate.evaluation.doses)


def _is_product(candidate: SeriesForecast) -> bool:
    return candidate.evaluation.series.selection.product_path


def _score_complete(candidates: list[SeriesForecast]) -> list[int]:
    """Table 8-7: most valid doses."""
    most = [-float(c.evaluation.valid_doses) for c in candidates]
    return [_points(most, i, 1, 0, -1) for i in range(len(candidates))]


def _score_in_process(candidates: list[SeriesForecast], context: PatientContext) -> list[int]:
    """Table 8-9: product with all valid doses, completable, most valid doses, closest to
    completion, can finish earliest."""
    most = [-float(c.evaluation.valid_doses) for c in candidates]
    # SELECTB-5: target doses still 'not satisfied' (skipped ones are not waiting for a dose).
    remaining = [
        float(
            len(c.evaluation.series.doses) - len(c.evaluation.satisfied) - len(c.evaluation.skipped)
        )
        for c in candidates
    ]
    completable = [_completable(c, context) for c in candidates]
    finishes = [
        float(finish.toordinal()) if ok and (finish := _finish_date(c)) else float("inf")
        for c, ok in zip(candidates, completable, strict=True)
    ]
    scores = []
    for i, candidate in enumerate(candidates):
        score = 2 if _is_product(candidate) and _all_valid(candidate) else -2
        score += 3 if completable[i] else -3
        score += _points(most, i, 2, 0, -2)
        score += _points(remaining, i, 2, 0, -2)
        score += _points(finishes, i, 1, 0, -1) if completable[i] else -1
        scores.append(score)
    return scores


def _score_no_valid_doses(candidates: list[SeriesForecast], context: PatientContext) -> list[int]:
    """Table 8-11: can start earliest, completable, and a product series loses a point."""
    starts = [
        float(c.next_dose.earliest.toordinal()) if c.next_dose else float("inf") for c in candidates
    ]
    scores = []
    for i, candidate in enumerate(candidates):
        score = _points(starts, i, 1, 0, -1)
        score += 1 if _completable(candidate, context) else -1
        score += -1 if _is_product(candidate) else 1
        scores.append(score)
    return scores


def _in_process(candidate: SeriesForecast) -> bool:
    return bool(candidate.evaluation.satisfied) and candidate.status is SeriesStatus.NOT_COMPLETE


def prioritized_series(group: list[SeriesForecast], context: PatientContext) -> SeriesForecast:
    """Chapter 8.2-8.7: one series group's prioritized patient series."""
    defaults = [c for c in group if c.evaluation.series.selection.default_series]
    nothing_started = not defaults and all(c.evaluation.valid_doses == 0 for c in group)
    scorable = [c for c in group if _is_scorable(c, group, context, nothing_started)]
    complete = [c for c in scorable if c.status is SeriesStatus.COMPLETE]
    in_process = [c for c in scorable if _in_process(c)]
    # Table 8-3
    if not scorable:
        return defaults[0] if defaults else group[0]
    if len(scorable) == 1:
        return scorable[0]
    if len(complete) == 1:
        return complete[0]
    if not complete and len(in_process) == 1:
        return in_process[0]
    if not complete and not in_process and len(defaults) == 1:
        return defaults[0]
    # Table 8-5, then 8-7/8-9/8-11
    if len(complete) >= 2:
        pool, scores = complete, _score_complete(complete)
    elif len(in_process) >= 2:
        pool, scores = in_process, _score_in_process(in_process, context)
    else:
        pool, scores = scorable, _score_no_valid_doses(scorable, context)
    # SELECTBEST-2: highest score, then the most preferred series.
    best = min(
        range(len(pool)),
        key=lambda i: (-scores[i], pool[i].evaluation.series.selection.series_preference),
    )
    return pool[best]


def _group_applies(group: list[SeriesForecast], context: PatientContext) -> bool:
    """A series group none of whose series the patient could start at their age, and in which no
    dose counted, is left out (as CDC's reference engine does for e.g. the 50+ pneumococcal
    group; the specification itself is silent)."""
    if any(c.evaluation.satisfied for c in group):
        return True
    assessment = context.assessment_date
    for candidate in group:
        selection = candidate.evaluation.series.selection
        if selection.min_age_to_start and assessment < context.age_date(selection.min_age_to_start):
            continue
        if selection.max_age_to_start and assessment >= context.age_date(
            selection.max_age_to_start
        ):
            continue
        return True
    return False


def _equivalent(a: SeriesForecast, b: SeriesForecast) -> bool:
    group_a = a.evaluation.series.selection.series_group
    group_b = b.evaluation.series.selection.series_group
    return a.evaluation.series.equivalent_series_groups == group_b or (
        b.evaluation.series.equivalent_series_groups == group_a
    )


def best_series(candidates: list[SeriesForecast], context: PatientContext) -> list[SeriesForecast]:
    """Chapter 8.8 (Table 8-14): the best patient series, one per series group that needs one."""
    groups: dict[str, list[SeriesForecast]] = {}
    for candidate in candidates:
        groups.setdefault(candidate.evaluation.series.selection.series_group or "", []).append(
            candidate
        )
    prioritized = [
        prioritized_series(group, context)
        for group in groups.values()
        if _group_applies(group, context)
    ]
    best = []
    for series in prioritized:
        kind = series.evaluation.series.series_type
        others = [p for p in prioritized if p is not series and _equivalent(series, p)]
        if series.status is SeriesStatus.COMPLETE:
            best.append(series)
        elif kind is SeriesType.EVALUATION_ONLY or any(
            p.status is SeriesStatus.COMPLETE for p in others
        ):
            continue
        elif kind is SeriesType.RISK or not any(
            p.evaluation.series.series_type is SeriesType.RISK for p in others
        ):
            best.append(series)
    return best
