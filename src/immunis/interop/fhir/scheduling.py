"""Booking in FHIR R4: Schedule, Slot and Appointment, mapped to the booking room's schemas and
answered through its services (booking/planning.py, booking/service.py).

- A Schedule is a site's bookable vaccination service: its id is the site's, its `actor` the
  Location, its `serviceType` the vaccines the site offers (CVX codings).
- A Slot is one slot of a clinic session, id `<session id>.<HHMM>`: `free` while it has a place
  left, else `busy`; the places left are in an extension. Searched per site and day, for a
  vaccine (then a session whose stock of it is all promised is busy, and slots that fill an
  opened vial come first).
- An Appointment is a booking: created with one Patient participant, one Slot and the vaccines as
  `serviceType`; an update may only cancel it (`status` cancelled).

Views are registered on the FHIR router (views.py) from ROUTES, so they share its error answers
and the CapabilityStatement lists them.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import time
from typing import Annotated, Any

from fastapi import Depends, Request
from fhir.resources.R4B.appointment import Appointment
from sqlalchemy.orm import Session
from starlette.responses import Response

from immunis.access.policy import Actor
from immunis.booking import planning, service
from immunis.booking.clock import wall_clock
from immunis.booking.lifecycle import AppointmentStatus
from immunis.booking.schemas import AppointmentIn, AppointmentOut, SlotOut, WeeklyHours
from immunis.db import utcnow
from immunis.interop.fhir import search, systems
from immunis.interop.fhir.datatypes import Problems, build, instant, reference, reference_id
from immunis.interop.fhir.outcome import fhir_response, refuse
from immunis.interop.fhir.validation import parse_json, validate
from immunis.registry import sites
from immunis.registry.schemas import SiteOut
from immunis.schedule.model import normalize_cvx
from immunis.web.context import FhirContext

PREFIX = "/fhir"

FHIR_STATUS = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.CHECKED_IN: "checked-in",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "noshow",
}
# The statuses a new Appointment may be sent with: each asks for the slot to be booked.
_BOOKING_STATUSES = ("proposed", "pending", "booked")


async def _body(request: Request) -> dict[str, Any]:
    return parse_json(await request.body(), request.headers.get("content-type"))


Body = Annotated[dict[str, Any], Depends(_body)]


def _url(request: Request, resource_type: str, resource_id: str) -> str:
    return f"{str(request.base_url).rstrip('/')}{PREFIX}/{resource_type}/{resource_id}"


def _searchset(request: Request, resources: list[dict[str, Any]]) -> Response:
    entries = [(_url(request, r["resourceType"], r["id"]), r) for r in resources]
    return fhir_response(search.searchset(str(request.url), entries))


def _vaccines(codes: list[str]) -> list[dict[str, Any]]:
    return [{"coding": [{"system": systems.CVX, "code": code}]} for code in codes]


def _codes(concepts: list[dict[str, Any]]) -> set[str]:
    return {coding["code"] for concept in concepts for coding in concept["coding"]}


def _cvx_token(value: str) -> str:
    """A vaccine in a search, a bare CVX code or `<CVX system>|<code>`, without leading zeros."""
    if "|" not in value:
        return normalize_cvx(value)
    system, code = search.token(value, "service-type")
    if system != systems.CVX:
        raise refuse(400, "invalid", "search parameter service-type", f"use {systems.CVX}|<code>")
    return normalize_cvx(code)


# --- Schedule ----------------------------------------------------------------------------------


def schedule_resource(
    site: SiteOut, vaccines: list[str], hours: list[WeeklyHours]
) -> dict[str, Any]:
    """A site's bookable vaccination service as a FHIR R4 Schedule."""
    resource: dict[str, Any] = {
        "resourceType": "Schedule",
        "id": site.id,
        "active": site.active and bool(vaccines),
    }
    if vaccines:
        resource["serviceType"] = _vaccines(vaccines)
    resource["actor"] = [{**reference("Location", site.id), "display": site.name}]
    if hours:
        resource["comment"] = "Open " + "; ".join(
            f"{calendar.day_name[h.weekday]} {h.opens:%H:%M}-{h.closes:%H:%M}" for h in hours
        )
    return resource


def _schedule(session: Session, actor: Actor, site_id: str) -> dict[str, Any]:
    site = sites.get_site(session, actor, site_id)
    offered = planning.offered_vaccines(session, actor, site_id)
    hours = planning.opening_hours(session, actor, site_id)
    return schedule_resource(site, [v.cvx for v in offered if v.active], hours)


def read_schedule(resource_id: str, context: FhirContext) -> Response:
    with context.transaction() as session:
        return fhir_response(_schedule(session, context.actor, resource_id))


