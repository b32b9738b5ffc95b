"""Reporting a reaction after a dose (an AEFI), by a parent or a vaccinator, through the safety
room's service (which checks that the reporter may read the person's record)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Response
from pydantic import ValidationError

from immunis.access.policy import SITE_ROLES, Actor, Role
from immunis.errors import InvalidInput
from immunis.registry import service as registry
from immunis.safety import service as safety
from immunis.safety.schemas import AefiReportIn, EventIn, SuspectedDoseIn
from immunis.safety.workflow import Outcome, Seriousness
from immunis.web.i18n import N_, format_day
from immunis.web.pages.base import Page, PageRoute, Visit
from immunis.web.pages.due import vaccine_name
from immunis.web.pages.forms import Form, Submitted

router = APIRouter(route_class=PageRoute, include_in_schema=False)

REPORTERS = (Role.CITIZEN, *SITE_ROLES)
SERIOUSNESS = {
    Seriousness.HOSPITALIZATION: N_("Admitted to hospital"),
    Seriousness.LIFE_THREATENING: N_("Life was in danger"),
    Seriousness.DISABILITY: N_("Lasting disability"),
    Seriousness.DEATH: N_("Died"),
    Seriousness.OTHER_IMPORTANT: N_("Another serious medical event"),
}
OUTCOMES = {
    Outcome.RECOVERED: N_("Recovered"),
    Outcome.RECOVERING: N_("Getting better"),
    Outcome.NOT_RECOVERED: N_("Not recovered yet"),
    Outcome.SEQUELAE: N_("Recovered, with lasting effects"),
    Outcome.DIED: N_("Died"),
    Outcome.UNKNOWN: N_("Not known"),
}


def _render(
    page: Page, actor: Actor, person_id: str, form: Form | None = None, status: int = 200
) -> Response:
    schedule = page.settings.default_schedule
    with page.transaction() as session:
        person = registry.get_person(session, actor, person_id)
        doses = [
            d
            for d in reversed(registry.list_immunizations(session, actor, person_id))
            if d.status == "completed"
        ]
    dose_choices = [
        (
            d.id,
            f"{format_day(d.date_administered, page.language, 'short')} · "
            f"{vaccine_name(d.cvx, d.product_name, schedule)}",
        )
        for d in doses
    ]
    return page.render(
        "reaction.html",
        status=status,
        title=page.gettext("Report a reaction after a dose"),
        person=person,
        dose_choices=dose_choices,
        events=[(t.code, page.gettext(t.name)) for t in safety.list_terms()],
        seriousness=[(s.value, page.gettext(label)) for s, label in SERIOUSNESS.items()],
        outcomes=[(o.value, page.gettext(label)) for o, label in OUTCOMES.items()],
        values=form.values if form else {"outcome": Outcome.UNKNOWN.value},
        chosen={
            "doses": form.all("doses") if form else [d for d, _ in dose_choices[:1]],
            "events": form.all("events") if form else [],
            "seriousness": form.all("seriousness") if form else [],
        },
        errors=form.errors if form else {},
    )


@router.get("/people/{person_id}/reactions/new")
def reaction_form(person_id: str, page: Visit) -> Response:
    return _render(page, page.signed_in(*REPORTERS), person_id)


def _given_on(page: Page, actor: Actor, person_id: str) -> dict[str, date]:
    with page.transaction() as session:
        return {
            d.id: d.date_administered
            for d in registry.list_immunizations(session, actor, person_id)
            if d.status == "completed"
        }


def _report_from_form(
    page: Page, form: Form, person_id: str, given_on: dict[str, date]
) -> AefiReportIn | None:
    doses = [d for d in form.all("doses") if d in given_on]
    if not doses:
        form.error("doses", page.gettext("Choose the dose the reaction came after"))
    onset = form.day(
        "onset_date",
        page.gettext("Enter the day the reaction began"),
        page.gettext("Enter the date as day/month/year, for example 05/06/2026"),
    )
    if onset is not None and onset > date.today():
        form.error("onset_date", page.gettext("The day the reaction began cannot be in the future"))
    if onset is not None and any(onset < given_on[d] for d in doses):
        form.error(
            "onset_date", page.gettext("The reaction cannot begin before the dose was given")
        )
    events = form.all("events")
    if not events:
        form.error("events", page.gettext("Choose what happened (at least one)"))
    description = form.text(
        "description",
        page.gettext("Describe what happened"),
        max_length=5000,
        too_long=page.gettext("Please keep the description under 5000 characters"),
    )
    if "OTHER" in events and not description:
        form.error("description", page.gettext("Describe the other event"))
    phone = form.text(
        "reporter_phone",
        pattern=r"\+?\d{9,15}",
        mismatch=page.gettext("Enter a phone number of 9 to 15 digits, for example 0912345678"),
    )
    outcome = form.choice(
        "outcome", [o.value for o in Outcome], page.gettext("Choose how the person is now")
    )
    if not form.ok or onset is None or description is None or outcome is None:
        return None
    try:
        return AefiReportIn(
            person_id=person_id,
            doses=[SuspectedDoseIn(immunization_id=d) for d in doses],
            onset_date=onset,
            events=[
                EventIn(code=code, text=description if code == "OTHER" else None) for code in events
            ],
            description=description,
            seriousness=[Seriousness(s) for s in form.all("seriousness") if s in set(Seriousness)],
            outcome=Outcome(outcome),
            reporter_designation=form.values.get("reporter_designation") or None,
            reporter_phone=phone,
        )
    except (ValidationError, ValueError):
        form.error("_report", page.gettext("Some of the choices are not valid: check them again"))
        return None


@router.post("/people/{person_id}/reactions")
def report_reaction(person_id: str, page: Visit, form: Submitted) -> Response:
    actor = page.signed_in(*REPORTERS)
    report = _report_from_form(page, form, person_id, _given_on(page, actor, person_id))
    if report is not None:
        try:
            with page.transaction() as session:
                safety.create_report(session, actor, report)
        except InvalidInput as refusal:
            form.error("_report", str(refusal))
    if not form.ok:
        return _render(page, actor, person_id, form, status=422)
    return page.redirect(f"/people/{person_id}?done=reaction")
