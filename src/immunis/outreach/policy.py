"""Who may see the reminder and recall lists, and of what (pure rules on the actor).

The lists name people, so they follow the registry's reach: a vaccinator sees the list of their
own site, a district or province officer the lists of their area (or of a site or smaller area
in it), a national officer any list. The people on a list are then only those the registry lets
the actor read. Nobody else gets a list, not even its totals.
"""

from __future__ import annotations

from immunis.access.policy import AREA_ROLES, SITE_ROLES, Actor, Role


def may_list(
    actor: Actor,
    site_id: str | None,
    area_code: str | None,
    site_area: tuple[str | None, str | None] = (None, None),
) -> bool:
    """Whether `actor` may see the list of a site (whose province and district codes are
    `site_area`) or of an area (a 2-digit province, 3-digit district or 5-digit commune code)."""
    if site_id is None and area_code is None:
        return False
    if actor.role in SITE_ROLES:
        return area_code is None and site_id == actor.site_id
    if actor.role in AREA_ROLES:
        own = actor.area_code or ""
        if site_id is not None and own not in site_area:
            return False
        # A smaller area than their own: the registry's reach keeps them inside their own.
        return area_code is None or area_code == own or len(area_code) > len(own)
    return actor.role is Role.NATIONAL_OFFICER
