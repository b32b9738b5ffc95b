"""The booking room's use cases for people: free slots, and appointments booked, checked in,
completed with the doses given, cancelled, rescheduled or missed. (Planning the sessions is in
planning.py.)

Each function runs inside the caller's transaction and checks the actor's right to act; changes
and reads of people's appointments go to the audit log. Capacity and stock are never
overbooked: see counters.py. `now` is passed in, aware; days and times are the sites' wall clock
(clock.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from immunis.access.policy import Actor
from immunis.access.service import audit, grant_site_access_until
from immunis.booking import counters, eligibility, placement, planning, policy
from immunis.booking.clock import local_day, wall_clock
from immunis.booking.lifecycle import (
    HOLDING_DOSES,
    PREVIOUS_STATUSES,
    TAKING_A_PLACE,
    AppointmentStatus,
    transition_refusal,
)
from immunis.booking.models import Appointment, AppointmentVaccine, ClinicSession
from immunis.booking.placement import NewAppointment, PlaceTaken, SessionFacts, SessionRead
from immunis.booking.schemas import (
    AppointmentIn,
    AppointmentOut,
    DayListEntry,
    DoseGiven,
    DoseShort,
    DosesIn,
    RescheduleIn,
    SlotOut,
    StockShortfall,
)
from immunis.booking.slots import places_per_slot, slot_end, slot_starts, spare_vial_doses
from immunis.db import new_id
from immunis.errors import Conflict, Forbidden, InvalidInput, NotFound
from immunis.registry import service as registry
from immunis.registry import sites
from immunis.registry.schemas import Identifier, ImmunizationIn, PersonOut
from immunis.registry.service import PersonRecord
from immunis.schedule.catalog import SCHEDULE_IDS, load_schedule
from immunis.schedule.model import normalize_cvx
from immunis.settings import get_settings
from immunis.supply import availability
from immunis.supply import service as supply

# The identifier system of a dose recorded from an appointment: "<appointment id>/<CVX>".
APPOINTMENT_DOSE_SYSTEM = "urn:immunis:appointment-dose"
MAX_DAYS_LISTED = 31


def _vaccine_name(cvx: str) -> str:
    vaccine = load_schedule(get_settings().default_schedule).vaccine(cvx)
    return f"CVX {cvx} ({vaccine.short_description})" if vaccine else f"CVX {cvx}"


# --- Slots -----------------------------------------------------------------------------------


def _taken_by_slot(session: Session, session_ids: list[str]) -> dict[tuple[str, time], int]:
    rows = session.execute(
        select(Appointment.session_id, Appointment.slot_start, func.count())
        .where(
            Appointment.session_id.in_(session_ids),
            Appointment.status.in_([s.value for s in TAKING_A_PLACE]),
        )
        .group_by(Appointment.session_id, Appointment.slot_start)
    )
    return {(session_id, start): count for session_id, start, count in rows}


def _pending_doses(
    session: Session, session_ids: list[str], cvxs: list[str]
) -> dict[tuple[str, str], int]:
    """Doses still to be given in each session, by CVX: its booked and checked-in people's."""
    rows = session.execute(
        select(Appointment.session_id, AppointmentVaccine.cvx, func.count())
        .join(AppointmentVaccine, AppointmentVaccine.appointment_id == Appointment.id)
        .where(
            Appointment.session_id.in_(session_ids),
            Appointment.status.in_([s.value for s in HOLDING_DOSES]),
            AppointmentVaccine.cvx.in_(cvxs),
        )
        .group_by(Appointment.session_id, AppointmentVaccine.cvx)
    )
    return {(session_id, cvx): count for session_id, cvx, count in rows}


