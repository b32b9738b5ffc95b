"""The two counters that keep bookings within what a site can do, changed only by atomic
conditional updates inside the caller's transaction.

- A session's `booked` goes up only `WHERE booked < capacity`: however many requests race for
  the last place, the database lets one through.
- A site's reservation of a vaccine is a row written before it is read: on PostgreSQL the update
  locks the row until the transaction ends; on SQLite the first write takes the database's single
  write lock. So the reserved count and the stock read after it are the latest, and the
  comparison of the two cannot be overtaken by another booking.

Callers lock in one order (appointment, then sessions by id, then reservations by site and CVX)
so that two transactions never wait for each other.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from immunis.booking.models import ClinicSession, VaccineReservation


def take_place(session: Session, session_id: str) -> int | None:
    """Count one more person in an open session, if it has a place left: its capacity as it is
    now (the row stays locked), or None when it had no place."""
    return session.scalar(
        update(ClinicSession)
        .where(
            ClinicSession.id == session_id,
            ClinicSession.status == "open",
            ClinicSession.booked < ClinicSession.capacity,
        )
        .values(booked=ClinicSession.booked + 1)
        .returning(ClinicSession.capacity)
        .execution_options(synchronize_session=False)
    )


def give_back_place(session: Session, session_id: str) -> None:
    session.execute(
        update(ClinicSession)
        .where(ClinicSession.id == session_id, ClinicSession.booked > 0)
        .values(booked=ClinicSession.booked - 1)
        .execution_options(synchronize_session=False)
    )


def change_reservation(session: Session, site_id: str, cvx: str, doses: int) -> int:
    """Add `doses` (negative: take away) to the doses of `cvx` reserved at the site, and return
    the new total; the row stays locked until the transaction ends."""
    key = (VaccineReservation.site_id == site_id, VaccineReservation.cvx == cvx)
    total = VaccineReservation.reserved + doses
    if doses > 0:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(VaccineReservation)
            .values(site_id=site_id, cvx=cvx, reserved=doses)
            .on_conflict_do_update(index_elements=["site_id", "cvx"], set_={"reserved": total})
            .returning(VaccineReservation.reserved)
        )
    else:
        statement = (
            update(VaccineReservation)
            .where(*key)
            .values(reserved=total)
            .returning(VaccineReservation.reserved)
            .execution_options(synchronize_session=False)
        )
    return int(session.execute(statement).scalar_one())


def reserved(session: Session, site_id: str, cvxs: Iterable[str]) -> dict[str, int]:
    """Doses reserved at the site, by CVX, as last committed (for showing, not for deciding)."""
    rows = session.execute(
        select(VaccineReservation.cvx, VaccineReservation.reserved).where(
            VaccineReservation.site_id == site_id, VaccineReservation.cvx.in_(list(cvxs))
        )
    )
    return {cvx: count for cvx, count in rows}