def search_schedules(request: Request, context: FhirContext) -> Response:
    """Schedules by site (`actor`) or by a vaccine offered (`service-type`), or both."""
    values = search.search_values("Schedule", request.query_params.multi_items())
    if "actor" not in values and "service-type" not in values:
        raise refuse(400, "required", "search parameter actor", "give actor or service-type")
    count = search.count_value(values)
    cvx = _cvx_token(values["service-type"]) if "service-type" in values else None
    with context.transaction() as session:
        if cvx is not None and "actor" not in values:
            site_ids = planning.sites_offering(session, context.actor, cvx, limit=count)
        else:
            site_ids = [search.reference_value(values["actor"], "Location", "actor")]
        found = [_schedule(session, context.actor, site_id) for site_id in site_ids]
    offered = [r for r in found if cvx is None or cvx in _codes(r.get("serviceType", []))]
    return _searchset(request, offered)


# --- Slot --------------------------------------------------------------------------------------


def slot_id(session_id: str, start: time) -> str:
    return f"{session_id}.{start:%H%M}"


def slot_resource(slot: SlotOut) -> dict[str, Any]:
    """A session's slot as a FHIR R4 Slot: free while a place is left."""
    return {
        "resourceType": "Slot",
        "id": slot_id(slot.session_id, slot.start),
        "extension": [{"url": systems.PLACES_LEFT, "valueUnsignedInt": slot.places_left}],
        "serviceType": _vaccines(slot.vaccines),
        "schedule": reference("Schedule", slot.site_id),
        "status": "free" if slot.places_left else "busy",
        "start": wall_clock(slot.day, slot.start).isoformat(),
        "end": wall_clock(slot.day, slot.end).isoformat(),
    }


def _slot_key(resource_id: str) -> tuple[str, time] | None:
    """The session id and start time in a Slot id `<session id>.<HHMM>`, if it is one."""
    session_id, _, hhmm = resource_id.rpartition(".")
    if session_id and len(hhmm) == 4 and hhmm.isdigit():
        try:
            return session_id, time(int(hhmm[:2]), int(hhmm[2:]))
        except ValueError:
            return None
    return None


def read_slot(resource_id: str, context: FhirContext) -> Response:
    key = _slot_key(resource_id)
    if key is None:
        raise refuse(404, "not-found", None, f"no Slot {resource_id!r} (ids are <session>.<HHMM>)")
    session_id, start = key
    with context.transaction() as session:
        slot = service.get_slot(session, context.actor, session_id, start, utcnow())
    return fhir_response(slot_resource(slot))


def search_slots(request: Request, context: FhirContext) -> Response:
    """A site's slots on a day (free and busy), for a vaccine if one is named."""
    values = search.search_values("Slot", request.query_params.multi_items())
    for required in ("schedule", "start"):
        if required not in values:
            raise refuse(400, "required", f"search parameter {required}", "is required")
    site_id = search.reference_value(values["schedule"], "Schedule", "schedule")
    day = search.date_value(values["start"], "start")
    vaccines = [_cvx_token(values["service-type"])] if "service-type" in values else []
    wanted = values.get("status")
    if wanted not in (None, "free", "busy"):
        raise refuse(400, "invalid", "search parameter status", "is free or busy")
    with context.transaction() as session:
        slots = service.list_slots(
            session, context.actor, site_id, day, day, vaccines, utcnow(), include_full=True
        )
    resources = [slot_resource(slot) for slot in slots]
    return _searchset(request, [r for r in resources if wanted in (None, r["status"])])


# --- Appointment -------------------------------------------------------------------------------


def appointment_resource(appointment: AppointmentOut) -> dict[str, Any]:
    """A booking as a FHIR R4 Appointment."""
    resource: dict[str, Any] = {"resourceType": "Appointment", "id": appointment.id}
    if appointment.rescheduled_from:
        resource["extension"] = [
            {
                "url": systems.RESCHEDULED_FROM,
                "valueReference": reference("Appointment", appointment.rescheduled_from),
            }
        ]
    resource |= {
        "status": FHIR_STATUS[appointment.status],
        "serviceType": _vaccines(appointment.vaccines),
        "start": wall_clock(appointment.day, appointment.slot_start).isoformat(),
        "end": wall_clock(appointment.day, appointment.slot_end).isoformat(),
        "created": instant(appointment.booked_at),
        "slot": [reference("Slot", slot_id(appointment.session_id, appointment.slot_start))],
        "participant": [
            {"actor": reference("Patient", appointment.person_id), "status": "accepted"},
            {"actor": reference("Location", appointment.site_id), "status": "accepted"},
        ],
    }
    if appointment.immunization_ids:
        # The doses given at the appointment.
        resource["supportingInformation"] = [
            reference("Immunization", dose) for dose in appointment.immunization_ids
        ]
    return resource


