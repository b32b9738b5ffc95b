"""Planning a site's bookable time: its weekly opening hours, the vaccines it offers, and its
clinic sessions. A site's staff (or an admin) plan; anyone signed in may read the plan, which
holds no personal data. Each function runs inside the caller's transaction; changes are written
to the audit log."""

from __future__ import annotations

import calendar
from datetime import datetime
from itertools import pairwise

from sqlalchemy import ColumnElement, ScalarSelect, delete, func, select, update
from sqlalchemy.orm import Session

from immunis.access.policy import Actor
from immunis.access.service import audit
from immunis.booking import policy
from immunis.booking.clock import local_day
from immunis.booking.models import ClinicSession, OpeningHours, SiteVaccine
from immunis.booking.schemas import (
    OfferedVaccine,
    SessionChange,
    SessionIn,
    SessionOut,
    WeeklyHours,
)
from immunis.booking.slots import places_per_slot, slot_starts, within
from immunis.errors import Conflict, InvalidInput, NotFound
from immunis.registry import sites
from immunis.schedule.catalog import SCHEDULE_IDS, load_schedule
from immunis.schedule.model import normalize_cvx


def _known_cvx(cvx: str) -> bool:
    return any(load_schedule(s).vaccine(cvx) is not None for s in SCHEDULE_IDS)


def _require_planner(session: Session, actor: Actor, site_id: str) -> None:
    sites.get_site(session, actor, site_id)
    if not policy.may_plan(actor, site_id):
        raise policy.refusal(actor, "plan", "site", site_id, f"plan the sessions of site {site_id}")


def opening_hours(session: Session, actor: Actor, site_id: str) -> list[WeeklyHours]:
    """The site's weekly opening hours, Monday first; anyone signed in may read them."""
    sites.get_site(session, actor, site_id)
    rows = session.scalars(
        select(OpeningHours)
        .where(OpeningHours.site_id == site_id)
        .order_by(OpeningHours.weekday, OpeningHours.opens)
    )
    return [WeeklyHours(weekday=r.weekday, opens=r.opens, closes=r.closes) for r in rows]


def set_opening_hours(
    session: Session, actor: Actor, site_id: str, hours: list[WeeklyHours]
) -> list[WeeklyHours]:
    """Replace the site's weekly opening hours. Stretches of one day may not overlap."""
    _require_planner(session, actor, site_id)
    ordered = sorted(hours, key=lambda h: (h.weekday, h.opens))
    for earlier, later in pairwise(ordered):
        if earlier.weekday == later.weekday and later.opens < earlier.closes:
            day = calendar.day_name[later.weekday]
            raise InvalidInput(
                f"two stretches overlap on {day} ({earlier.opens:%H:%M}, {later.opens:%H:%M})"
            )
    session.execute(delete(OpeningHours).where(OpeningHours.site_id == site_id))
    session.add_all(
        OpeningHours(site_id=site_id, weekday=h.weekday, opens=h.opens, closes=h.closes)
        for h in ordered
    )
    session.flush()
    audit(session, actor, "update", "opening_hours", site_id)
    return opening_hours(session, actor, site_id)


def offered_vaccines(session: Session, actor: Actor, site_id: str) -> list[OfferedVaccine]:
    """The vaccines the site offers for booking (and those it stopped offering)."""
    sites.get_site(session, actor, site_id)
    rows = session.scalars(
        select(SiteVaccine).where(SiteVaccine.site_id == site_id).order_by(SiteVaccine.cvx)
    )
    return [OfferedVaccine(cvx=r.cvx, active=r.active) for r in rows]


def offer_vaccine(
    session: Session, actor: Actor, site_id: str, data: OfferedVaccine
) -> OfferedVaccine:
    """Offer a vaccine for booking at the site, or stop offering it (active false). Sessions
    already planned keep it, but nobody can book it any more."""
    _require_planner(session, actor, site_id)
    cvx = normalize_cvx(data.cvx)
    if not _known_cvx(cvx):
        raise InvalidInput(f"CVX {data.cvx} is not a vaccine known to any shipped schedule")
    row = session.get(SiteVaccine, (site_id, cvx)) or SiteVaccine(site_id=site_id, cvx=cvx)
    row.active = data.active
    session.add(row)
    session.flush()
    audit(
        session,
        actor,
        "update",
        "site_vaccine",
        site_id,
        detail={"cvx": cvx, "active": data.active},
    )
    return OfferedVaccine(cvx=cvx, active=row.active)


def offered_cvx(session: Session, site_id: str) -> set[str]:
    """The CVX codes the site offers for booking now."""
    return set(
        session.scalars(
            select(SiteVaccine.cvx).where(
                SiteVaccine.site_id == site_id, SiteVaccine.active.is_(True)
            )
        )
    )


