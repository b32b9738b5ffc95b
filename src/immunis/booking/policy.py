"""Who may do what in booking: pure rules on the actor and the site.

Whose appointment it is, is the registry's check: a citizen books for the people whose record
they may read (themselves and their dependants), a site's staff for the people of their site.
The rules here say which roles take part, and at which sites.
"""

from __future__ import annotations

from immunis.access.policy import SITE_ROLES, Actor, Role
from immunis.errors import Forbidden


def works_at(actor: Actor, site_id: str) -> bool:
    """A site's own staff: its vaccinators (and its integration account)."""
    return actor.role in SITE_ROLES and actor.site_id == site_id


def may_plan(actor: Actor, site_id: str) -> bool:
    """Opening hours, vaccines offered and clinic sessions: the site's staff, or an admin."""
    return works_at(actor, site_id) or actor.role is Role.ADMIN


def may_book_at(actor: Actor, site_id: str) -> bool:
    """Booking, rescheduling and cancelling: citizens at any site; a site's staff at their own
    site (the registry checks whose appointment it is)."""
    return actor.role is Role.CITIZEN or works_at(actor, site_id)


def grants_site_access(actor: Actor) -> bool:
    """A booking by someone who is not the site's staff (a citizen: the only one who may book at
    a site they do not work at) lets the site see the person's record for a while."""
    return actor.role is Role.CITIZEN


def refusal(actor: Actor, action: str, entity_type: str, entity_id: str, what: str) -> Forbidden:
    """The Forbidden to raise when the actor may not do `what` (it is written to the audit log)."""
    return Forbidden(
        f"{actor.username} ({actor.role.value}) may not {what}",
        user_id=actor.user_id,
        role=actor.role.value,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
    )
