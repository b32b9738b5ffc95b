"""Reminder and recall lists for vaccinators (their site) and programme officers (their area, or
a site or smaller area in it), from the outreach room: who is due soon and who is late, for which
vaccines, and whether there is a phone to remind them on. Forecasting everyone can take a while,
so the page asks for the lists with htmx and shows the progress indicator meanwhile. A button
queues the reminders through the same room, each dose at most once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import cast
from urllib.parse import urlencode

from fastapi import APIRouter, Response

from immunis.access.policy import Actor
from immunis.analytics.provinces import province_tiles
from immunis.errors import InvalidInput, NotFound
from immunis.outreach import service as outreach
from immunis.outreach.schemas import DueListOut, ListSource, ProgrammeFilter
from immunis.web.i18n import N_
from immunis.web.pages.base import Page, PageRoute, Visit
from immunis.web.pages.due import group_name
from immunis.web.pages.forms import Form, Submitted
from immunis.web.pages.navigation import OFFICER_ROLES, REMINDER_ROLES

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DEFAULTS = {"site": "", "area": "", "window": "30", "on": "", "programme": "tcmr", "source": "live"}
MAX_WINDOW_DAYS = 366
# The days a list may be for; the registry holds no one born before the first.
FIRST_YEAR, LAST_YEAR = 1900, 2100
# People per list on the page: a province's list is for the command line; totals count everyone.
LIST_LIMIT = 500
PROGRAMMES = {
    "tcmr": N_("Expanded Programme (TCMR, free)"),
    "services": N_("Vaccination services (paid)"),
    "all": N_("Both"),
}
SOURCES = {
    "live": N_("Forecast each person now"),
    "batch": N_("The last population forecast (forecast-all)"),
}
NO_BATCH_RUN = N_(
    "No population forecast (immunis forecast-all) has been run for this day yet: "
    "choose to forecast each person now."
)


@dataclass(frozen=True)
class ListQuestion:
    """Whose lists, and how they are made."""

    scope: outreach.Scope
    request: outreach.ListRequest

    @property
    def site_code(self) -> str | None:
        return self.scope.site.code if self.scope.site else None

    def fields(self) -> dict[str, str]:
        """The question as form fields, for the results' address and the queue button."""
        return {
            "site": self.site_code or "",
            "area": self.scope.area_code or "",
            "window": str(self.request.window_days),
            "on": self.request.on.isoformat(),
            "programme": self.request.programme,
            "source": self.request.source,
        }

    @property
    def query(self) -> str:
        return urlencode(self.fields())


def _form(data: Mapping[str, str]) -> Form:
    """The fields as sent, an empty one standing for its default."""
    return Form({name: data.get(name) or default for name, default in DEFAULTS.items()})


def _window_days(page: Page, form: Form) -> int:
    message = page.gettext("Enter a number of days from 0 to %(most)s", most=MAX_WINDOW_DAYS)
    text = form.text("window", pattern=r"\d{1,3}", mismatch=message)
    days = int(text) if text and "window" not in form.errors else int(DEFAULTS["window"])
    if days > MAX_WINDOW_DAYS:
        form.error("window", message)
    return days


def _scope(page: Page, actor: Actor, form: Form) -> outreach.Scope | None:
    """The site or area asked for, else the actor's own. A place the actor may not see raises
    Forbidden (the 403 page, audited by the outreach room)."""
    site = form.values["site"] or None
    try:
        with page.transaction() as session:
            return outreach.resolve_scope(session, actor, site, form.values["area"] or None)
    except NotFound:
        form.error("site", page.gettext("No site has the code %(code)s", code=site))
    except InvalidInput:
        pass  # only a national officer has no site or area of their own: they name one first
    return None


