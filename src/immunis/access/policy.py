"""Who may do what to whose record: roles, sites and areas, as pure functions.

A vaccinator's reach is the people of their site: registered there, living in its commune, given
a dose there, or identified there by national ID (a grant). Officers read the people living in
their area (a 2-digit province or 3-digit district code). Citizens see themselves and their
dependants. Lab staff and administrators see no personal records, except the recall list of a
lot (who received it), which the lab and national officers need to run a recall.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    CITIZEN = "citizen"
    VACCINATOR = "vaccinator"
    INTEGRATION = "integration"  # another system (a private chain's EMR) sending for its site
    DISTRICT_OFFICER = "district_officer"
    PROVINCE_OFFICER = "province_officer"
    NATIONAL_OFFICER = "national_officer"
    LAB = "lab"
    SAFETY_OFFICER = "safety_officer"
    ADMIN = "admin"


class Action(StrEnum):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    RECORD_DOSE = "record_dose"
    MERGE = "merge"
    SEARCH = "search"
    MANAGE = "manage"  # users, sites, organisations, products
    REGISTER_LOT = "register_lot"
    RELEASE_LOT = "release_lot"  # the national control laboratory's lot release decision
    MANAGE_STOCK = "manage_stock"  # which stores: supply/stores.py
    VIEW_LOTS = "view_lots"
    RECALL_LIST = "recall_list"  # who received a lot: personal data, for a recall


SITE_ROLES = frozenset({Role.VACCINATOR, Role.INTEGRATION})
AREA_ROLES = frozenset({Role.DISTRICT_OFFICER, Role.PROVINCE_OFFICER})


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated user as the rules see them."""

    user_id: str
    username: str
    role: Role
    site_id: str | None = None
    site_commune_code: str | None = None
    area_code: str | None = None
    person_id: str | None = None
    dependant_ids: frozenset[str] = field(default_factory=frozenset)
    channel: str = "api"


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What the rules need to know about a person's record."""

    person_id: str
    managing_site_id: str | None
    province_code: str | None
    district_code: str | None
    commune_code: str | None
    dosed_at_sites: frozenset[str] = field(default_factory=frozenset)
    granted_sites: frozenset[str] = field(default_factory=frozenset)


def in_site_reach(actor: Actor, person: PersonFacts) -> bool:
    if actor.site_id is None:
        return False
    return (
        person.managing_site_id == actor.site_id
        or actor.site_id in person.dosed_at_sites
        or actor.site_id in person.granted_sites
        or (actor.site_commune_code is not None and person.commune_code == actor.site_commune_code)
    )


def in_area(actor: Actor, person: PersonFacts) -> bool:
    code = actor.area_code or ""
    if len(code) == 2:
        return person.province_code == code
    if len(code) == 3:
        return person.district_code == code
    return False


def may_act_on_person(actor: Actor, action: Action, person: PersonFacts) -> bool:
    """Whether `actor` may do `action` to this person's record."""
    role = actor.role
    if role is Role.CITIZEN:
        own = person.person_id == actor.person_id or person.person_id in actor.dependant_ids
        return own and action is Action.READ
    if role in SITE_ROLES:
        return action in (Action.READ, Action.UPDATE, Action.RECORD_DOSE) and in_site_reach(
            actor, person
        )
    if role in AREA_ROLES:
        return action in (Action.READ, Action.MERGE) and in_area(actor, person)
    if role is Role.NATIONAL_OFFICER:
        return action in (Action.READ, Action.MERGE)
    if role is Role.SAFETY_OFFICER:
        return action is Action.READ
    return False


def may(actor: Actor, action: Action) -> bool:
    """Whether the role may do `action` at all (before looking at whose record)."""
    role = actor.role
    if action is Action.CREATE:
        return role in SITE_ROLES
    if action is Action.SEARCH:
        return (
            role in SITE_ROLES
            or role in AREA_ROLES
            or role
            in (
                Role.NATIONAL_OFFICER,
                Role.SAFETY_OFFICER,
            )
        )
    if action is Action.MANAGE:
        return role is Role.ADMIN
    if action is Action.MERGE:
        return role in AREA_ROLES or role is Role.NATIONAL_OFFICER
    if action in (Action.READ,):
        return role not in (Role.LAB, Role.ADMIN)
    if action in (Action.UPDATE, Action.RECORD_DOSE):
        return role in SITE_ROLES
    if action is Action.REGISTER_LOT:
        return role in (Role.LAB, Role.NATIONAL_OFFICER, Role.ADMIN)
    if action is Action.RELEASE_LOT:
        return role is Role.LAB
    if action is Action.MANAGE_STOCK:
        return role in SITE_ROLES or role in AREA_ROLES or role is Role.NATIONAL_OFFICER
    if action is Action.VIEW_LOTS:
        return role is not Role.CITIZEN
    if action is Action.RECALL_LIST:
        return role in (Role.LAB, Role.NATIONAL_OFFICER)
    return False