def list_slots(
    session: Session,
    actor: Actor,
    site_id: str,
    first_day: date,
    last_day: date,
    vaccines: list[str],
    now: datetime,
    *,
    include_full: bool = False,
) -> list[SlotOut]:
    """The slots of the site's sessions between two days that give all these vaccines, with the
    places left to book in each: bookable ones only, or every slot with `include_full` (a slot
    of a closed session, or over, has no place left). A session whose stock of one of the
    vaccines is all promised has no place left either. Slots in sessions where a vial that is
    open, or that earlier bookings will open, still has doses come first ("fill an opened vial
    first"), then by time. With no vaccine named, places are counted by capacity alone. Anyone
    signed in may ask."""
    sites.get_site(session, actor, site_id)
    wanted = sorted({normalize_cvx(cvx) for cvx in vaccines})
    if last_day < first_day:
        raise InvalidInput("the last day is before the first")
    if (last_day - first_day).days >= MAX_DAYS_LISTED:
        raise InvalidInput(f"ask for at most {MAX_DAYS_LISTED} days at a time")
    not_offered = sorted(set(wanted) - planning.offered_cvx(session, site_id))
    if not_offered:
        raise InvalidInput(f"the site does not offer CVX {', '.join(not_offered)}")
    today = local_day(now)
    query = select(ClinicSession).where(
        ClinicSession.site_id == site_id,
        ClinicSession.day >= first_day,
        ClinicSession.day <= last_day,
    )
    if not include_full:
        query = query.where(ClinicSession.day >= today, ClinicSession.status == "open")
    clinics = [
        clinic
        for clinic in session.scalars(
            query.order_by(ClinicSession.day, ClinicSession.start_time, ClinicSession.id)
        )
        if set(wanted) <= set(clinic.vaccines)
    ]
    ids = [clinic.id for clinic in clinics]
    taken = _taken_by_slot(session, ids)
    pending = _pending_doses(session, ids, wanted)
    promised = counters.reserved(session, site_id, wanted)
    usable: dict[tuple[date, str], int] = {}
    vial_size: dict[tuple[date, str], int] = {}
    for day in sorted({clinic.day for clinic in clinics}):
        for cvx in wanted:
            usable[day, cvx] = availability.usable_doses(session, site_id, cvx, day)
            vial_size[day, cvx] = availability.doses_per_vial(session, site_id, cvx, day)

    def fills_open_vial(clinic: ClinicSession, cvx: str) -> bool:
        opened = 0
        if clinic.day == today:
            at = max(now, wall_clock(clinic.day, clinic.start_time))
            opened = availability.opened_vial_doses(session, site_id, cvx, at)
        pending_doses = pending.get((clinic.id, cvx), 0)
        return spare_vial_doses(pending_doses, vial_size[clinic.day, cvx], opened) > 0

    listed = []
    for clinic in clinics:
        bookable = clinic.status == "open" and all(
            usable[clinic.day, cvx] > promised.get(cvx, 0) for cvx in wanted
        )
        starts = slot_starts(clinic.start_time, clinic.end_time, clinic.slot_minutes)
        per_slot = places_per_slot(clinic.capacity, len(starts))
        fills_vial = any(fills_open_vial(clinic, cvx) for cvx in wanted)
        for start in starts:
            end = slot_end(start, clinic.slot_minutes)
            left = min(per_slot - taken.get((clinic.id, start), 0), clinic.capacity - clinic.booked)
            if not bookable or wall_clock(clinic.day, end) <= now:
                left = 0
            if left > 0 or include_full:
                listed.append(
                    SlotOut(
                        session_id=clinic.id,
                        site_id=site_id,
                        day=clinic.day,
                        start=start,
                        end=end,
                        vaccines=list(clinic.vaccines),
                        places_left=max(left, 0),
                        fills_open_vial=fills_vial,
                    )
                )
    return sorted(listed, key=lambda slot: (not slot.fills_open_vial, slot.day, slot.start))


def get_slot(
    session: Session, actor: Actor, session_id: str, start: time, now: datetime
) -> SlotOut:
    """One slot of a session, with its places left by capacity (whatever the vaccine)."""
    clinic = planning.load_session(session, session_id)
    found = [
        slot
        for slot in list_slots(
            session, actor, clinic.site_id, clinic.day, clinic.day, [], now, include_full=True
        )
        if slot.session_id == clinic.id and slot.start == start
    ]
    if not found:
        raise NotFound(f"no slot starts at {start:%H:%M} in session {session_id}")
    return found[0]


# --- Appointments ----------------------------------------------------------------------------


def _outs(session: Session, appointments: Iterable[Appointment]) -> list[AppointmentOut]:
    appointments = list(appointments)
    ids = [a.id for a in appointments]
    doses: dict[str, list[AppointmentVaccine]] = defaultdict(list)
    for row in session.scalars(
        select(AppointmentVaccine)
        .where(AppointmentVaccine.appointment_id.in_(ids))
        .order_by(AppointmentVaccine.cvx)
    ):
        doses[row.appointment_id].append(row)
    clinics = {a.session_id: session.get(ClinicSession, a.session_id) for a in appointments}
    outs = []
    for appointment in appointments:
        clinic = clinics[appointment.session_id]
        assert clinic is not None  # a foreign key
        outs.append(
            AppointmentOut(
                id=appointment.id,
                person_id=appointment.person_id,
                session_id=clinic.id,
                site_id=clinic.site_id,
                day=clinic.day,
                slot_start=appointment.slot_start,
                slot_end=slot_end(appointment.slot_start, clinic.slot_minutes),
                vaccines=[row.cvx for row in doses[appointment.id]],
                status=AppointmentStatus(appointment.status),
                schedule=appointment.schedule_id,
                booked_by=appointment.booked_by,
                rescheduled_from=appointment.rescheduled_from_id,
                immunization_ids=[
                    row.immunization_id for row in doses[appointment.id] if row.immunization_id
                ],
                booked_at=appointment.booked_at,
                checked_in_at=appointment.checked_in_at,
                completed_at=appointment.completed_at,
                cancelled_at=appointment.cancelled_at,
            )
        )
    return outs


