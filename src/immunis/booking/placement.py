"""A new appointment's writes: a place taken in its session, a dose of each vaccine promised at
the site, and its rows. This is the booking's critical section, where rows stay locked until
the transaction ends, so it is kept short.

It reports what it found (was there a place, how full the slot was, how many doses are now
promised, how many the site may give) and leaves the judging to the service, which refuses by
raising, and so rolls the whole transaction back. On PostgreSQL the writes are one call to the
function `booking_place` (migration 0010), one round trip that holds the session's row lock for
the shortest time; on SQLite, whose single writer needs no such care, they are the same steps
one statement at a time. Both take locks in the order counters.py names: the session, then
reservations by CVX.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import DateTime, Time, bindparam, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from immunis.booking import counters
from immunis.booking.lifecycle import TAKING_A_PLACE, AppointmentStatus
from immunis.booking.models import Appointment, AppointmentVaccine, ClinicSession
from immunis.supply import availability

_TAKING_A_PLACE = sorted(status.value for status in TAKING_A_PLACE)


@dataclass(frozen=True)
class NewAppointment:
    """The rows of an appointment about to be booked."""

    id: str
    person_id: str
    session_id: str
    site_id: str
    slot_start: time
    vaccines: tuple[str, ...]  # CVX codes, sorted: the order reservations are locked in
    schedule_id: str
    booked_by: str
    booked_at: datetime  # UTC
    rescheduled_from: str | None = None


@dataclass(frozen=True)
class PlaceTaken:
    """What taking a place in a session found: whether there was one, the session's status and
    capacity then, and the people already in the slot (counted under the session's lock)."""

    took: bool
    session_status: str
    capacity: int
    slot_taken: int


@dataclass(frozen=True)
class Placement:
    """A place taken (or not); when it was, the doses of each vaccine now promised at the site
    (this appointment's included) and the site's usable doses on the session's day, read after
    the promises were written, and the appointment's rows."""

    place: PlaceTaken
    promised: dict[str, int]
    usable: dict[str, int]


def take_place(session: Session, session_id: str, slot_start: time) -> PlaceTaken:
    """One more person in the session if it is open and not full (counters.take_place), and the
    people already in the slot, counted while the session's row is locked."""
    capacity = counters.take_place(session, session_id)
    if capacity is None:
        status, capacity = session.execute(
            select(ClinicSession.status, ClinicSession.capacity).where(
                ClinicSession.id == session_id
            )
        ).one()
        return PlaceTaken(False, status, capacity, 0)
    taken = session.scalar(
        select(func.count()).where(
            Appointment.session_id == session_id,
            Appointment.slot_start == slot_start,
            Appointment.status.in_(_TAKING_A_PLACE),
        )
    )
    return PlaceTaken(True, "open", capacity, taken or 0)


def insert_appointment(session: Session, new: NewAppointment) -> None:
    """The appointment's rows, booked."""
    session.execute(
        insert(Appointment.__table__).values(
            id=new.id,
            person_id=new.person_id,
            session_id=new.session_id,
            slot_start=new.slot_start,
            status=AppointmentStatus.BOOKED.value,
            schedule_id=new.schedule_id,
            booked_by=new.booked_by,
            rescheduled_from_id=new.rescheduled_from,
            booked_at=new.booked_at,
            updated_at=new.booked_at,
        )
    )
    session.execute(
        insert(AppointmentVaccine.__table__),
        [{"appointment_id": new.id, "cvx": cvx} for cvx in new.vaccines],
    )


def place(session: Session, new: NewAppointment, day: date) -> Placement:
    """Take a place in the session (on `day`) and a dose of each vaccine for `new`, and write its
    rows when there was a place. The caller judges the report and raises to undo it all."""
    if session.get_bind().dialect.name == "postgresql":
        return _place_in_postgresql(session, new)
    place_taken = take_place(session, new.session_id, new.slot_start)
    if not place_taken.took:
        return Placement(place_taken, {}, {})
    promised = {
        cvx: counters.change_reservation(session, new.site_id, cvx, 1) for cvx in new.vaccines
    }
    usable = availability.usable_doses_by_cvx(session, new.site_id, list(new.vaccines), day)
    insert_appointment(session, new)
    return Placement(place_taken, promised, usable)


# The call to `booking_place`, built once: it runs on every booking.
_TEXTS = ARRAY(Text)
_BOOKING_PLACE = func.booking_place(
    bindparam("id", type_=Text),
    bindparam("person_id", type_=Text),
    bindparam("session_id", type_=Text),
    bindparam("slot_start", type_=Time),
    bindparam("site_id", type_=Text),
    bindparam("vaccines", type_=_TEXTS),
    bindparam("schedule_id", type_=Text),
    bindparam("booked_by", type_=Text),
    bindparam("booked_at", type_=DateTime(timezone=True)),
    bindparam("rescheduled_from", type_=Text),
    literal(AppointmentStatus.BOOKED.value, Text),
    literal(_TAKING_A_PLACE, _TEXTS),
).table_valued("took", "session_status", "capacity", "slot_taken", "promised", "usable")
_CALL_BOOKING_PLACE = select(*_BOOKING_PLACE.c)


def _place_in_postgresql(session: Session, new: NewAppointment) -> Placement:
    row = session.execute(
        _CALL_BOOKING_PLACE,
        {
            "id": new.id,
            "person_id": new.person_id,
            "session_id": new.session_id,
            "slot_start": new.slot_start,
            "site_id": new.site_id,
            "vaccines": list(new.vaccines),
            "schedule_id": new.schedule_id,
            "booked_by": new.booked_by,
            "booked_at": new.booked_at,
            "rescheduled_from": new.rescheduled_from,
        },
    ).one()
    place_taken = PlaceTaken(row.took, row.session_status, row.capacity, row.slot_taken)
    if not place_taken.took:
        return Placement(place_taken, {}, {})
    return Placement(
        place_taken,
        dict(zip(new.vaccines, row.promised, strict=True)),
        dict(zip(new.vaccines, row.usable, strict=True)),
    )