def appointment_in(resource: Appointment) -> AppointmentIn:
    """The booking asked for by a new Appointment, or a 422 listing what immunis cannot accept."""
    problems = Problems()
    if resource.status not in _BOOKING_STATUSES:
        problems.add("Appointment.status", f"a new appointment is {' or '.join(_BOOKING_STATUSES)}")
    patients = [
        reference_id(p.actor, "Patient", f"Appointment.participant[{i}].actor", problems)
        for i, p in enumerate(resource.participant)
        if p.actor is not None and (p.actor.reference or "").startswith("Patient/")
    ]
    if len(patients) != 1:
        problems.add("Appointment.participant", "needs exactly one Patient actor", "required")
    slots = resource.slot or []
    slot_key = None
    if len(slots) != 1:
        problems.add("Appointment.slot", "needs exactly one Slot", "required")
    else:
        slot_ref = reference_id(slots[0], "Slot", "Appointment.slot[0]", problems)
        slot_key = _slot_key(slot_ref) if slot_ref else None
        if slot_ref and slot_key is None:
            problems.add("Appointment.slot[0].reference", "is not a slot of this server")
    vaccines = [
        coding.code
        for concept in resource.serviceType or ()
        for coding in concept.coding or ()
        if coding.system == systems.CVX and coding.code
    ]
    if not vaccines:
        problems.add("Appointment.serviceType", f"needs the vaccines, coded in {systems.CVX}")
    problems.raise_any()
    assert slot_key is not None  # a missing slot was a problem raised above
    data = {
        "person_id": patients[0],
        "session_id": slot_key[0],
        "slot_start": slot_key[1],
        "vaccines": vaccines,
    }
    paths = {
        "person_id": "Appointment.participant.actor",
        "session_id": "Appointment.slot",
        "vaccines": "Appointment.serviceType",
    }
    return build(AppointmentIn, data, paths)


def read_appointment(resource_id: str, context: FhirContext) -> Response:
    with context.transaction() as session:
        appointment = service.get_appointment(session, context.actor, resource_id)
    return fhir_response(appointment_resource(appointment))


def search_appointments(request: Request, context: FhirContext) -> Response:
    values = search.search_values("Appointment", request.query_params.multi_items())
    if "patient" not in values:
        raise refuse(400, "required", "search parameter patient", "is required")
    person_id = search.reference_value(values["patient"], "Patient", "patient")
    with context.transaction() as session:
        found = service.person_appointments(session, context.actor, person_id)
    return _searchset(request, [appointment_resource(a) for a in found])


def create_appointment(request: Request, context: FhirContext, data: Body) -> Response:
    """Book: the Patient, the Slot and the vaccines of a new Appointment."""
    asked = appointment_in(validate(Appointment, data))
    with context.transaction() as session:
        booked = service.book(session, context.actor, asked, utcnow())
    resource = appointment_resource(booked)
    return fhir_response(resource, 201, {"Location": _url(request, "Appointment", booked.id)})


def update_appointment(resource_id: str, context: FhirContext, data: Body) -> Response:
    """Cancel (status cancelled); sending the appointment back unchanged changes nothing."""
    resource = validate(Appointment, data)
    if resource.id != resource_id:
        raise refuse(400, "invalid", "Appointment.id", f"must be {resource_id!r}")
    with context.transaction() as session:
        current = service.get_appointment(session, context.actor, resource_id)
        if resource.status == "cancelled":
            current = service.cancel(session, context.actor, resource_id, utcnow())
        elif resource.status != FHIR_STATUS[current.status]:
            raise refuse(
                422,
                "business-rule",
                "Appointment.status",
                "an update can only cancel an appointment (check-in and doses are recorded by "
                "the site; to move it, book the new slot and cancel this one)",
            )
    return fhir_response(appointment_resource(current))


# The interactions, registered on the FHIR router by views.py: (path, endpoint, method).
ROUTES: tuple[tuple[str, Callable[..., Response], str], ...] = (
    ("/Schedule/{resource_id}", read_schedule, "GET"),
    ("/Schedule", search_schedules, "GET"),
    ("/Slot/{resource_id}", read_slot, "GET"),
    ("/Slot", search_slots, "GET"),
    ("/Appointment/{resource_id}", read_appointment, "GET"),
    ("/Appointment", search_appointments, "GET"),
    ("/Appointment", create_appointment, "POST"),
    ("/Appointment/{resource_id}", update_appointment, "PUT"),
)