def _out(session: Session, appointment: Appointment) -> AppointmentOut:
    return _outs(session, [appointment])[0]


def _load(session: Session, appointment_id: str) -> tuple[Appointment, ClinicSession]:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound(f"no appointment {appointment_id}")
    return appointment, planning.load_session(session, appointment.session_id)


def _requested(session: Session, appointment: Appointment) -> list[str]:
    return list(
        session.scalars(
            select(AppointmentVaccine.cvx)
            .where(AppointmentVaccine.appointment_id == appointment.id)
            .order_by(AppointmentVaccine.cvx)
        )
    )


def _read_session(
    session: Session, session_id: str, person_id: str, vaccines: tuple[str, ...], moving: str
) -> SessionRead:
    read = placement.read_session(session, session_id, person_id, vaccines, moving)
    if read is None:
        raise NotFound(f"no clinic session {session_id}")
    return read


def _check_session(
    read: SessionRead, slot_start: time, vaccines: tuple[str, ...], schedule_id: str, now: datetime
) -> None:
    """Refuse, saying why, a booking the session cannot take whoever it is for: the session or
    slot is closed or over, or the vaccines are not given there."""
    clinic = read.clinic
    if clinic.status != "open":
        raise Conflict(
            f"the session on {clinic.day} at {clinic.start_time:%H:%M} is closed to bookings"
        )
    starts = slot_starts(clinic.start_time, clinic.end_time, clinic.slot_minutes)
    if slot_start not in starts:
        raise InvalidInput(
            f"no slot starts at {slot_start:%H:%M} in this session; they start at "
            + ", ".join(s.strftime("%H:%M") for s in starts)
        )
    if wall_clock(clinic.day, slot_end(slot_start, clinic.slot_minutes)) <= now:
        raise InvalidInput(f"the {slot_start:%H:%M} slot on {clinic.day} is over")
    not_here = sorted(set(vaccines) - set(clinic.vaccines))
    if not_here:
        raise InvalidInput(
            f"this session does not give CVX {', '.join(not_here)} "
            f"(it gives CVX {', '.join(clinic.vaccines)})"
        )
    withdrawn = sorted(set(vaccines) - read.offered)
    if withdrawn:
        raise InvalidInput(f"the site no longer offers CVX {', '.join(withdrawn)}")
    if schedule_id not in SCHEDULE_IDS:
        raise InvalidInput(f"unknown schedule {schedule_id!r}")


def _check_person(
    session: Session,
    actor: Actor,
    read: SessionRead,
    person_id: str,
    record: PersonRecord | None,
    vaccines: tuple[str, ...],
    schedule_id: str,
    *,
    audited: bool = False,
) -> None:
    """Refuse, saying why, a booking for this person: the actor may not act for them (the
    registry's check, which audits the read unless the caller has), their record was merged,
    they are booked for one of the vaccines already, or the forecast for the session's day says
    a dose is not due."""
    schedule = load_schedule(schedule_id)
    groups = sorted({g for cvx in vaccines for g in eligibility.vaccine_groups(schedule, cvx)})
    day = read.clinic.day
    found = registry.forecast_record(
        session, actor, person_id, record, day, schedule_id, groups, audited=audited
    )
    if not found.active:
        raise Conflict(f"person {person_id} was merged into {found.merged_into_id}")
    if read.clash is not None:
        _refuse_a_second_booking(session, person_id, read.clash)
    refusals = [
        why
        for why in (eligibility.refusal(cvx, day, found.forecast, schedule) for cvx in vaccines)
        if why
    ]
    if refusals:
        raise InvalidInput("; ".join(refusals))


