"""Who may do what with AEFI reports, signal runs and lot alerts: pure rules on the actor.

Reporting a reaction is authorized like reading the person's record (a citizen for themselves
and their dependants, a vaccinator for the people of their site); that part is the registry's
check. The rules here say which roles take part at all.
"""

from __future__ import annotations

from immunis.access.policy import AREA_ROLES, SITE_ROLES, Actor, Role

REPORTER_ROLES = frozenset({Role.CITIZEN, Role.SAFETY_OFFICER, *SITE_ROLES})


def may_report(actor: Actor) -> bool:
    """Citizens, vaccination sites and safety officers report AEFIs."""
    return actor.role in REPORTER_ROLES


def may_review(actor: Actor) -> bool:
    """The safety officer's work: the queue, investigation, causality, duplicates, signal runs."""
    return actor.role is Role.SAFETY_OFFICER


def may_read_report(actor: Actor, reporter_user_id: str) -> bool:
    """Safety officers read every report; a reporter reads (and follows up) their own."""
    return may_review(actor) or (actor.role in REPORTER_ROLES and actor.user_id == reporter_user_id)


def may_see_aggregates(actor: Actor) -> bool:
    """Programme officers (district, province, national) and safety officers."""
    return actor.role in AREA_ROLES or actor.role in (Role.NATIONAL_OFFICER, Role.SAFETY_OFFICER)


def aggregate_area(actor: Actor) -> str | None:
    """The area an officer's aggregates are limited to; None for national reach."""
    return actor.area_code if actor.role in AREA_ROLES else None


def may_see_signals(actor: Actor) -> bool:
    """Signal runs and their results: safety and national officers."""
    return actor.role in (Role.SAFETY_OFFICER, Role.NATIONAL_OFFICER)


def may_see_lot_alerts(actor: Actor) -> bool:
    """The lab, whose queue they are, and safety and national officers."""
    return actor.role in (Role.LAB, Role.SAFETY_OFFICER, Role.NATIONAL_OFFICER)


def may_decide_lot_alert(actor: Actor) -> bool:
    """The national control laboratory decides what happens to a lot."""
    return actor.role is Role.LAB


def may_run_signals(actor: Actor) -> bool:
    """Safety officers on demand; the server's command line (its operator can reach the database
    anyway, see access/system.py)."""
    return may_review(actor) or actor.channel == "cli"
