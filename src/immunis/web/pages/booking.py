"""Appointments: a parent books, moves or cancels one at a nearby site, choosing among the free
slots; a vaccinator works through the day's list (check in, record the doses given, lots
scanned or typed). All of it through the booking room's service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from immunis.access.policy import SITE_ROLES, Actor, Role
from immunis.booking import planning
from immunis.booking import service as booking
from immunis.booking.lifecycle import AppointmentStatus
from immunis.booking.schemas import (
    AppointmentIn,
    AppointmentOut,
    DoseGiven,
    DosesIn,
    RescheduleIn,
    StockShortfall,
)
from immunis.education.series import preferred_cvx, series_dose
from immunis.errors import Conflict, InvalidInput, NotFound
from immunis.registry import service as registry
from immunis.registry import sites
from immunis.registry.schemas import PersonOut, SiteOut
from immunis.schedule.catalog import load_schedule
from immunis.schedule.model import normalize_cvx
from immunis.supply import service as supply
from immunis.web.i18n import N_
from immunis.web.pages.base import Page, PageRoute, Visit
from immunis.web.pages.due import Urgency, cvx_name, summarize
from immunis.web.pages.forms import Form, Submitted
from immunis.web.pages.people import lot_problem

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DAYS_SHOWN = 14
STATUS_NAMES = {
    AppointmentStatus.BOOKED: N_("booked"),
    AppointmentStatus.CHECKED_IN: N_("checked in"),
    AppointmentStatus.COMPLETED: N_("done"),
    AppointmentStatus.CANCELLED: N_("cancelled"),
    AppointmentStatus.NO_SHOW: N_("did not come"),
}
BOOKERS = (Role.CITIZEN, *SITE_ROLES)


def now() -> datetime:
    return datetime.now(UTC)


def _due_vaccines(page: Page, session: Session, actor: Actor, person_id: str) -> list[str]:
    """The vaccines (CVX) of the doses due now or soon: the first one each dose calls for."""
    schedule_id = page.settings.default_schedule
    _, answer = registry.person_forecast(session, actor, person_id, date.today(), schedule_id)
    schedule = load_schedule(schedule_id)
    found: list[str] = []
    for item in summarize(answer, date.today(), page.language, page.gettext).items:
        group = answer.vaccine_groups[item.group]
        if item.urgency > Urgency.SOON or group.next_dose is None:
            continue
        dose = series_dose(schedule, item.group, group.next_dose.dose_number)
        codes = [*group.next_dose.recommended_vaccines, *(preferred_cvx(dose[1]) if dose else ())]
        if codes and normalize_cvx(codes[0]) not in found:
            found.append(normalize_cvx(codes[0]))
    return found


def _nearness(site: SiteOut, person: PersonOut) -> int:
    """0: in the person's commune, 1: district, 2: province, 3: elsewhere."""
    here, there = person.address, site.address
    if here is None or there is None:
        return 3
    for rank, (mine, theirs) in enumerate(
        (
            (here.commune_code, there.commune_code),
            (here.district_code, there.district_code),
            (here.province_code, there.province_code),
        )
    ):
        if mine and mine == theirs:
            return rank
    return 3


def _sites_offering(
    session: Session, actor: Actor, person: PersonOut, vaccines: list[str]
) -> list[SiteOut]:
    """Sites that offer at least one of the vaccines, nearest to the person first."""
    offering = [
        site
        for site in sites.search_sites(session, actor)
        if site.active and planning.offered_cvx(session, site.id) & set(vaccines)
    ]
    return sorted(offering, key=lambda site: (_nearness(site, person), site.name))


@dataclass(frozen=True)
class SlotChoice:
    value: str  # "<session id>@<HH:MM>"
    day: date
    start: time
    end: time
    places_left: int


def _slot_value(session_id: str, start: time) -> str:
    return f"{session_id}@{start.strftime('%H:%M')}"


def _parse_slot(value: str) -> tuple[str, time] | None:
    session_id, _, start = value.partition("@")
    try:
        return session_id, time.fromisoformat(start)
    except ValueError:
        return None


