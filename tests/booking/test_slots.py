"""Free slots: places left per slot, and "fill an opened vial first": slots in sessions where a
multi-dose vial is open, or will be opened by earlier bookings, and still has doses come first."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from immunis.booking import service
from immunis.booking.schemas import SlotOut
from tests.booking.conftest import BCG, HEPB, NOW, TODAY, TOMORROW, BookingWorld


def _slots(booking: BookingWorld, vaccine: str, now: datetime = NOW) -> list[SlotOut]:
    return booking.as_(  # type: ignore[no-any-return]
        "citizen", service.list_slots, booking.station, TODAY, TOMORROW, [vaccine], now
    )


def _order(slots: list[SlotOut]) -> list[tuple[str, str, bool]]:
    """(day, start, fills a vial) of each slot, in the order listed."""
    day = {TODAY: "today", TOMORROW: "tomorrow"}
    return [(day[s.day], f"{s.start:%H:%M}", s.fills_open_vial) for s in slots]


def test_each_slot_shows_its_places_left(booking: BookingWorld) -> None:
    booking.stock("HB1001", 20)
    clinic = booking.plan(end="09:00", capacity=4)
    booking.book(booking.baby("An"), clinic, at="08:30")
    slots = _slots(booking, HEPB)
    assert [(f"{s.start:%H:%M}", s.places_left) for s in slots] == [("08:00", 2), ("08:30", 1)]


def test_a_session_whose_bookings_opened_a_vial_is_listed_first(booking: BookingWorld) -> None:
    booking.stock("BCG2001", 100, cvx=BCG, doses_per_vial=10, hours=6)
    booking.stock("HB1001", 100)
    booking.plan(end="09:00", capacity=10)
    afternoon = booking.plan(start="13:00", end="14:00", capacity=20)
    assert _order(_slots(booking, BCG))[0] == ("tomorrow", "08:00", False)

    booking.book(booking.baby("An"), afternoon, at="13:00", vaccines=(BCG,))

    assert _order(_slots(booking, BCG)) == [
        ("tomorrow", "13:00", True),
        ("tomorrow", "13:30", True),
        ("tomorrow", "08:00", False),
        ("tomorrow", "08:30", False),
    ]
    # Single-dose hepatitis B vials: nothing to fill, the day's order stands.
    assert _order(_slots(booking, HEPB))[0] == ("tomorrow", "08:00", False)


def test_once_the_vial_is_fully_booked_the_order_is_by_time_again(booking: BookingWorld) -> None:
    booking.stock("BCG2001", 100, cvx=BCG, doses_per_vial=10, hours=6)
    booking.plan(end="09:00", capacity=10)
    afternoon = booking.plan(start="13:00", end="14:00", capacity=20)
    for number in range(10):
        at = ("13:00", "13:30")[number % 2]
        booking.book(booking.baby(f"Bé {number}"), afternoon, at=at, vaccines=(BCG,))
    assert _order(_slots(booking, BCG)) == [
        ("tomorrow", "08:00", False),
        ("tomorrow", "08:30", False),
        ("tomorrow", "13:00", False),
        ("tomorrow", "13:30", False),
    ]


def test_a_vial_opened_today_puts_todays_session_first(booking: BookingWorld) -> None:
    booking.stock("BCG2001", 100, cvx=BCG, doses_per_vial=10, hours=6)
    booking.plan(day=TOMORROW, end="09:00", capacity=10)
    booking.plan(day=TODAY, start="09:00", end="10:00", capacity=10)
    booking.book(
        booking.baby("An"),
        booking.plan(day=TOMORROW, start="13:00", end="13:30"),
        at="13:00",
        vaccines=(BCG,),
    )
    assert _order(_slots(booking, BCG))[0] == ("tomorrow", "13:00", True)

    booking.supply.give(booking.baby("Bình"), "BCG2001", cvx=BCG, at=NOW)  # opens a vial at 07:00

    assert [(day, start) for day, start, fills in _order(_slots(booking, BCG)) if fills] == [
        ("today", "09:00"),
        ("today", "09:30"),
        ("tomorrow", "13:00"),
    ]
    # The vial's six hours are up by 13:00: then today's session fills nothing.
    late = datetime.combine(TODAY, time(7)).astimezone() + timedelta(hours=6)
    assert _order(_slots(booking, BCG, now=late))[0][0] == "tomorrow"


def test_slots_that_are_over_are_not_offered(booking: BookingWorld) -> None:
    booking.stock("HB1001", 20)
    booking.plan(day=TODAY, start="08:00", end="09:00", capacity=4)
    half_past_eight = datetime.combine(TODAY, time(8, 30)).astimezone()
    assert _order(_slots(booking, HEPB, now=half_past_eight)) == [("today", "08:30", False)]
