"""The vaccinator's screens: find a person (diacritics optional), register a new one with a
warning when they may be recorded already, and the site's stock."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Response
from pydantic import ValidationError

from immunis.access.policy import SITE_ROLES, Actor
from immunis.errors import Conflict, InvalidInput
from immunis.registry import service as registry
from immunis.registry import sites
from immunis.registry.duplicates import find_likely_duplicates
from immunis.registry.schemas import Address, GuardianLink, PersonIn, PersonMatch
from immunis.supply import service as supply
from immunis.web.i18n import N_
from immunis.web.pages.base import Page, PageRoute, Visit
from immunis.web.pages.forms import Form, Submitted
from immunis.web.pages.lots import status_names

router = APIRouter(route_class=PageRoute, include_in_schema=False)

EXPIRY_WARNING_DAYS = 60
SEXES = {
    "female": N_("Female"),
    "male": N_("Male"),
    "other": N_("Other"),
    "unknown": N_("Not known"),
}


def _criteria(query: str) -> dict[str, str]:
    """What a search box holds: 12 or 9 digits a national ID, other digits a phone, else a name."""
    compact = query.replace(" ", "")
    if re.fullmatch(r"\d{12}|\d{9}", compact):
        return {"national_id": compact}
    if re.fullmatch(r"\+?\d{10,15}", compact):
        return {"phone": compact}
    return {"name": query}


@router.get("/clinic")
def clinic(page: Visit, q: str = "", born: str = "") -> Response:
    """The search page; htmx asks for the results alone as the vaccinator types."""
    actor = page.signed_in(*SITE_ROLES)
    form = Form({"q": q, "born": born})
    results = _search(page, actor, form) if q or born else None
    template = "clinic_results.html" if page.partial() else "clinic.html"
    return page.render(
        template,
        title=page.gettext("Find a person"),
        results=results,
        values=form.values,
        errors=form.errors,
    )


def _search(page: Page, actor: Actor, form: Form) -> list[Any] | None:
    query = form.values.get("q", "")
    born = form.day(
        "born", None, page.gettext("Enter the date as day/month/year, for example 05/06/2026")
    )
    criteria: dict[str, Any] = _criteria(query) if query else {}
    if "name" in criteria and len(query) < 2:
        form.error("q", page.gettext("Type at least two letters of the name"))
    if born:
        criteria["birth_date"] = born
    if not form.ok or not criteria:
        return None
    with page.transaction() as session:
        return registry.search_persons(session, actor, limit=30, **criteria)


def _site_address(page: Page, actor: Actor) -> dict[str, str]:
    """The new person's address starts as the site's: most people live near their station."""
    if actor.site_id is None:
        return {}
    with page.transaction() as session:
        address = sites.get_site(session, actor, actor.site_id).address
    if address is None:
        return {}
    return {
        "province_code": address.province_code or "",
        "district_code": address.district_code or "",
        "commune_code": address.commune_code or "",
    }


def _render_form(
    page: Page,
    form: Form | None,
    *,
    matches: list[PersonMatch] | None = None,
    status: int = 200,
) -> Response:
    return page.render(
        "register.html",
        status=status,
        title=page.gettext("Register a person"),
        values=form.values if form else {"sex": "unknown", **_site_address(page, page.signed_in())},
        errors=form.errors if form else {},
        sexes=[(value, page.gettext(label)) for value, label in SEXES.items()],
        matches=matches or [],
    )


@router.get("/people/new")
def register_form(page: Visit) -> Response:
    page.signed_in(*SITE_ROLES)
    return _render_form(page, None)


def _person_from_form(page: Page, form: Form, actor: Actor) -> PersonIn | None:
    family = form.text("family_name", page.gettext("Enter the family name"), max_length=100)
    given = form.text("given_name", page.gettext("Enter the given name"), max_length=100)
    born = form.day(
        "birth_date",
        page.gettext("Enter the date of birth"),
        page.gettext("Enter the date as day/month/year, for example 05/06/2026"),
    )
    if born is not None and born > date.today():
        form.error("birth_date", page.gettext("The date of birth cannot be in the future"))
    if born is not None and born.year < 1900:
        form.error("birth_date", page.gettext("Check the year of birth"))
    sex = form.choice("sex", list(SEXES), page.gettext("Choose the sex"))
    national_id = form.text(
        "national_id",
        pattern=r"\d{12}|\d{9}",
        mismatch=page.gettext("A national ID has 12 digits (an old ID card 9)"),
    )
    phone = form.text(
        "phone",
        pattern=r"\+?\d{9,15}",
        mismatch=page.gettext("Enter a phone number of 9 to 15 digits, for example 0912345678"),
    )
    codes = {
        "province_code": (r"\d{2}", page.gettext("A province code has 2 digits")),
        "district_code": (r"\d{3}", page.gettext("A district code has 3 digits")),
        "commune_code": (r"\d{5}", page.gettext("A commune code has 5 digits")),
    }
    address = {
        name: form.text(name, pattern=rule, mismatch=why) for name, (rule, why) in codes.items()
    }
    guardians = _guardian(page, form, actor)
    if not form.ok or family is None or given is None or born is None or sex is None:
        return None
    try:
        return PersonIn(
            family_name=family,
            given_name=given,
            birth_date=born,
            sex=sex,  # type: ignore[arg-type]
            national_id=national_id,
            phone=phone,
            address=Address(line=form.values.get("address_line") or None, **address),
            guardians=guardians,
        )
    except ValidationError:
        form.error("_person", page.gettext("Some of the details are not valid: check them again"))
        return None


def _guardian(page: Page, form: Form, actor: Actor) -> list[GuardianLink]:
    """A child's parent, found by their national ID (their account then sees the child)."""
    national_id = form.text(
        "guardian_national_id",
        pattern=r"\d{12}|\d{9}",
        mismatch=page.gettext("A national ID has 12 digits (an old ID card 9)"),
    )
    if national_id is None or "guardian_national_id" in form.errors:
        return []
    with page.transaction() as session:
        found = registry.search_persons(session, actor, national_id=national_id)
    if not found:
        form.error(
            "guardian_national_id",
            page.gettext("Nobody with this national ID is registered: register the parent first"),
        )
        return []
    return [GuardianLink(guardian_id=found[0].id, relationship="parent")]


