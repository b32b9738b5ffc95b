"""The pure rules of booking: slots, vial filling, the appointment's life, and whether the
forecast lets a vaccine be booked."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from immunis.booking.eligibility import refusal, vaccine_groups
from immunis.booking.lifecycle import AppointmentStatus, transition_refusal
from immunis.booking.slots import places_per_slot, slot_starts, spare_vial_doses, within
from immunis.forecast import AdministeredDose, Patient, forecast
from immunis.schedule.catalog import load_schedule

VN = load_schedule("vn")
BORN = date(2025, 1, 6)


def test_a_session_is_cut_into_whole_slots() -> None:
    assert slot_starts(time(8), time(9, 40), 30) == [time(8), time(8, 30), time(9)]
    assert slot_starts(time(8), time(8, 20), 30) == []


def test_places_are_shared_over_the_slots_rounded_up() -> None:
    assert places_per_slot(12, 6) == 2
    assert places_per_slot(13, 6) == 3
    assert places_per_slot(5, 0) == 0


def test_a_session_must_lie_inside_one_stretch_of_opening_hours() -> None:
    morning_and_afternoon = [(time(7), time(11, 30)), (time(13, 30), time(17))]
    assert within(time(8), time(11), morning_and_afternoon)
    assert not within(time(11), time(14), morning_and_afternoon)


@pytest.mark.parametrize(
    ("pending", "per_vial", "opened", "spare"),
    [
        (0, 10, 0, 0),  # nothing booked: the first booking opens a vial
        (1, 10, 0, 9),  # one booked: its vial has nine doses for others
        (10, 10, 0, 0),  # a whole vial booked
        (11, 10, 0, 9),
        (3, 1, 0, 0),  # single-dose vials never leave doses over
        (0, 10, 7, 7),  # an opened vial with seven doses, nobody booked yet
        (7, 10, 7, 0),
        (8, 10, 7, 9),  # the opened vial's seven, then a new vial for the eighth
    ],
)
def test_doses_left_in_the_vials_a_session_will_have_open(
    pending: int, per_vial: int, opened: int, spare: int
) -> None:
    assert spare_vial_doses(pending, per_vial, opened) == spare


def test_an_appointment_moves_only_forward() -> None:
    booked, checked_in = AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN
    assert transition_refusal(booked, checked_in) is None
    assert transition_refusal(checked_in, AppointmentStatus.COMPLETED) is None
    assert transition_refusal(booked, AppointmentStatus.COMPLETED) == (
        "a booked appointment cannot be completed (only a checked_in one)"
    )
    assert transition_refusal(AppointmentStatus.CANCELLED, AppointmentStatus.CANCELLED) == (
        "the appointment is already cancelled"
    )
    assert transition_refusal(checked_in, AppointmentStatus.NO_SHOW) is not None


def test_a_combination_vaccine_counts_for_each_of_its_groups() -> None:
    assert set(vaccine_groups(VN, "198")) == {"DTP", "HepB", "Hib"}
    assert vaccine_groups(VN, "999999") == []


def _why_not(cvx: str, day: date, doses: tuple[tuple[date, str], ...] = ()) -> str | None:
    history = [AdministeredDose(given, code) for given, code in doses]
    return refusal(cvx, day, forecast(Patient(BORN), history, day, VN), VN)


def test_a_dose_that_is_due_may_be_booked() -> None:
    assert _why_not("19", BORN + timedelta(days=10)) is None


def test_a_dose_before_its_earliest_date_is_refused_with_that_date() -> None:
    why = _why_not("5", BORN + timedelta(days=70))
    assert why is not None
    assert why.startswith(
        "CVX 5 (measles): not due yet on 2025-03-17; the earliest date is 2025-10"
    )


def test_a_completed_series_is_refused() -> None:
    day = BORN + timedelta(days=70)
    assert _why_not("19", day, ((BORN, "19"),)) == "CVX 19 (BCG): the BCG series is complete"


def test_a_services_vaccine_the_schedule_does_not_recommend_may_be_chosen() -> None:
    assert _why_not("18", BORN + timedelta(days=70)) is None  # rabies, before any exposure
    assert _why_not("999999", BORN + timedelta(days=70)) is None  # unknown to the schedule
