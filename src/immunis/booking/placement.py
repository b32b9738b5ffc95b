"""A new appointment's database work: the session and the person's record read, a place taken
in the session, a dose of each vaccine promised at the site, the usable stock read, and the
appointment's rows. Rows stay locked from the place taken to the end of the transaction.

It reports what it found and leaves the judging to the service (service.book), which refuses by
raising, and so rolls the whole transaction back: nothing is kept, and nothing read is shown,
unless every check passes. On PostgreSQL it is one statement: the registry's function
registry_person_record joined to the booking's booking_book (migrations 0010 and 0011), which
also writes the audit events waiting for the commit, so a booking's transaction is one round
trip and the commit, and the session's row is locked for the shortest time. On SQLite,
whose single writer needs no such care, the same steps run one statement at a time. Both take
locks in the order counters.py names: the session, then reservations by CVX.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    DateTime,
    Interval,
    Time,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from immunis.access.service import (
    APPEND_AUDIT_EVENTS_FROM_JSON,
    AUDIT_EVENTS,
    GRANT_ID,
    GRANT_REASON,
    GRANTED_BY,
    audit_events_json,
    grant_site_access_from,
    take_pending_audit_events,
)
from immunis.booking import counters, planning
from immunis.booking.lifecycle import HOLDING_DOSES, TAKING_A_PLACE, AppointmentStatus
from immunis.booking.models import Appointment, AppointmentVaccine, ClinicSession
from immunis.db import new_id
from immunis.registry import service as registry
from immunis.registry.service import PersonRecord
from immunis.supply import availability

# The reason a booking gives for the site's access to the record.
BOOKED = "booked an appointment"
_TAKING_A_PLACE = sorted(status.value for status in TAKING_A_PLACE)
_HOLDING_DOSES = sorted(status.value for status in HOLDING_DOSES)


@dataclass(frozen=True)
class NewAppointment:
    """The rows of an appointment about to be booked."""

    id: str
    person_id: str
    session_id: str
    slot_start: time
    vaccines: tuple[str, ...]  # CVX codes, sorted: the order reservations are locked in
    schedule_id: str
    booked_by: str
    booked_at: datetime  # UTC
    rescheduled_from: str | None = None
    # Booked by someone who does not work at the site (a citizen): the site may then see the
    # person's record until the day after the appointment (booking.service._booked).
    grants_site_access: bool = False


@dataclass(frozen=True)
class SessionFacts:
    """A clinic session as a booking reads it, before taking a place in it."""

    id: str
    site_id: str
    day: date
    start_time: time
    end_time: time
    slot_minutes: int
    capacity: int
    vaccines: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class SessionRead:
    """The session, the vaccines its site offers now, and the first of the vaccines asked for
    that the person already holds an active appointment for (other than one being moved)."""

    clinic: SessionFacts
    offered: frozenset[str]
    clash: str | None


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


@dataclass(frozen=True)
class Intake:
    """What booking `NewAppointment` found: no session (nothing read or written besides), or the
    session and no record (nothing written), or both and the placement."""

    session: SessionRead | None
    record: PersonRecord | None
    placement: Placement | None
    granted: bool = False  # the site's access to the record written too (PostgreSQL)


# --- Reading a session -------------------------------------------------------------------------

_SESSION_FOR_BOOKING = select(
    ClinicSession.id,
    ClinicSession.site_id,
    ClinicSession.day,
    ClinicSession.start_time,
    ClinicSession.end_time,
    ClinicSession.slot_minutes,
    ClinicSession.capacity,
    ClinicSession.vaccines,
    ClinicSession.status,
    planning.offered_cvx_subquery(ClinicSession.site_id).label("offered"),
    select(AppointmentVaccine.cvx)
    .join(Appointment, Appointment.id == AppointmentVaccine.appointment_id)
    .where(
        Appointment.person_id == bindparam("person_id"),
        Appointment.id != bindparam("moving"),
        Appointment.status.in_(_HOLDING_DOSES),
        AppointmentVaccine.cvx.in_(bindparam("vaccines", expanding=True)),
    )
    .order_by(AppointmentVaccine.cvx)
    .limit(1)
    .scalar_subquery()
    .label("clash"),
).where(ClinicSession.id == bindparam("session_id"))


def _session_facts(session_id: str, row: Any) -> SessionFacts:
    """The session's columns from either database's row."""
    return SessionFacts(
        id=session_id,
        site_id=row.site_id,
        day=row.day,
        start_time=row.start_time,
        end_time=row.end_time,
        slot_minutes=row.slot_minutes,
        capacity=row.capacity,
        vaccines=tuple(row.vaccines),
        status=row.status,
    )


def read_session(
    session: Session,
    session_id: str,
    person_id: str,
    vaccines: tuple[str, ...],
    moving: str | None = None,
) -> SessionRead | None:
    """The session to book in, what its site offers and the person's clash, in one query (None
    when there is no such session)."""
    row = session.execute(
        _SESSION_FOR_BOOKING,
        {
            "session_id": session_id,
            "person_id": person_id,
            "moving": moving or "",
            "vaccines": list(vaccines),
        },
    ).one_or_none()
    if row is None:
        return None
    offered = frozenset((row.offered or "").split())
    return SessionRead(_session_facts(session_id, row), offered, row.clash)


# --- Taking a place and writing the rows -------------------------------------------------------


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


def _place(session: Session, new: NewAppointment, clinic: SessionFacts) -> Placement:
    place_taken = take_place(session, new.session_id, new.slot_start)
    if not place_taken.took:
        return Placement(place_taken, {}, {})
    promised = {
        cvx: counters.change_reservation(session, clinic.site_id, cvx, 1) for cvx in new.vaccines
    }
    usable = availability.usable_doses_by_cvx(
        session, clinic.site_id, list(new.vaccines), clinic.day
    )
    insert_appointment(session, new)
    return Placement(place_taken, promised, usable)


# --- The whole intake --------------------------------------------------------------------------


def intake(session: Session, new: NewAppointment) -> Intake:
    """Read the session and the person's record, then, when both exist, take a place and a dose
    of each vaccine for `new` and write its rows. The caller judges, and raises to undo it."""
    if session.get_bind().dialect.name == "postgresql":
        return _intake_in_postgresql(session, new)
    read = read_session(session, new.session_id, new.person_id, new.vaccines)
    if read is None:
        return Intake(None, None, None)
    record = registry.person_record(session, new.person_id)
    if record is None:
        return Intake(read, None, None)
    return Intake(read, record, _place(session, new, read.clinic))


_TEXTS = ARRAY(Text)
# The registry's record, and the booking's work for the person only when there is one (the
# lateral join passes the record's person id on, so booking_book runs after it, once or never).
_RECORD = registry.person_record_function(
    bindparam("person_id", type_=Text), bindparam("now", type_=DateTime(timezone=True))
)
_BOOKING = (
    func.booking_book(
        bindparam("id", type_=Text),
        _RECORD.c.person_id,
        bindparam("session_id", type_=Text),
        bindparam("slot_start", type_=Time),
        bindparam("vaccines", type_=_TEXTS),
        bindparam("schedule_id", type_=Text),
        bindparam("booked_by", type_=Text),
        bindparam("booked_at", type_=DateTime(timezone=True)),
        literal(AppointmentStatus.BOOKED.value, Text),
        literal(_TAKING_A_PLACE, _TEXTS),
        literal(_HOLDING_DOSES, _TEXTS),
    )
    .table_valued(
        "site_id",
        "day",
        "start_time",
        "end_time",
        "slot_minutes",
        "capacity",
        "vaccines",
        "status",
        "offered",
        "clash",
        "took",
        "capacity_now",
        "status_now",
        "slot_taken",
        "promised",
        "usable",
    )
    .lateral()
)
_LOGGED = APPEND_AUDIT_EVENTS_FROM_JSON.cte("logged")
# The audit events waiting for the commit ride along (access.service says how), so that the
# transaction is this statement and the commit.
_INTAKE = (
    select(*_RECORD.c, *_BOOKING.c)
    .select_from(_RECORD.outerjoin(_BOOKING, true()))
    .add_cte(_LOGGED)
)
# A citizen's booking also lets the site see the record until midnight two days after the
# session's day, at the sites' UTC offset at the moment of booking (Viet Nam keeps one offset all
# year; where clocks change, such a grant may end an hour early or late): the same statement,
# its rows as a CTE that the grant's insert reads the site and the day from.
_INTAKE_ROWS = _INTAKE.cte("intake")
_GRANT_ROWS = (
    select(
        _INTAKE_ROWS.c.person_id,
        _INTAKE_ROWS.c.site_id,
        func.timezone(
            "UTC",
            cast(_INTAKE_ROWS.c.day + 2, DateTime) - bindparam("local_offset", type_=Interval),
        ).label("expires_at"),
    )
    .where(_INTAKE_ROWS.c.took)
    .subquery()
)
_INTAKE_GRANTING = select(_INTAKE_ROWS).add_cte(grant_site_access_from(_GRANT_ROWS).cte("granted"))


def _grant_params(new: NewAppointment) -> dict[str, Any]:
    if not new.grants_site_access:
        return {}
    return {
        "local_offset": datetime.now().astimezone().utcoffset(),
        GRANT_ID: new_id(),
        GRANTED_BY: new.booked_by,
        GRANT_REASON: BOOKED,
    }


def _intake_in_postgresql(session: Session, new: NewAppointment) -> Intake:
    params = {
        "id": new.id,
        "person_id": new.person_id,
        "session_id": new.session_id,
        "slot_start": new.slot_start,
        "vaccines": list(new.vaccines),
        "schedule_id": new.schedule_id,
        "booked_by": new.booked_by,
        "booked_at": new.booked_at,
        "now": datetime.now(UTC),  # access grants in force, as registry.person_record asks
        AUDIT_EVENTS: audit_events_json(take_pending_audit_events(session)),
        **_grant_params(new),
    }
    statement = _INTAKE_GRANTING if new.grants_site_access else _INTAKE
    row = session.execute(statement, params).one_or_none()
    if row is None:  # no such person: nothing was written; is there such a session?
        read = read_session(session, new.session_id, new.person_id, new.vaccines)
        return Intake(read, None, None)
    record = registry.person_record_from_row(session, row)
    if row.site_id is None:  # no such session
        return Intake(None, record, None)
    read = SessionRead(
        _session_facts(new.session_id, row),
        frozenset(row.offered),
        row.clash[0] if row.clash else None,
    )
    place_taken = PlaceTaken(row.took, row.status_now, row.capacity_now, row.slot_taken)
    if not place_taken.took:
        return Intake(read, record, Placement(place_taken, {}, {}))
    placement = Placement(
        place_taken,
        dict(zip(new.vaccines, row.promised, strict=True)),
        dict(zip(new.vaccines, row.usable, strict=True)),
    )
    return Intake(read, record, placement, granted=new.grants_site_access)