def _question(page: Page, actor: Actor, form: Form) -> ListQuestion | None:
    """The question the form asks; None while a field is wrong (with a message beside it) or,
    for a national officer, until a site or an area is named."""
    form.text(
        "site", max_length=40, too_long=page.gettext("A site's code has at most 40 characters")
    )
    form.text(
        "area",
        pattern=r"\d{2}|\d{3}|\d{5}",
        mismatch=page.gettext(
            "Enter a province (2 digits), district (3 digits) or commune (5 digits) code"
        ),
    )
    window_days = _window_days(page, form)
    on = form.day(
        "on", None, page.gettext("Enter the date as day/month/year, for example 05/06/2026")
    )
    if on and not FIRST_YEAR <= on.year <= LAST_YEAR:
        form.error(
            "on",
            page.gettext(
                "Enter a day from %(first)s to %(last)s", first=FIRST_YEAR, last=LAST_YEAR
            ),
        )
    programme = form.choice("programme", list(PROGRAMMES), page.gettext("Choose the vaccines"))
    source = form.choice("source", list(SOURCES), page.gettext("Choose where the lists come from"))
    scope = _scope(page, actor, form) if form.ok else None
    if scope is None:
        return None
    request = outreach.ListRequest(
        on=on or date.today(),
        window_days=window_days,
        source=cast(ListSource, source),
        programme=cast(ProgrammeFilter, programme),
    )
    form.values.update(on=request.on.isoformat())
    return ListQuestion(scope, request)


def _options(page: Page, names: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(value, page.gettext(name)) for value, name in names.items()]


def _place(page: Page, scope: outreach.Scope) -> str:
    """The site or area in words: "Trạm Y tế phường Phúc Xá (HN-BADINH-01)", "Hà Nội (01)"."""
    if scope.site is not None:
        return f"{scope.site.name} ({scope.site.code})"
    code = scope.area_code or ""
    tile = province_tiles().get(code)
    return f"{tile.name} ({code})" if tile else page.gettext("Area %(code)s", code=code)


def _render(
    page: Page,
    actor: Actor,
    form: Form,
    question: ListQuestion | None,
    report: outreach.ReminderReport | None = None,
) -> Response:
    return page.render(
        "reminders.html",
        status=422 if form.errors else 200,
        title=page.gettext("Reminder lists"),
        question=question,
        place=_place(page, question.scope) if question else None,
        choose_place=actor.role in OFFICER_ROLES,
        programmes=_options(page, PROGRAMMES),
        sources=_options(page, SOURCES),
        report=report,
        values=form.values,
        errors=form.errors,
    )


@router.get("/reminders")
def reminders(page: Visit) -> Response:
    """The form; the lists are asked for by htmx once the page is shown."""
    actor = page.signed_in(*REMINDER_ROLES)
    form = _form(page.request.query_params)
    return _render(page, actor, form, _question(page, actor, form))


def _group_totals(page: Page, lists: DueListOut) -> list[tuple[str, int, int]]:
    """Per vaccine group: its name, the people due soon and the people late for it."""
    soon, late = lists.totals.due_soon_by_group, lists.totals.overdue_by_group
    rows = [
        (group_name(group, page.gettext), soon.get(group, 0), late.get(group, 0))
        for group in {*soon, *late}
    ]
    return sorted(rows)


@router.get("/reminders/results")
def reminder_results(page: Visit) -> Response:
    """The totals and the two lists, each person linked to their record."""
    actor = page.signed_in(*REMINDER_ROLES)
    question = _question(page, actor, _form(page.request.query_params))
    if question is None:
        return page.render("reminders_results.html", status=422, lists=None, problem=None)
    try:
        with page.transaction() as session:
            lists = outreach.due_list(
                session,
                actor,
                question.request,
                site_code=question.site_code,
                area_code=question.scope.area_code,
                limit=LIST_LIMIT,
            )
    except InvalidInput:
        # Once the place is known, the one thing left to refuse is a batch run that is missing.
        return page.render("reminders_results.html", lists=None, problem=page.gettext(NO_BATCH_RUN))
    return page.render(
        "reminders_results.html",
        lists=lists,
        problem=None,
        groups=_group_totals(page, lists),
        group=lambda code: group_name(code, page.gettext),
        limit=LIST_LIMIT,
    )


@router.post("/reminders/queue")
def queue_reminders(page: Visit, submitted: Submitted) -> Response:
    """Queue a reminder to everyone on the lists (a child's to a guardian) in the server's
    language; a dose someone was reminded of before is left out, so nobody is told twice."""
    actor = page.signed_in(*REMINDER_ROLES)
    form = _form(submitted.values)
    question = _question(page, actor, form)
    if question is None:
        return _render(page, actor, form, None)
    try:
        with page.transaction() as session:
            report = outreach.build_reminders(
                session,
                actor,
                question.request,
                site_code=question.site_code,
                area_code=question.scope.area_code,
                language=page.settings.language,
                base_url=page.settings.public_base_url,
            )
    except InvalidInput:
        form.error("source", page.gettext(NO_BATCH_RUN))
        return _render(page, actor, form, None)
    return _render(page, actor, form, question, report)
