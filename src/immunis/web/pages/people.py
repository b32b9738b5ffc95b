"""A person's record: the family page of a citizen, the record itself (doses, what is due), the
certificate, and the dose form of a vaccinator. Every read goes through the registry's service,
so a citizen sees only their own family and a vaccinator only the people of their site."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from immunis.access.policy import SITE_ROLES, Actor, Role
from immunis.booking import service as booking
from immunis.booking.lifecycle import HOLDING_DOSES, AppointmentStatus
from immunis.errors import Conflict, InvalidInput, NotFound
from immunis.registry import service as registry
from immunis.registry import sites
from immunis.registry.schemas import ImmunizationIn, ImmunizationOut, PersonOut
from immunis.schedule.catalog import load_schedule
from immunis.supply import service as supply
from immunis.supply.release import ReleaseStatus
from immunis.supply.schemas import LotOut
from immunis.web.certificate import certificate_of, render_pdf, seal
from immunis.web.i18n import N_, format_day
from immunis.web.pages.base import Page, PageRoute, Visit
from immunis.web.pages.due import DueSummary, cvx_name, summarize, vaccine_name
from immunis.web.pages.forms import Form, Submitted
from immunis.web.session import secret_key

router = APIRouter(route_class=PageRoute, include_in_schema=False)

NOT_USABLE = {
    ReleaseStatus.PENDING: N_(
        "Lot %(lot)s is waiting for release by the national control laboratory: do not use it."
    ),
    ReleaseStatus.REJECTED: N_(
        "Lot %(lot)s was rejected by the national control laboratory: do not use it."
    ),
    ReleaseStatus.QUARANTINED: N_("Lot %(lot)s is in quarantine: do not use it."),
    ReleaseStatus.RECALLED: N_("Lot %(lot)s has been recalled: do not use it."),
}
NOTICES = {
    "dose": N_("The dose is recorded."),
    "booked": N_("The appointment is booked."),
    "moved": N_("The appointment is moved."),
    "cancelled": N_("The appointment is cancelled."),
    "reaction": N_("Thank you: the reaction is reported. A health worker may call you."),
}


@dataclass(frozen=True)
class RecordRow:
    dose: ImmunizationOut
    vaccine: str
    site: str


@dataclass(frozen=True)
class Upcoming:
    """An appointment still to come, as the record page lists it."""

    id: str
    when: str
    site: str
    vaccines: str
    checked_in: bool


@dataclass(frozen=True)
class PersonView:
    person: PersonOut
    rows: list[RecordRow]
    due: DueSummary
    age: str
    appointments: list[Upcoming]


def age_text(born: date, today: date, page: Page) -> str:
    months = (today.year - born.year) * 12 + today.month - born.month - (today.day < born.day)
    if months < 1:
        return page.gettext("%(days)s days old", days=(today - born).days)
    if months < 24:
        return page.gettext("%(months)s months old", months=months)
    return page.gettext("%(years)s years old", years=months // 12)


def _site_names(session: Session, actor: Actor, site_ids: set[str]) -> dict[str, str]:
    names = {}
    for site_id in site_ids:
        try:
            names[site_id] = sites.get_site(session, actor, site_id).name
        except NotFound:
            names[site_id] = ""
    return names


def load_person(page: Page, session: Session, actor: Actor, person_id: str) -> PersonView:
    """Everything the record page shows of one person (each read audited by the registry)."""
    schedule = page.settings.default_schedule
    today = date.today()
    person = registry.get_person(session, actor, person_id)
    doses = registry.list_immunizations(session, actor, person_id)
    _, answer = registry.person_forecast(session, actor, person_id, today, schedule)
    names = _site_names(session, actor, {d.site_id for d in doses if d.site_id})
    rows = [
        RecordRow(
            dose=d,
            vaccine=vaccine_name(d.cvx, d.product_name, schedule),
            site=names.get(d.site_id or "", ""),
        )
        for d in reversed(doses)
    ]
    return PersonView(
        person=person,
        rows=rows,
        due=summarize(answer, today, page.language, page.gettext),
        age=age_text(person.birth_date, today, page),
        appointments=_upcoming(page, session, actor, person_id, today),
    )


def _upcoming(
    page: Page, session: Session, actor: Actor, person_id: str, today: date
) -> list[Upcoming]:
    """The person's appointments still to come, soonest first."""
    schedule = page.settings.default_schedule
    names = _site_names(session, actor, set())
    found = []
    for appointment in booking.person_appointments(session, actor, person_id):
        if appointment.day < today or appointment.status not in HOLDING_DOSES:
            continue
        if appointment.site_id not in names:
            names.update(_site_names(session, actor, {appointment.site_id}))
        found.append(
            Upcoming(
                id=appointment.id,
                when=page.gettext(
                    "%(day)s, %(start)s to %(end)s",
                    day=format_day(appointment.day, page.language),
                    start=appointment.slot_start.strftime("%H:%M"),
                    end=appointment.slot_end.strftime("%H:%M"),
                ),
                site=names[appointment.site_id],
                vaccines=", ".join(
                    cvx_name(c, page.language, schedule) for c in appointment.vaccines
                ),
                checked_in=appointment.status is AppointmentStatus.CHECKED_IN,
            )
        )
    return list(reversed(found))