def _render_picker(
    page: Page,
    actor: Actor,
    person_id: str,
    form: Form,
    *,
    appointment: AppointmentOut | None = None,
    status: int = 200,
) -> Response:
    """The slot picker: vaccines, a site, and its free slots over the next two weeks."""
    today = date.today()
    with page.transaction() as session:
        person = registry.get_person(session, actor, person_id)
        due = (
            appointment.vaccines if appointment else _due_vaccines(page, session, actor, person_id)
        )
        site_list = _sites_offering(session, actor, person, due)
        site_id = form.values.get("site") or (
            appointment.site_id if appointment else (site_list[0].id if site_list else "")
        )
        offered = [c for c in due if c in planning.offered_cvx(session, site_id)] if site_id else []
        chosen = [c for c in form.all("cvx") if c in offered] or offered
        slots: list[SlotChoice] = []
        if site_id and chosen and site_id in {s.id for s in site_list}:
            try:
                found = booking.list_slots(
                    session,
                    actor,
                    site_id,
                    today,
                    today + timedelta(days=DAYS_SHOWN - 1),
                    chosen,
                    now(),
                )
            except InvalidInput:
                form.error("site", page.gettext("This site does not give all the chosen vaccines"))
                found = []
            slots = [
                SlotChoice(_slot_value(s.session_id, s.start), s.day, s.start, s.end, s.places_left)
                for s in found
            ]
    days: dict[date, list[SlotChoice]] = {}
    for slot in slots:
        days.setdefault(slot.day, []).append(slot)
    return page.render(
        "book.html",
        status=status,
        title=page.gettext("Move the appointment")
        if appointment
        else page.gettext("Book an appointment"),
        person=person,
        appointment=appointment,
        vaccines=[
            (cvx, cvx_name(cvx, page.language, page.settings.default_schedule)) for cvx in offered
        ],
        chosen=chosen,
        site_choices=[(s.id, s.name) for s in site_list],
        days=days,
        values={**form.values, "site": site_id},
        errors=form.errors,
    )


@router.get("/people/{person_id}/appointments/new")
def booking_form(person_id: str, page: Visit, site: str = "") -> Response:
    actor = page.signed_in(*BOOKERS)
    form = Form(page.request.query_params)
    return _render_picker(page, actor, person_id, form)


def _chosen_slot(page: Page, form: Form) -> tuple[str, time] | None:
    slot = _parse_slot(form.values.get("slot", ""))
    if slot is None:
        form.error("slot", page.gettext("Choose a time"))
    return slot


def _booking_refused(page: Page, form: Form, refusal: Exception) -> None:
    """A booking the service refused: the slot was taken meanwhile, or a dose is not due then."""
    if isinstance(refusal, Conflict):
        form.error(
            "slot",
            page.gettext("That time was just taken or the vaccine ran out: choose another time"),
        )
    else:
        form.error("slot", page.gettext("This booking cannot be made: %(why)s", why=refusal))


@router.post("/people/{person_id}/appointments")
def book(person_id: str, page: Visit, form: Submitted) -> Response:
    actor = page.signed_in(*BOOKERS)
    vaccines = form.all("cvx")
    if not vaccines:
        form.error("cvx", page.gettext("Choose at least one vaccine"))
    slot = _chosen_slot(page, form)
    if form.ok and slot is not None:
        try:
            with page.transaction() as session:
                booking.book(
                    session,
                    actor,
                    AppointmentIn(
                        person_id=person_id,
                        session_id=slot[0],
                        slot_start=slot[1],
                        vaccines=vaccines,
                        schedule=page.settings.default_schedule,
                    ),
                    now(),
                )
        except (Conflict, InvalidInput, NotFound) as refusal:
            _booking_refused(page, form, refusal)
    if not form.ok:
        return _render_picker(page, actor, person_id, form, status=422)
    return page.redirect(f"/people/{person_id}?done=booked")


def _appointment(page: Page, actor: Actor, appointment_id: str) -> AppointmentOut:
    with page.transaction() as session:
        return booking.get_appointment(session, actor, appointment_id)


@router.get("/appointments/{appointment_id}/move")
def move_form(appointment_id: str, page: Visit) -> Response:
    actor = page.signed_in(*BOOKERS)
    appointment = _appointment(page, actor, appointment_id)
    form = Form(page.request.query_params)
    return _render_picker(page, actor, appointment.person_id, form, appointment=appointment)


@router.post("/appointments/{appointment_id}/move")
def move(appointment_id: str, page: Visit, form: Submitted) -> Response:
    actor = page.signed_in(*BOOKERS)
    appointment = _appointment(page, actor, appointment_id)
    slot = _chosen_slot(page, form)
    if slot is not None:
        try:
            with page.transaction() as session:
                booking.reschedule(
                    session,
                    actor,
                    appointment_id,
                    RescheduleIn(session_id=slot[0], slot_start=slot[1]),
                    now(),
                )
        except (Conflict, InvalidInput, NotFound) as refusal:
            _booking_refused(page, form, refusal)
    if not form.ok:
        return _render_picker(
            page, actor, appointment.person_id, form, appointment=appointment, status=422
        )
    return page.redirect(f"/people/{appointment.person_id}?done=moved")


