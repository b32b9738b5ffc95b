"""Where each role starts and which pages its menu lists (only pages that exist)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from immunis.access.policy import AREA_ROLES, SITE_ROLES, Actor, Role
from immunis.web.i18n import N_

OFFICER_ROLES = frozenset({*AREA_ROLES, Role.NATIONAL_OFFICER})
# Who may see reminder lists (their site's or area's); outreach's policy narrows it further.
REMINDER_ROLES = frozenset({*SITE_ROLES, *OFFICER_ROLES})


@dataclass(frozen=True)
class NavItem:
    url: str
    label: str


def _menu(actor: Actor) -> list[tuple[str, str]]:
    if actor.role is Role.CITIZEN:
        return [("/family", N_("My family")), ("/vaccines", N_("About the vaccines"))]
    if actor.role in SITE_ROLES:
        return [
            ("/clinic", N_("Find a person")),
            ("/clinic/today", N_("Today")),
            ("/people/new", N_("Register")),
            ("/stock", N_("Stock")),
            ("/reminders", N_("Reminders")),
        ]
    if actor.role in OFFICER_ROLES:
        items = [("/coverage", N_("Coverage")), ("/reminders", N_("Reminders"))]
        if actor.role is Role.NATIONAL_OFFICER:
            items.append(("/lots", N_("Vaccine lots")))
        return items
    if actor.role is Role.LAB:
        return [("/lots", N_("Vaccine lots"))]
    if actor.role is Role.SAFETY_OFFICER:
        return [("/aefi", N_("Reactions (AEFI)"))]
    return []


def home_of(actor: Actor) -> str | None:
    """The first page of the actor's menu; None for roles that work from the command line."""
    menu = _menu(actor)
    return menu[0][0] if menu else None


def navigation(actor: Actor | None, gettext: Callable[[str], str]) -> list[NavItem]:
    if actor is None:
        return []
    return [NavItem(url, gettext(label)) for url, label in _menu(actor)]