def _vaccine_choices(page: Page) -> list[tuple[str, str]]:
    schedule = load_schedule(page.settings.default_schedule)
    return sorted(
        ((cvx, f"{v.short_description} (CVX {cvx})") for cvx, v in schedule.vaccines.items()),
        key=lambda choice: choice[1].lower(),
    )


def render_person(
    page: Page,
    actor: Actor,
    person_id: str,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    with page.transaction() as session:
        view = load_person(page, session, actor, person_id)
    notice = NOTICES.get(page.request.query_params.get("done", ""))
    return page.render(
        "person.html",
        status=status,
        title=f"{view.person.family_name} {view.person.given_name}",
        view=view,
        notice=page.gettext(notice) if notice else None,
        may_record=actor.role in SITE_ROLES,
        may_report=actor.role in (Role.CITIZEN, *SITE_ROLES),
        may_book=actor.role in (Role.CITIZEN, *SITE_ROLES),
        is_citizen=actor.role is Role.CITIZEN,
        vaccines=_vaccine_choices(page) if actor.role in SITE_ROLES else [],
        values=values or {"given_on": date.today().isoformat()},
        errors=errors or {},
    )


@router.get("/family")
def family(page: Visit) -> Response:
    """A citizen's own record and their dependants', each with what is due now."""
    actor = page.signed_in(Role.CITIZEN)
    members = []
    with page.transaction() as session:
        for person_id in [actor.person_id, *sorted(actor.dependant_ids)]:
            if person_id:
                members.append(load_person(page, session, actor, person_id))
    return page.render("family.html", title=page.gettext("My family"), members=members)


@router.get("/people/{person_id}")
def person(person_id: str, page: Visit) -> Response:
    return render_person(page, page.signed_in(), person_id)


def lot_problem(
    page: Page,
    lots: list[LotOut],
    lot_number: str,
    cvx: str,
    on: date,
    in_stock: bool | None = None,
) -> str | None:
    """Why a lot may not be used for a dose of `cvx` on `on`, in the visitor's language, in the
    order the dose check looks (None: nothing wrong that the lot itself shows)."""
    values: dict[str, Any] = {"lot": lot_number.strip().upper()}
    if not lots:
        return page.gettext(
            "Lot %(lot)s is not registered. Check the number on the vial.", **values
        )
    same = [lot for lot in lots if lot.cvx == cvx] or lots
    lot = same[0]
    if lot.cvx != cvx:
        values["vaccine"] = vaccine_name(lot.cvx, lot.product_name, page.settings.default_schedule)
        return page.gettext("Lot %(lot)s is another vaccine: %(vaccine)s.", **values)
    if lot.release_status is not ReleaseStatus.RELEASED:
        message = page.gettext(NOT_USABLE[lot.release_status], **values)
        return f"{message} ({lot.status_reason})" if lot.status_reason else message
    if lot.expiry_date < on:
        values["expiry"] = format_day(lot.expiry_date, page.language)
        return page.gettext("Lot %(lot)s expired on %(expiry)s: do not use it.", **values)
    if in_stock is False:
        return page.gettext("Lot %(lot)s has no stock at this site.", **values)
    return None


def _dose_from_form(
    page: Page, form: Form, session: Session, actor: Actor, born: date
) -> ImmunizationIn | None:
    """The dose the vaccinator described: the vaccine comes from the lot when it is registered."""
    lot_number = form.text(
        "lot_number",
        page.gettext("Scan or type the lot number on the vial"),
        max_length=50,
        too_long=page.gettext("A lot number has at most 50 characters"),
    )
    given_on = form.day(
        "given_on",
        page.gettext("Enter the date the dose was given"),
        page.gettext("Enter the date as day/month/year, for example 05/06/2026"),
    )
    if given_on is not None and given_on > date.today():
        form.error("given_on", page.gettext("The date the dose was given cannot be in the future"))
    if given_on is not None and given_on < born:
        form.error("given_on", page.gettext("The date the dose was given is before the birth date"))
    chosen = form.values.get("cvx") or None
    if not form.ok or lot_number is None or given_on is None:
        return None
    lots = supply.list_lots(session, actor, lot_number=lot_number)
    matching = [lot for lot in lots if chosen is None or lot.cvx == chosen]
    if len(matching) > 1:
        form.error(
            "cvx",
            page.gettext(
                "Several vaccines have lot number %(lot)s: choose the vaccine", lot=lot_number
            ),
        )
        return None
    if not matching and chosen is None:
        form.error(
            "lot_number",
            page.gettext(
                "Lot %(lot)s is not registered. Check the number on the vial, or choose the "
                "vaccine below.",
                lot=lot_number.upper(),
            ),
        )
        return None
    lot = matching[0] if matching else None
    return ImmunizationIn(
        date_administered=given_on,
        cvx=lot.cvx if lot else chosen or "",
        mvx=lot.mvx if lot else None,
        product_name=lot.product_name if lot else None,
        lot_number=lot.lot_number if lot else lot_number,
        expiration_date=lot.expiry_date if lot else None,
        performer=actor.username,
    )


def _refusal_message(
    page: Page, actor: Actor, dose: ImmunizationIn | None, message: str
) -> tuple[str, str]:
    """The field and message for a dose the registry refused. The supply room's lot refusals
    all begin "lot ...": those are explained from the lot's own state, in the visitor's language;
    anything else is shown as the registry said it."""
    if dose is None or not dose.lot_number or not message.lower().startswith("lot "):
        return "_dose", message
    with page.transaction() as session:
        lots = supply.list_lots(session, actor, lot_number=dose.lot_number)
    explained = lot_problem(
        page,
        lots,
        dose.lot_number,
        dose.cvx,
        dose.date_administered,
        in_stock=False if "no stock" in message else None,
    )
    if explained is None:
        return "lot_number", message
    return "lot_number", explained


@router.post("/people/{person_id}/doses")
def record_dose(person_id: str, page: Visit, form: Submitted) -> Response:
    """Record a dose given here: the lot is checked (released, unexpired, in stock) and the dose
    comes out of the site's stock, or the form comes back saying why not."""
    actor = page.signed_in(*SITE_ROLES)
    dose = None
    try:
        with page.transaction() as session:
            born = registry.get_person(session, actor, person_id).birth_date
            dose = _dose_from_form(page, form, session, actor, born)
            if dose is not None:
                registry.record_immunization(session, actor, person_id, dose)
    except (InvalidInput, Conflict) as refusal:
        form.error(*_refusal_message(page, actor, dose, str(refusal)))
    if not form.ok:
        return render_person(
            page, actor, person_id, status=422, values=form.values, errors=form.errors
        )
    return page.redirect(f"/people/{person_id}?done=dose")


@router.get("/people/{person_id}/certificate.pdf")
def certificate(person_id: str, page: Visit) -> Response:
    """The vaccination certificate as a PDF, sealed, with the QR code of its verification link."""
    actor = page.signed_in()
    schedule = page.settings.default_schedule
    with page.transaction() as session:
        person = registry.get_person(session, actor, person_id)
        doses = registry.list_immunizations(session, actor, person_id)
    sealed = certificate_of(
        person, doses, date.today(), lambda d: vaccine_name(d.cvx, d.product_name, schedule)
    )
    code, signature = seal(sealed, secret_key(page.settings))
    url = str(page.request.url_for("verify").include_query_params(c=code, s=signature))
    pdf = render_pdf(sealed, url, page.language, page.gettext)
    filename = f"vaccination-certificate-{date.today().isoformat()}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
