"""Due soon or late: the boundaries of the window, the past-due date and the look-back."""

from __future__ import annotations

from datetime import date, timedelta

from immunis.forecast import AdministeredDose, Gender, Patient, forecast
from immunis.outreach.due import DueWindow, ReminderKind, classify, due_doses
from immunis.schedule.catalog import load_schedule

ON = date(2026, 3, 2)
WINDOW = DueWindow(ON, window_days=30, lookback_days=365)


def test_a_dose_recommended_within_the_window_is_due_soon() -> None:
    assert classify(ON + timedelta(days=30), None, WINDOW) is ReminderKind.DUE_SOON
    assert classify(ON + timedelta(days=31), None, WINDOW) is None


def test_a_dose_already_due_but_not_late_is_still_due_soon() -> None:
    assert classify(ON - timedelta(days=10), ON, WINDOW) is ReminderKind.DUE_SOON


def test_a_dose_is_late_the_day_after_its_past_due_date() -> None:
    past_due = ON - timedelta(days=1)
    assert classify(ON - timedelta(days=30), past_due, WINDOW) is ReminderKind.OVERDUE
    assert classify(ON - timedelta(days=30), ON, WINDOW) is ReminderKind.DUE_SOON


def test_gaps_older_than_the_look_back_are_left_out() -> None:
    long_ago = ON - timedelta(days=366)
    assert classify(long_ago - timedelta(days=30), long_ago, WINDOW) is None
    assert classify(long_ago, None, WINDOW) is None
    assert classify(ON - timedelta(days=365), None, WINDOW) is ReminderKind.DUE_SOON


def test_a_newborns_forecast_gives_the_two_month_doses_due_soon() -> None:
    born = date(2026, 1, 10)
    doses = [AdministeredDose(born, "08"), AdministeredDose(date(2026, 1, 12), "19")]
    answer = forecast(Patient(born, Gender.MALE, ()), doses, ON, load_schedule("vn"))
    due = {d.vaccine_group: d for d in due_doses(answer, DueWindow(ON, 30))}
    assert {"DTP", "HepB", "Hib", "Polio", "Rotavirus", "Pneumococcal"} == set(due)
    assert due["HepB"].dose_number == 2 and due["DTP"].dose_number == 1
    assert due["DTP"].recommended == date(2026, 3, 10)
    assert due["DTP"].series_name is not None and "(TCMR)" in due["DTP"].series_name
    assert {d.kind for d in due.values()} == {ReminderKind.DUE_SOON}
