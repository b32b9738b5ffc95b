"""Who may see coverage figures, and of which area: pure rules on the actor.

Programme officers see aggregates of their own area (a province officer may narrow to a district
or commune of it, a district officer to a commune); national officers see everything. Nobody
gets person-level data from analytics: only counts and percentages leave it.
"""

from __future__ import annotations

from dataclasses import dataclass

from immunis.access.policy import AREA_ROLES, Actor, Role

LEVEL_CODE_LENGTH = {"national": 0, "province": 2, "district": 3, "commune": 5}


@dataclass(frozen=True, slots=True)
class Reach:
    """What a coverage request may read: the registry's people of `read_area` (None: all),
    narrowed in the query to `query_area`."""

    read_area: str | None
    query_area: str | None


def may_see_coverage(actor: Actor) -> bool:
    """District, province and national programme officers."""
    return actor.role in AREA_ROLES or actor.role is Role.NATIONAL_OFFICER


def coverage_reach(actor: Actor, by: str, area_code: str | None) -> Reach | None:
    """The reach of a request grouped `by` a level and limited to `area_code`; None when the
    actor may not make it (another area, or grouping coarser than their own area)."""
    if not may_see_coverage(actor):
        return None
    if actor.role is Role.NATIONAL_OFFICER:
        return Reach(None, area_code)
    own = actor.area_code or ""
    if LEVEL_CODE_LENGTH.get(by, 0) < len(own):
        return None
    if area_code is None or area_code == own:
        return Reach(own, None)
    if len(area_code) > len(own):
        # A smaller area: read only the officer's own people, then narrow to it.
        return Reach(own, area_code)
    return None
