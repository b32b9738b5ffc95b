"""The engine's entry point: inputs it refuses, inputs it reports, and a few whole forecasts."""

from __future__ import annotations

from datetime import date

import pytest

from immunis.forecast import (
    AdministeredDose,
    DoseCondition,
    EvaluationStatus,
    ForecastInputError,
    Gender,
    Patient,
    PatientObservation,
    SeriesStatus,
    forecast,
)
from immunis.schedule.model import Schedule

BABY = Patient(date(2025, 1, 10), Gender.FEMALE)


def test_a_newborn_is_due_hepb_now_and_dtap_at_two_months(us_schedule: Schedule) -> None:
    answer = forecast(BABY, [], date(2025, 1, 10), us_schedule)
    hepb = answer.vaccine_groups["HepB"].next_dose
    dtap = answer.vaccine_groups["DTaP/Tdap/Td"].next_dose
    assert hepb is not None and hepb.earliest == date(2025, 1, 10)
    assert dtap is not None
    assert (dtap.dose_number, dtap.earliest, dtap.recommended) == (
        1,
        date(2025, 2, 21),
        date(2025, 3, 10),
    )


def test_a_dose_before_birth_is_an_input_error(us_schedule: Schedule) -> None:
    with pytest.raises(ForecastInputError, match="before the date of birth"):
        forecast(BABY, [AdministeredDose(date(2025, 1, 9), "08")], date(2025, 6, 1), us_schedule)


def test_an_assessment_before_birth_is_an_input_error(us_schedule: Schedule) -> None:
    with pytest.raises(ForecastInputError, match="assessment date"):
        forecast(BABY, [], date(2024, 12, 31), us_schedule)


def test_an_unknown_vaccine_group_is_an_input_error(us_schedule: Schedule) -> None:
    with pytest.raises(ForecastInputError, match="unknown vaccine group"):
        forecast(BABY, [], date(2025, 6, 1), us_schedule, vaccine_groups=["Smallpox-ish"])


def test_an_unknown_cvx_is_reported_and_not_evaluated(us_schedule: Schedule) -> None:
    answer = forecast(
        BABY, [AdministeredDose(date(2025, 1, 11), "9999")], date(2025, 6, 1), us_schedule
    )
    assert answer.unknown_vaccines == ("9999",)
    assert all(not group.doses for group in answer.vaccine_groups.values())


def test_a_dose_after_the_assessment_date_is_not_counted(us_schedule: Schedule) -> None:
    later = AdministeredDose(date(2025, 7, 1), "08")
    answer = forecast(BABY, [later], date(2025, 6, 1), us_schedule)
    assert answer.vaccine_groups["HepB"].doses == ()
    assert answer.doses_after_assessment == (later,)


def test_a_sub_standard_dose_is_not_valid(us_schedule: Schedule) -> None:
    dose = AdministeredDose(date(2025, 1, 10), "08", condition=DoseCondition.SUB_STANDARD)
    answer = forecast(BABY, [dose], date(2025, 3, 1), us_schedule)
    (evaluated,) = answer.vaccine_groups["HepB"].doses
    assert evaluated.status is EvaluationStatus.NOT_VALID
    assert answer.vaccine_groups["HepB"].next_dose is not None
    assert answer.vaccine_groups["HepB"].next_dose.dose_number == 1


def test_a_valid_dose_moves_the_series_on(us_schedule: Schedule) -> None:
    answer = forecast(
        BABY, [AdministeredDose(date(2025, 1, 10), "08")], date(2025, 3, 1), us_schedule
    )
    hepb = answer.vaccine_groups["HepB"]
    assert [d.status for d in hepb.doses] == [EvaluationStatus.VALID]
    assert hepb.next_dose is not None and hepb.next_dose.dose_number == 2
    assert hepb.next_dose.earliest == date(2025, 2, 7)  # 4 weeks after dose 1


def test_an_adult_born_before_1957_is_immune_to_measles(us_schedule: Schedule) -> None:
    answer = forecast(Patient(date(1950, 5, 1)), [], date(2025, 6, 1), us_schedule)
    assert answer.vaccine_groups["MMR"].status is SeriesStatus.IMMUNE


def test_a_contraindication_observation_stops_the_vaccine_group(us_schedule: Schedule) -> None:
    # 098: severe allergic reaction after a previous dose of Hib.
    patient = Patient(
        date(2025, 1, 10), Gender.MALE, (PatientObservation("098", date(2025, 3, 1)),)
    )
    answer = forecast(patient, [], date(2025, 6, 1), us_schedule)
    assert answer.vaccine_groups["Hib"].status is SeriesStatus.CONTRAINDICATED
    assert answer.vaccine_groups["Hib"].next_dose is None
    assert answer.vaccine_groups["HepB"].status is SeriesStatus.NOT_COMPLETE