@router.post("/people/new")
def register(page: Visit, form: Submitted) -> Response:
    """Register a person, unless they may be recorded already and the vaccinator has not yet
    said that they are someone else."""
    actor = page.signed_in(*SITE_ROLES)
    data = _person_from_form(page, form, actor)
    if data is None:
        return _render_form(page, form, status=422)
    try:
        with page.transaction() as session:
            matches = find_likely_duplicates(session, actor, data)
            if matches and form.values.get("confirmed_new") != "yes":
                created = None
            else:
                created = registry.create_person(session, actor, data)
    except (Conflict, InvalidInput) as refusal:
        field = "national_id" if "national ID" in str(refusal) else "_person"
        message = (
            page.gettext("This national ID belongs to someone already registered: search for them")
            if field == "national_id"
            else str(refusal)
        )
        form.error(field, message)
        return _render_form(page, form, status=422)
    if created is None:
        return _render_form(page, form, matches=matches, status=409)
    return page.redirect(f"/people/{created.id}")


@router.get("/stock")
def stock(page: Visit) -> Response:
    """What the site holds, soonest expiry first, and what expires within two months."""
    actor = page.signed_in(*SITE_ROLES)
    today = date.today()
    site_id = actor.site_id or ""
    with page.transaction() as session:
        site = sites.get_site(session, actor, site_id)
        balances = supply.site_balances(session, actor, site_id, today)
        warnings = supply.expiry_warnings(
            session, actor, today, EXPIRY_WARNING_DAYS, site_id=site_id
        )
    return page.render(
        "stock.html",
        title=page.gettext("Stock at %(site)s", site=site.name),
        balances=balances,
        warnings=warnings,
        today=today,
        status_names=status_names(page),
    )