def _refuse_a_second_booking(session: Session, person_id: str, cvx: str) -> None:
    """One active appointment per person and vaccine: another one is rescheduled, not doubled."""
    day = session.scalar(
        select(ClinicSession.day)
        .join(Appointment, Appointment.session_id == ClinicSession.id)
        .join(AppointmentVaccine, AppointmentVaccine.appointment_id == Appointment.id)
        .where(
            Appointment.person_id == person_id,
            Appointment.status.in_([s.value for s in HOLDING_DOSES]),
            AppointmentVaccine.cvx == cvx,
        )
    )
    raise Conflict(f"already booked for CVX {cvx} on {day}: reschedule that appointment")


def _refuse_unless_placed(clinic: SessionFacts, slot_start: time, taken: PlaceTaken) -> None:
    """Conflict when the session had no place left (or was closed meanwhile), or the slot is
    full: its share of the session's capacity is taken by the people already in it."""
    if not taken.took:
        if taken.session_status != "open":
            raise Conflict(f"the session on {clinic.day} was closed to bookings")
        raise Conflict(
            f"no place left in the session on {clinic.day} from {clinic.start_time:%H:%M}"
        )
    starts = slot_starts(clinic.start_time, clinic.end_time, clinic.slot_minutes)
    if taken.slot_taken >= places_per_slot(taken.capacity, len(starts)):
        raise Conflict(f"no place left in the {slot_start:%H:%M} slot on {clinic.day}")


def _refuse_beyond_stock(
    day: date, promised: dict[str, tuple[int, int]], usable: dict[str, int]
) -> None:
    """Conflict when the doses of a vaccine now promised at the site, `promised[cvx]` = (now,
    before this booking), exceed its usable doses on `day`. The promises were written before
    the stock was read, so their rows were locked and the stock read is the latest."""
    for cvx, (total, before) in sorted(promised.items()):
        if total > usable.get(cvx, 0):
            raise Conflict(
                f"{_vaccine_name(cvx)}: no dose left to book for {day} at this site "
                f"({usable.get(cvx, 0)} released, unexpired doses on hand, {before} already "
                "booked)"
            )


def _move_reservations(
    session: Session,
    add: Iterable[tuple[str, str]] = (),
    remove: Iterable[tuple[str, str]] = (),
) -> dict[str, tuple[int, int]]:
    """Reserve a dose of each (site, CVX) in `add`, and give back one of each in `remove`,
    locking each counter in one order. For each CVX added: the doses promised at its site now,
    and before (`_refuse_beyond_stock` judges them)."""
    adding, removing = set(add), set(remove)
    promised = {}
    for site_id, cvx in sorted(adding | removing):
        change = ((site_id, cvx) in adding) - ((site_id, cvx) in removing)
        total = counters.change_reservation(session, site_id, cvx, change)
        if (site_id, cvx) in adding:
            promised[cvx] = (total, total - change)
    return promised


def _audit_booked(session: Session, actor: Actor, new: NewAppointment) -> None:
    audit(
        session,
        actor,
        "create",
        "appointment",
        new.id,
        person_id=new.person_id,
        detail={
            "session_id": new.session_id,
            "slot_start": new.slot_start.isoformat(),
            "cvx": list(new.vaccines),
        },
    )


def _booked(
    session: Session,
    actor: Actor,
    clinic: SessionFacts,
    new: NewAppointment,
    *,
    granted: bool = False,
) -> AppointmentOut:
    """What follows a booking (its log is the caller's): a citizen's booking lets the site see
    the record until the day after the appointment, when no-shows and late records are done
    (unless the booking's statement `granted` it already)."""
    if new.grants_site_access and not granted:
        grant_site_access_until(
            session,
            actor,
            new.person_id,
            clinic.site_id,
            placement.BOOKED,
            wall_clock(clinic.day + timedelta(days=2), time()),
        )
    return AppointmentOut(
        id=new.id,
        person_id=new.person_id,
        session_id=clinic.id,
        site_id=clinic.site_id,
        day=clinic.day,
        slot_start=new.slot_start,
        slot_end=slot_end(new.slot_start, clinic.slot_minutes),
        vaccines=list(new.vaccines),
        status=AppointmentStatus.BOOKED,
        schedule=new.schedule_id,
        booked_by=new.booked_by,
        rescheduled_from=new.rescheduled_from,
        immunization_ids=[],
        booked_at=new.booked_at,
        checked_in_at=None,
        completed_at=None,
        cancelled_at=None,
    )


