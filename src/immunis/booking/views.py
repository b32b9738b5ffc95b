"""The booking room's JSON API, under /api/booking: planning a site's sessions, free slots, and
appointments from booking to the doses given."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from immunis.booking import planning, service
from immunis.booking.clock import local_day
from immunis.booking.schemas import (
    AppointmentIn,
    AppointmentOut,
    DayListEntry,
    DosesIn,
    OfferedVaccine,
    RescheduleIn,
    SessionChange,
    SessionIn,
    SessionOut,
    SlotOut,
    StockShortfall,
    WeeklyHours,
)
from immunis.db import utcnow
from immunis.web.context import ApiContext

router = APIRouter(prefix="/api/booking", tags=["booking"])


# --- Planning ----------------------------------------------------------------------------------


@router.get("/sites/{site_id}/opening-hours")
def read_opening_hours(site_id: str, context: ApiContext) -> list[WeeklyHours]:
    with context.transaction() as session:
        return planning.opening_hours(session, context.actor, site_id)


@router.put("/sites/{site_id}/opening-hours")
def set_opening_hours(
    site_id: str, hours: list[WeeklyHours], context: ApiContext
) -> list[WeeklyHours]:
    """Replace the site's weekly opening hours (its staff, or an admin)."""
    with context.transaction() as session:
        return planning.set_opening_hours(session, context.actor, site_id, hours)


@router.get("/sites/{site_id}/vaccines")
def read_offered_vaccines(site_id: str, context: ApiContext) -> list[OfferedVaccine]:
    with context.transaction() as session:
        return planning.offered_vaccines(session, context.actor, site_id)


@router.put("/sites/{site_id}/vaccines")
def offer_vaccine(site_id: str, data: OfferedVaccine, context: ApiContext) -> OfferedVaccine:
    """Offer a vaccine for booking at the site, or stop offering it."""
    with context.transaction() as session:
        return planning.offer_vaccine(session, context.actor, site_id, data)


@router.post("/sessions", status_code=status.HTTP_201_CREATED)
def create_session(data: SessionIn, context: ApiContext) -> SessionOut:
    with context.transaction() as session:
        return planning.create_session(session, context.actor, data, utcnow())


@router.get("/sessions/{session_id}")
def read_session(session_id: str, context: ApiContext) -> SessionOut:
    with context.transaction() as session:
        return planning.get_session(session, context.actor, session_id)


@router.patch("/sessions/{session_id}")
def change_session(session_id: str, change: SessionChange, context: ApiContext) -> SessionOut:
    """Change a session's capacity, or close it to (or open it for) bookings."""
    with context.transaction() as session:
        return planning.change_session(session, context.actor, session_id, change)


# --- Slots and appointments --------------------------------------------------------------------


@router.get("/slots")
def free_slots(
    context: ApiContext,
    site_id: Annotated[str, Query(max_length=36)],
    vaccine: Annotated[list[str], Query(min_length=1, max_length=10)],
    first_day: Annotated[date | None, Query(alias="from")] = None,
    last_day: Annotated[date | None, Query(alias="to")] = None,
) -> list[SlotOut]:
    """The slots with places left at a site for all the vaccines named (`vaccine=08&vaccine=19`)
    from `from` (default today) to `to` (default `from`, at most 31 days): those that fill an
    open vial first, then by time."""
    now = utcnow()
    first = first_day or local_day(now)
    with context.transaction() as session:
        return service.list_slots(
            session, context.actor, site_id, first, last_day or first, vaccine, now
        )


@router.post("/appointments", status_code=status.HTTP_201_CREATED)
def book(data: AppointmentIn, context: ApiContext) -> AppointmentOut:
    """Book a slot for yourself or a dependant (a site's staff: for a person of their site)."""
    with context.transaction() as session:
        return service.book(session, context.actor, data, utcnow())


@router.get("/appointments")
def person_appointments(
    context: ApiContext, person_id: Annotated[str, Query(max_length=36)]
) -> list[AppointmentOut]:
    with context.transaction() as session:
        return service.person_appointments(session, context.actor, person_id)


@router.get("/appointments/{appointment_id}")
def read_appointment(appointment_id: str, context: ApiContext) -> AppointmentOut:
    with context.transaction() as session:
        return service.get_appointment(session, context.actor, appointment_id)


@router.post("/appointments/{appointment_id}/cancel")
def cancel(appointment_id: str, context: ApiContext) -> AppointmentOut:
    with context.transaction() as session:
        return service.cancel(session, context.actor, appointment_id, utcnow())


@router.post("/appointments/{appointment_id}/reschedule", status_code=status.HTTP_201_CREATED)
def reschedule(appointment_id: str, data: RescheduleIn, context: ApiContext) -> AppointmentOut:
    """Move to another slot: the answer is the new appointment; the old one is cancelled."""
    with context.transaction() as session:
        return service.reschedule(session, context.actor, appointment_id, data, utcnow())


@router.post("/appointments/{appointment_id}/check-in")
def check_in(appointment_id: str, context: ApiContext) -> AppointmentOut:
    with context.transaction() as session:
        return service.check_in(session, context.actor, appointment_id, utcnow())


@router.post("/appointments/{appointment_id}/doses", status_code=status.HTTP_201_CREATED)
def record_doses(
    appointment_id: str, context: ApiContext, response: Response, data: DosesIn | None = None
) -> AppointmentOut:
    """Record the doses given (default: every vaccine booked, from FEFO's lots) and complete the
    appointment. Sent again, it answers 200 with the same doses."""
    with context.transaction() as session:
        recorded, created = service.record_doses(
            session, context.actor, appointment_id, data or DosesIn(), utcnow()
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    return recorded


@router.post("/appointments/{appointment_id}/no-show")
def mark_no_show(appointment_id: str, context: ApiContext) -> AppointmentOut:
    with context.transaction() as session:
        return service.mark_no_show(session, context.actor, appointment_id, utcnow())


@router.get("/sites/{site_id}/day-list")
def day_list(
    site_id: str, context: ApiContext, day: Annotated[date | None, Query()] = None
) -> list[DayListEntry]:
    """The site's appointments on a day (default today), for its staff."""
    with context.transaction() as session:
        return service.day_list(session, context.actor, site_id, day or local_day(utcnow()))


@router.get("/sites/{site_id}/stock-shortfalls")
def stock_shortfalls(site_id: str, context: ApiContext) -> list[StockShortfall]:
    """The vaccines whose usable stock at the site no longer covers its booked appointments from
    today on, with the appointments left without a dose (for its staff)."""
    with context.transaction() as session:
        return service.stock_shortfalls(session, context.actor, site_id, local_day(utcnow()))