def offered_cvx_subquery(site_id: ColumnElement[str]) -> ScalarSelect[str]:
    """`offered_cvx` as a scalar subquery for a caller's query: the codes separated by spaces
    (NULL when the site offers none)."""
    return (
        select(func.aggregate_strings(SiteVaccine.cvx, " "))
        .where(SiteVaccine.site_id == site_id, SiteVaccine.active.is_(True))
        .scalar_subquery()
    )


def session_out(clinic: ClinicSession) -> SessionOut:
    starts = slot_starts(clinic.start_time, clinic.end_time, clinic.slot_minutes)
    return SessionOut(
        id=clinic.id,
        site_id=clinic.site_id,
        day=clinic.day,
        start_time=clinic.start_time,
        end_time=clinic.end_time,
        slot_minutes=clinic.slot_minutes,
        capacity=clinic.capacity,
        vaccines=list(clinic.vaccines),
        status=clinic.status,  # type: ignore[arg-type]
        booked=clinic.booked,
        places_per_slot=places_per_slot(clinic.capacity, len(starts)),
    )


def load_session(session: Session, session_id: str) -> ClinicSession:
    clinic = session.get(ClinicSession, session_id)
    if clinic is None:
        raise NotFound(f"no clinic session {session_id}")
    return clinic


def create_session(session: Session, actor: Actor, data: SessionIn, now: datetime) -> SessionOut:
    """Plan a clinic session: on a day to come, within the site's opening hours, for vaccines
    the site offers, with at least one whole slot."""
    _require_planner(session, actor, data.site_id)
    if data.day < local_day(now):
        raise InvalidInput(f"{data.day} is in the past")
    if not slot_starts(data.start_time, data.end_time, data.slot_minutes):
        raise InvalidInput(
            f"no slot of {data.slot_minutes} minutes fits between {data.start_time:%H:%M} and "
            f"{data.end_time:%H:%M}"
        )
    stretches = [
        (r.opens, r.closes)
        for r in session.scalars(
            select(OpeningHours).where(
                OpeningHours.site_id == data.site_id, OpeningHours.weekday == data.day.weekday()
            )
        )
    ]
    if not within(data.start_time, data.end_time, stretches):
        day = calendar.day_name[data.day.weekday()]
        hours = (
            ", ".join(f"{opens:%H:%M}-{closes:%H:%M}" for opens, closes in sorted(stretches))
            or "closed"
        )
        raise InvalidInput(f"the site is not open then: on {day} its hours are {hours}")
    missing = sorted(set(data.vaccines) - offered_cvx(session, data.site_id))
    if missing:
        raise InvalidInput(f"the site does not offer CVX {', '.join(missing)}: offer it first")
    clinic = ClinicSession(
        site_id=data.site_id,
        day=data.day,
        start_time=data.start_time,
        end_time=data.end_time,
        slot_minutes=data.slot_minutes,
        capacity=data.capacity,
        vaccines=list(data.vaccines),
        status="open",
        booked=0,
        created_by=actor.user_id,
    )
    session.add(clinic)
    session.flush()
    audit(session, actor, "create", "clinic_session", clinic.id)
    return session_out(clinic)


def get_session(session: Session, actor: Actor, session_id: str) -> SessionOut:
    """A clinic session; anyone signed in may read it (it holds no personal data)."""
    return session_out(load_session(session, session_id))


def change_session(
    session: Session, actor: Actor, session_id: str, change: SessionChange
) -> SessionOut:
    """Change a session's capacity (never below the people booked) or close it to bookings (the
    appointments already made stay)."""
    clinic = load_session(session, session_id)
    _require_planner(session, actor, clinic.site_id)
    if change.capacity is not None:
        # Conditional, like a booking: a booking racing this change cannot slip past it.
        result = session.execute(
            update(ClinicSession)
            .where(ClinicSession.id == clinic.id, ClinicSession.booked <= change.capacity)
            .values(capacity=change.capacity)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            session.refresh(clinic)
            raise Conflict(f"{clinic.booked} people are booked: the capacity cannot go below that")
    if change.status is not None:
        session.execute(
            update(ClinicSession)
            .where(ClinicSession.id == clinic.id)
            .values(status=change.status)
            .execution_options(synchronize_session=False)
        )
    session.refresh(clinic)
    audit(session, actor, "update", "clinic_session", clinic.id, detail=change.model_dump())
    return session_out(clinic)


def sites_offering(session: Session, actor: Actor, cvx: str, limit: int = 50) -> list[str]:
    """The ids of the sites that offer a vaccine for booking, at most `limit` of them."""
    return list(
        session.scalars(
            select(SiteVaccine.site_id)
            .where(SiteVaccine.cvx == normalize_cvx(cvx), SiteVaccine.active.is_(True))
            .order_by(SiteVaccine.site_id)
            .limit(limit)
        )
    )