def book(session: Session, actor: Actor, data: AppointmentIn, now: datetime) -> AppointmentOut:
    """Book a slot for a person and the vaccines asked for: each must be due by the person's
    forecast for that day (or be a services vaccine the schedule does not recommend for them),
    the slot must have a place, and the site a usable dose not yet promised to anyone else.
    The database work comes first (placement.py), then every check in the order docs/booking.md
    gives; the first that fails refuses, and undoes the work."""
    new = NewAppointment(
        id=new_id(),
        person_id=data.person_id,
        session_id=data.session_id,
        slot_start=data.slot_start,
        vaccines=tuple(sorted(data.vaccines)),
        schedule_id=data.schedule or get_settings().default_schedule,
        booked_by=actor.user_id,
        booked_at=now.astimezone(UTC),
        grants_site_access=policy.grants_site_access(actor),
    )
    # The log of the booking, made first so that on PostgreSQL the booking's one statement
    # writes it with the appointment's rows (placement.py): the forecast read to check it, and
    # the appointment. Whatever refuses the booking below takes them back with the rest.
    audit(session, actor, "read", "forecast", person_id=new.person_id)
    _audit_booked(session, actor, new)
    found = placement.intake(session, new)
    if found.session is None:
        raise NotFound(f"no clinic session {data.session_id}")
    clinic = found.session.clinic
    if not policy.may_book_at(actor, clinic.site_id):
        raise policy.refusal(actor, "book", "appointment", clinic.id, "book at this site")
    _check_session(found.session, new.slot_start, new.vaccines, new.schedule_id, now)
    _check_person(
        session,
        actor,
        found.session,
        new.person_id,
        found.record,
        new.vaccines,
        new.schedule_id,
        audited=True,
    )
    assert found.placement is not None  # written whenever the session and the person exist
    _refuse_unless_placed(clinic, new.slot_start, found.placement.place)
    promised = {cvx: (total, total - 1) for cvx, total in found.placement.promised.items()}
    _refuse_beyond_stock(clinic.day, promised, found.placement.usable)
    return _booked(session, actor, clinic, new, granted=found.granted)


def _visible(session: Session, actor: Actor, appointment: Appointment, site_id: str) -> None:
    """Refuse unless the actor works at the appointment's site or may read the person's record
    (the registry's check, written to the audit log)."""
    if not policy.works_at(actor, site_id):
        registry.get_person(session, actor, appointment.person_id)


def get_appointment(session: Session, actor: Actor, appointment_id: str) -> AppointmentOut:
    """An appointment, for the site's staff and for whoever may read the person's record."""
    appointment, clinic = _load(session, appointment_id)
    _visible(session, actor, appointment, clinic.site_id)
    audit(session, actor, "read", "appointment", appointment.id, person_id=appointment.person_id)
    return _out(session, appointment)


def person_appointments(session: Session, actor: Actor, person_id: str) -> list[AppointmentOut]:
    """Every appointment of a person, the latest first."""
    registry.get_person(session, actor, person_id)
    rows = session.scalars(
        select(Appointment)
        .join(ClinicSession, ClinicSession.id == Appointment.session_id)
        .where(Appointment.person_id == person_id)
        .order_by(ClinicSession.day.desc(), Appointment.slot_start.desc(), Appointment.id)
    )
    audit(session, actor, "read", "appointment", person_id=person_id)
    return _outs(session, rows)


def day_list(session: Session, actor: Actor, site_id: str, day: date) -> list[DayListEntry]:
    """The site's appointments on a day, by slot, for its staff; each with the person's record
    when the registry lets them read it (a booking lets them until the day after)."""
    if not policy.works_at(actor, site_id):
        raise policy.refusal(actor, "read", "appointment", site_id, "see the day list of this site")
    rows = list(
        session.scalars(
            select(Appointment)
            .join(ClinicSession, ClinicSession.id == Appointment.session_id)
            .where(ClinicSession.site_id == site_id, ClinicSession.day == day)
            .order_by(Appointment.slot_start, Appointment.booked_at, Appointment.id)
        )
    )
    entries = []
    for out in _outs(session, rows):
        try:
            person: PersonOut | None = registry.get_person(session, actor, out.person_id)
        except Forbidden:
            person = None
        entries.append(DayListEntry(appointment=out, person=person))
    return entries