@router.post("/appointments/{appointment_id}/cancel")
def cancel(appointment_id: str, page: Visit) -> Response:
    actor = page.signed_in(*BOOKERS)
    with page.transaction() as session:
        cancelled = booking.cancel(session, actor, appointment_id, now())
    return page.redirect(f"/people/{cancelled.person_id}?done=cancelled")


# --- The vaccinator's day -----------------------------------------------------------------------


def _without_dose(shortfalls: list[StockShortfall]) -> dict[str, list[str]]:
    """The vaccines each appointment has no dose of in stock, by appointment id."""
    missing: dict[str, list[str]] = {}
    for shortfall in shortfalls:
        for short in shortfall.not_covered:
            missing.setdefault(short.appointment_id, []).append(shortfall.cvx)
    return missing


def _render_day(page: Page, actor: Actor, form: Form | None = None, status: int = 200) -> Response:
    today = date.today()
    site_id = actor.site_id or ""
    with page.transaction() as session:
        entries = booking.day_list(session, actor, site_id, today)
        shortfalls = booking.stock_shortfalls(session, actor, site_id, today)
        suggested = {}
        for entry in entries:
            for cvx in entry.appointment.vaccines:
                if cvx not in suggested:
                    try:
                        suggested[cvx] = supply.suggest_lot(
                            session, actor, site_id, cvx, now()
                        ).lot.lot_number
                    except NotFound:
                        suggested[cvx] = ""
    return page.render(
        "today.html",
        status=status,
        title=page.gettext("Appointments today"),
        today=today,
        entries=entries,
        shortfalls=shortfalls,
        without_dose=_without_dose(shortfalls),
        names={
            cvx: cvx_name(cvx, page.language, page.settings.default_schedule)
            for cvx in {*suggested, *(shortfall.cvx for shortfall in shortfalls)}
        },
        suggested=suggested,
        values=form.values if form else {},
        errors=form.errors if form else {},
        failed=form.values.get("appointment") if form else None,
        status_names={s.value: page.gettext(name) for s, name in STATUS_NAMES.items()},
    )


@router.get("/clinic/today")
def today(page: Visit) -> Response:
    return _render_day(page, page.signed_in(*SITE_ROLES))


@router.post("/appointments/{appointment_id}/check-in")
def check_in(appointment_id: str, page: Visit) -> Response:
    actor = page.signed_in(*SITE_ROLES)
    with page.transaction() as session:
        booking.check_in(session, actor, appointment_id, now())
    return page.redirect(f"/clinic/today#appointment-{appointment_id}")


@router.post("/appointments/{appointment_id}/doses")
def record_doses(appointment_id: str, page: Visit, form: Submitted) -> Response:
    """The doses given at a checked-in appointment, each from the lot scanned or typed (blank:
    the lot to use first). A lot that may not be used is refused with the reason."""
    actor = page.signed_in(*SITE_ROLES)
    appointment = _appointment(page, actor, appointment_id)
    form.values["appointment"] = appointment_id
    doses = [
        DoseGiven(cvx=cvx, lot_number=form.values.get(f"lot_{cvx}") or None)
        for cvx in appointment.vaccines
    ]
    try:
        with page.transaction() as session:
            booking.record_doses(session, actor, appointment_id, DosesIn(doses=doses), now())
    except (InvalidInput, Conflict) as refusal:
        form.error(*_dose_refusal(page, actor, doses, str(refusal)))
        return _render_day(page, actor, form, status=422)
    return page.redirect(f"/people/{appointment.person_id}?done=dose")


def _dose_refusal(
    page: Page, actor: Actor, doses: list[DoseGiven], message: str
) -> tuple[str, str]:
    """The field and message for refused doses: a lot's problem in the visitor's language."""
    for dose in doses:
        lot_number = dose.lot_number or ""
        if lot_number and lot_number.upper() in message.upper():
            with page.transaction() as session:
                lots = supply.list_lots(session, actor, lot_number=lot_number)
            explained = lot_problem(
                page,
                lots,
                lot_number,
                dose.cvx,
                date.today(),
                in_stock=False if "no stock" in message else None,
            )
            return f"lot_{dose.cvx}", explained or message
    return "_doses", message
