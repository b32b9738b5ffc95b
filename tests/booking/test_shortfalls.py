"""Stock that no longer covers the doses promised to a site's booked appointments (a dose given
without an appointment, wastage, a lot held back since): which appointments are left without a
dose. On both databases."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from immunis.booking import service
from immunis.booking.service import _covered
from immunis.errors import Forbidden
from immunis.supply import service as supply
from immunis.supply.release import ReleaseStatus
from tests.booking.conftest import HEPB, TODAY, BookingWorld

DAY_1 = date(2027, 3, 1)
DAY_2 = DAY_1 + timedelta(days=1)


def _at(day: date, count: int) -> list[tuple[str, date, time]]:
    return [(f"{day}-{n}", day, time(8)) for n in range(count)]


def test_each_appointment_gets_the_doses_usable_on_its_day_first_come_first_served() -> None:
    # Three doses usable on day 1, one of them also on day 2: two people on each day.
    assert _covered(_at(DAY_1, 2) + _at(DAY_2, 2), {DAY_1: 3, DAY_2: 1}) == [
        True,
        True,
        True,
        False,
    ]
    # The dose that expires goes to day 1, the one that keeps to day 2: both are served,
    # though the second person is second in line and day 2 has one dose.
    assert _covered(_at(DAY_1, 1) + _at(DAY_2, 1), {DAY_1: 2, DAY_2: 1}) == [True, True]
    assert _covered(_at(DAY_1, 3), {DAY_1: 1}) == [True, False, False]
    assert _covered([], {}) == []


def _shortfalls(booking: BookingWorld) -> list[tuple[str, int, int, list[str]]]:
    found = booking.as_("vaccinator", service.stock_shortfalls, booking.station, TODAY)
    return [
        (
            short.cvx,
            short.promised,
            short.usable_today,
            [a.appointment_id for a in short.not_covered],
        )
        for short in found
    ]


def test_a_dose_given_without_an_appointment_leaves_the_last_booked_without_one(
    booking: BookingWorld,
) -> None:
    booking.stock("HB1001", 3)
    clinic = booking.plan()
    booking.book(booking.baby("An"), clinic, at="08:00")
    booking.book(booking.baby("Bình"), clinic, at="08:30")
    last = booking.book(booking.baby("Châu"), clinic, at="09:00")
    assert _shortfalls(booking) == []  # the bookings took what the stock had, no more

    booking.supply.give(booking.baby("Dũng"), "HB1001")  # a walk-in, from the same shelf
    assert _shortfalls(booking) == [(HEPB, 3, 2, [last.id])]

    booking.supply.receive("station", booking.stock("HB1002", 0), 5)  # more stock arrives
    assert _shortfalls(booking) == []


def test_a_lot_held_back_after_the_bookings_leaves_them_without_a_dose(
    booking: BookingWorld,
) -> None:
    lot_id = booking.stock("HB1001", 2)
    clinic = booking.plan()
    booked = [
        booking.book(booking.baby(name), clinic, at=at)
        for name, at in (("An", "08:00"), ("Bình", "08:30"))
    ]
    booking.supply.run(
        supply.set_release_status,
        booking.supply.actor("lab"),
        lot_id,
        ReleaseStatus.QUARANTINED,
        "test: cold chain break",
    )
    assert _shortfalls(booking) == [(HEPB, 2, 0, [b.id for b in booked])]


def test_only_the_site_staff_see_its_shortfalls(booking: BookingWorld) -> None:
    with pytest.raises(Forbidden):
        booking.as_("citizen", service.stock_shortfalls, booking.station, TODAY)
    answer = booking.world.client.get(
        f"/api/booking/sites/{booking.station}/stock-shortfalls",
        headers=booking.world.headers("vaccinator"),
    )
    assert answer.status_code == 200 and answer.json() == []
    refused = booking.world.client.get(
        f"/api/booking/sites/{booking.station}/stock-shortfalls",
        headers=booking.world.headers("citizen"),
    )
    assert refused.status_code == 403