def stock_shortfalls(
    session: Session, actor: Actor, site_id: str, today: date
) -> list[StockShortfall]:
    """For the site's staff: each vaccine whose usable stock no longer covers the doses its
    booked appointments from `today` on hold, with the appointments left without one. Bookings
    never promise more than the stock (`book`), but a dose given without an appointment takes
    from the same shelf, and so do wastage and a lot quarantined or recalled meanwhile: the
    staff can then ask for stock, or reschedule the people named here. Appointments are served
    in the order of their day, slot and booking, each from the stock usable on its day."""
    if not policy.works_at(actor, site_id):
        raise policy.refusal(actor, "read", "appointment", site_id, "see this site's stock")
    rows = session.execute(
        select(
            AppointmentVaccine.cvx,
            Appointment.id,
            ClinicSession.day,
            Appointment.slot_start,
        )
        .join(Appointment, Appointment.id == AppointmentVaccine.appointment_id)
        .join(ClinicSession, ClinicSession.id == Appointment.session_id)
        .where(
            ClinicSession.site_id == site_id,
            ClinicSession.day >= today,
            Appointment.status.in_([s.value for s in HOLDING_DOSES]),
        )
        .order_by(
            AppointmentVaccine.cvx,
            ClinicSession.day,
            Appointment.slot_start,
            Appointment.booked_at,
            Appointment.id,
        )
    )
    holding: dict[str, list[tuple[str, date, time]]] = defaultdict(list)
    for cvx, appointment_id, day, slot_start in rows:
        holding[cvx].append((appointment_id, day, slot_start))
    shortfalls = []
    for cvx, appointments in holding.items():
        usable = {
            day: availability.usable_doses(session, site_id, cvx, day)
            for day in sorted({day for _, day, _ in appointments} | {today})
        }
        not_covered = [
            DoseShort(appointment_id=appointment_id, day=day, slot_start=slot_start)
            for (appointment_id, day, slot_start), covered in zip(
                appointments, _covered(appointments, usable), strict=True
            )
            if not covered
        ]
        if not_covered:
            shortfalls.append(
                StockShortfall(
                    cvx=cvx,
                    promised=len(appointments),
                    usable_today=usable[today],
                    not_covered=not_covered,
                )
            )
    return shortfalls


def _covered(appointments: list[tuple[str, date, time]], usable: dict[date, int]) -> list[bool]:
    """Whether each appointment, in order (by day first), gets a dose when the stock goes to
    them in that order and a dose usable on a day is usable on every day before it. The first k
    can all be served when, for every day d among theirs, those of them on d or later are at
    most the doses usable on d (Hall's condition): k <= usable(d) + appointments before d."""
    covered = []
    most = len(appointments)  # how many of them, from the first, can be served
    day_before = None
    for index, (_, day, _) in enumerate(appointments):
        if day != day_before:
            day_before = day
            most = min(most, usable[day] + index)
        covered.append(index < most)
    return covered


# The moment an appointment reached a status is kept in its own column.
_STAMPS = {
    AppointmentStatus.CHECKED_IN: "checked_in_at",
    AppointmentStatus.COMPLETED: "completed_at",
    AppointmentStatus.CANCELLED: "cancelled_at",
}


def _move(session: Session, appointment: Appointment, to: AppointmentStatus, now: datetime) -> bool:
    """Move the appointment to `to` if it is still in a status that may be followed by it; this
    conditional update is the transaction's first write on the appointment, and locks it."""
    moment = now.astimezone(UTC)
    stamp = {_STAMPS[to]: moment} if to in _STAMPS else {}
    result = session.execute(
        update(Appointment)
        .where(
            Appointment.id == appointment.id,
            Appointment.status.in_([s.value for s in PREVIOUS_STATUSES[to]]),
        )
        .values(status=to.value, updated_at=moment, **stamp)
        .execution_options(synchronize_session=False)
    )
    session.refresh(appointment)
    return result.rowcount == 1  # type: ignore[attr-defined]


def _moved(
    session: Session, appointment: Appointment, to: AppointmentStatus, now: datetime
) -> None:
    """`_move`, or Conflict saying why the appointment cannot be moved."""
    if not _move(session, appointment, to, now):
        current = AppointmentStatus(appointment.status)
        raise Conflict(transition_refusal(current, to) or f"the appointment is {current.value}")


def cancel(session: Session, actor: Actor, appointment_id: str, now: datetime) -> AppointmentOut:
    """Cancel an appointment, giving its place and its doses back. Cancelling one already
    cancelled changes nothing."""
    appointment, clinic = _load(session, appointment_id)
    if not policy.may_book_at(actor, clinic.site_id):
        raise policy.refusal(actor, "cancel", "appointment", appointment.id, "cancel at this site")
    _visible(session, actor, appointment, clinic.site_id)
    if appointment.status == AppointmentStatus.CANCELLED:
        return _out(session, appointment)
    _moved(session, appointment, AppointmentStatus.CANCELLED, now)
    counters.give_back_place(session, clinic.id)
    keys = [(clinic.site_id, cvx) for cvx in _requested(session, appointment)]
    _move_reservations(session, remove=keys)
    audit(session, actor, "cancel", "appointment", appointment.id, person_id=appointment.person_id)
    return _out(session, appointment)


