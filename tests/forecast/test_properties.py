"""Properties of the engine that must hold for any patient, checked with Hypothesis."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from immunis.forecast import AdministeredDose, Gender, Patient, forecast
from immunis.forecast.context import PatientContext, conflicts_by_pair
from immunis.forecast.evaluate import evaluate_series
from immunis.forecast.organize import organize
from immunis.schedule.catalog import load_schedule

SCHEDULE = load_schedule("us-acip")

# Vaccines a child or adult in the US commonly gets, across most vaccine groups.
COMMON_CVX = [
    "08",
    "20",
    "106",
    "107",
    "110",
    "115",
    "113",
    "09",
    "120",
    "146",
    "10",
    "49",
    "48",
    "17",
    "133",
    "215",
    "216",
    "33",
    "116",
    "119",
    "03",
    "94",
    "21",
    "83",
    "52",
    "62",
    "165",
    "114",
    "136",
    "141",
    "150",
    "187",
    "208",
    "300",
    "303",
    "306",
]

HEALTH = [HealthCheck.too_slow]


@st.composite
def histories(draw: st.DrawFn) -> tuple[Patient, list[AdministeredDose], date]:
    birth = draw(st.dates(min_value=date(1950, 1, 1), max_value=date(2025, 6, 1)))
    span_days = draw(st.integers(min_value=0, max_value=80 * 365))
    assessment = birth + timedelta(days=span_days)
    doses = draw(
        st.lists(
            st.builds(
                lambda offset, cvx: AdministeredDose(birth + timedelta(days=offset), cvx),
                st.integers(min_value=0, max_value=span_days),
                st.sampled_from(COMMON_CVX),
            ),
            max_size=12,
        )
    )
    gender = draw(st.sampled_from(list(Gender)))
    return Patient(birth, gender), doses, assessment


@settings(max_examples=150, deadline=None, suppress_health_check=HEALTH)
@given(histories())
def test_forecast_dates_are_in_order(history: tuple[Patient, list[AdministeredDose], date]) -> None:
    patient, doses, assessment = history
    answer = forecast(patient, doses, assessment, SCHEDULE)
    for group in answer.vaccine_groups.values():
        next_dose = group.next_dose
        if next_dose is None:
            continue
        assert next_dose.earliest <= next_dose.recommended, group.vaccine_group
        if next_dose.past_due is not None:
            assert next_dose.recommended <= next_dose.past_due, group.vaccine_group


@settings(max_examples=100, deadline=None, suppress_health_check=HEALTH)
@given(histories(), st.randoms(use_true_random=False))
def test_the_order_doses_are_given_in_does_not_matter(
    history: tuple[Patient, list[AdministeredDose], date], shuffler: object
) -> None:
    patient, doses, assessment = history
    shuffled = list(doses)
    shuffler.shuffle(shuffled)  # type: ignore[attr-defined]
    assert forecast(patient, shuffled, assessment, SCHEDULE) == forecast(
        patient, doses, assessment, SCHEDULE
    )


@settings(max_examples=100, deadline=None, suppress_health_check=HEALTH)
@given(histories(), st.integers(min_value=1, max_value=3 * 365), st.sampled_from(COMMON_CVX))
def test_a_later_dose_never_changes_how_earlier_doses_were_evaluated(
    history: tuple[Patient, list[AdministeredDose], date], days_later: int, cvx: str
) -> None:
    """Within a patient series, evaluation moves forward in time only (CDSi chapter 6).

    Across series this is not a property of CDSi: a later dose can make another series the best
    one for the patient, and then the earlier doses are shown as that series judged them.
    """
    patient, doses, assessment = history
    last = max((d.date_administered for d in doses), default=patient.birth_date)
    extra = AdministeredDose(last + timedelta(days=days_later), cvx)
    later_assessment = max(assessment, extra.date_administered)
    before = organize(patient, tuple(doses), SCHEDULE)
    after = organize(patient, (*doses, extra), SCHEDULE)
    context_before = PatientContext(
        patient, later_assessment, before, SCHEDULE, conflicts_by_pair(SCHEDULE)
    )
    context_after = PatientContext(
        patient, later_assessment, after, SCHEDULE, conflicts_by_pair(SCHEDULE)
    )
    for antigen in SCHEDULE.antigens.values():
        earlier = before.by_antigen.get(antigen.name, ())
        with_extra = after.by_antigen.get(antigen.name, ())
        for series in antigen.series:
            old = evaluate_series(series, earlier, context_before).doses
            new = evaluate_series(series, with_extra, context_after).doses
            assert [(d.status, d.reasons, d.target_dose_number) for d in old] == [
                (d.status, d.reasons, d.target_dose_number) for d in new[: len(old)]
            ], series.name