def reschedule(
    session: Session, actor: Actor, appointment_id: str, data: RescheduleIn, now: datetime
) -> AppointmentOut:
    """Move a booked appointment to another slot, all or nothing: the new one (naming the old)
    is booked and the old cancelled, or, when the new slot cannot be had, nothing changes. The
    vaccines are checked against the forecast for the new day."""
    old, old_clinic = _load(session, appointment_id)
    vaccines = tuple(_requested(session, old))
    read = _read_session(session, data.session_id, old.person_id, vaccines, old.id)
    clinic = read.clinic
    for site_id in {old_clinic.site_id, clinic.site_id}:
        if not policy.may_book_at(actor, site_id):
            raise policy.refusal(actor, "book", "appointment", old.id, "book at this site")
    if (clinic.id, data.slot_start) == (old_clinic.id, old.slot_start):
        raise InvalidInput("the appointment is already in that slot")
    _check_session(read, data.slot_start, vaccines, old.schedule_id, now)
    record = registry.person_record(session, old.person_id)
    _check_person(session, actor, read, old.person_id, record, vaccines, old.schedule_id)
    _moved(session, old, AppointmentStatus.CANCELLED, now)
    # Sessions are changed in id order (one lock order); in one session, give back first.
    for session_id, step in sorted([(old_clinic.id, "give back"), (clinic.id, "take")]):
        if step == "take":
            taken = placement.take_place(session, clinic.id, data.slot_start)
        else:
            counters.give_back_place(session, session_id)
    _refuse_unless_placed(clinic, data.slot_start, taken)
    promised = _move_reservations(
        session,
        add=[(clinic.site_id, cvx) for cvx in vaccines],
        remove=[(old_clinic.site_id, cvx) for cvx in vaccines],
    )
    usable = availability.usable_doses_by_cvx(session, clinic.site_id, list(vaccines), clinic.day)
    _refuse_beyond_stock(clinic.day, promised, usable)
    new = NewAppointment(
        id=new_id(),
        person_id=old.person_id,
        session_id=clinic.id,
        slot_start=data.slot_start,
        vaccines=vaccines,
        schedule_id=old.schedule_id,
        booked_by=actor.user_id,
        booked_at=now.astimezone(UTC),
        rescheduled_from=old.id,
        grants_site_access=policy.grants_site_access(actor),
    )
    placement.insert_appointment(session, new)
    _audit_booked(session, actor, new)
    return _booked(session, actor, clinic, new)


def check_in(session: Session, actor: Actor, appointment_id: str, now: datetime) -> AppointmentOut:
    """The person has arrived: the site's staff check them in, on the appointment's day."""
    appointment, clinic = _load(session, appointment_id)
    if not policy.works_at(actor, clinic.site_id):
        raise policy.refusal(
            actor, "check_in", "appointment", appointment.id, "check in at this site"
        )
    if clinic.day != local_day(now):
        raise InvalidInput(f"check-in is on the appointment's day, {clinic.day}")
    _moved(session, appointment, AppointmentStatus.CHECKED_IN, now)
    audit(
        session, actor, "check_in", "appointment", appointment.id, person_id=appointment.person_id
    )
    return _out(session, appointment)


def mark_no_show(
    session: Session, actor: Actor, appointment_id: str, now: datetime
) -> AppointmentOut:
    """Nobody came: after the session, its staff mark a booked appointment a no-show, which
    gives its doses back (its place is past)."""
    appointment, clinic = _load(session, appointment_id)
    if not policy.works_at(actor, clinic.site_id):
        raise policy.refusal(actor, "no_show", "appointment", appointment.id, "mark no-shows here")
    ends = wall_clock(clinic.day, clinic.end_time)
    if now < ends:
        raise InvalidInput(f"a no-show is marked after the session, which ends at {ends}")
    _moved(session, appointment, AppointmentStatus.NO_SHOW, now)
    keys = [(clinic.site_id, cvx) for cvx in _requested(session, appointment)]
    _move_reservations(session, remove=keys)
    audit(session, actor, "no_show", "appointment", appointment.id, person_id=appointment.person_id)
    return _out(session, appointment)


def _doses_asked(requested: list[str], data: DosesIn) -> list[DoseGiven]:
    doses = data.doses or [DoseGiven(cvx=cvx) for cvx in requested]
    cvxs = [normalize_cvx(dose.cvx) for dose in doses]
    if len(set(cvxs)) != len(cvxs):
        raise InvalidInput("a vaccine is named twice")
    unasked = sorted(set(cvxs) - set(requested))
    if unasked:
        raise InvalidInput(f"the appointment did not ask for CVX {', '.join(unasked)}")
    return sorted(
        (dose.model_copy(update={"cvx": cvx}) for dose, cvx in zip(doses, cvxs, strict=True)),
        key=lambda dose: dose.cvx,
    )


def _lot_for(
    session: Session, actor: Actor, site_id: str, dose: DoseGiven, now: datetime
) -> tuple[str, str | None]:
    """The lot number (and manufacturer) a dose was given from: the one named, else FEFO's."""
    if dose.lot_number:
        return dose.lot_number, dose.mvx
    try:
        choice = supply.suggest_lot(session, actor, site_id, dose.cvx, now)
    except NotFound as error:
        raise Conflict(str(error)) from error
    return choice.lot.lot_number, choice.lot.mvx


def _recorded_before(
    session: Session, appointment: Appointment, doses: list[DoseGiven]
) -> AppointmentOut:
    """The appointment, when these doses were recorded from it already (a request sent again);
    otherwise Conflict saying why they cannot be recorded now."""
    status = AppointmentStatus(appointment.status)
    if status is not AppointmentStatus.COMPLETED:
        raise Conflict(transition_refusal(status, AppointmentStatus.COMPLETED) or status.value)
    given = set(
        session.scalars(
            select(AppointmentVaccine.cvx).where(
                AppointmentVaccine.appointment_id == appointment.id,
                AppointmentVaccine.immunization_id.is_not(None),
            )
        )
    )
    missing = [f"CVX {dose.cvx}" for dose in doses if dose.cvx not in given]
    if missing:
        raise Conflict(
            f"the appointment was completed without {', '.join(missing)}: record a later dose "
            "in the person's record"
        )
    return _out(session, appointment)


def record_doses(
    session: Session, actor: Actor, appointment_id: str, data: DosesIn, now: datetime
) -> tuple[AppointmentOut, bool]:
    """Record the doses given at a checked-in appointment, all in this one transaction: each lot
    checked by supply (released, unexpired, in stock; FEFO's choice when none is named), each
    dose added to the person's record with the identifier "<appointment>/<CVX>" (the registry
    takes it from the site's stock, `given_at` now); then the appointment is completed and its
    reservations given back (for vaccines not given, too). Sent again, it changes nothing and
    answers the same (and False)."""
    appointment, clinic = _load(session, appointment_id)
    if not policy.works_at(actor, clinic.site_id):
        raise policy.refusal(
            actor, "record_dose", "appointment", appointment.id, "record doses here"
        )
    requested = _requested(session, appointment)
    doses = _doses_asked(requested, data)
    if clinic.day > local_day(now):
        raise InvalidInput(f"the doses of this appointment are given on {clinic.day}")
    if not _move(session, appointment, AppointmentStatus.COMPLETED, now):
        return _recorded_before(session, appointment, doses), False
    for dose in doses:
        lot_number, mvx = _lot_for(session, actor, clinic.site_id, dose, now)
        lot = supply.check_lot_for_dose(
            session, clinic.site_id, lot_number, dose.cvx, clinic.day, mvx=mvx
        )
        recorded, _ = registry.record_immunization(
            session,
            actor,
            appointment.person_id,
            ImmunizationIn(
                date_administered=clinic.day,
                cvx=dose.cvx,
                mvx=lot.mvx,
                product_name=lot.product_name,
                lot_number=lot.lot_number,
                expiration_date=lot.expiry_date,
                site_id=clinic.site_id,
                external_id=Identifier(
                    system=APPOINTMENT_DOSE_SYSTEM, value=f"{appointment.id}/{dose.cvx}"
                ),
            ),
            given_at=now,
        )
        row = session.get(AppointmentVaccine, (appointment.id, dose.cvx))
        assert row is not None  # checked against the appointment's vaccines above
        row.immunization_id = recorded.id
    session.flush()
    _move_reservations(session, remove=[(clinic.site_id, cvx) for cvx in requested])
    audit(
        session,
        actor,
        "complete",
        "appointment",
        appointment.id,
        person_id=appointment.person_id,
        detail={"cvx": [d.cvx for d in doses]},
    )
    return _out(session, appointment), True
