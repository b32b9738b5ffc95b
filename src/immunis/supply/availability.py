"""What a site can vaccinate with: usable doses on hand, the vial the next dose opens, and what
is left in vials already open. Read-only counts for other rooms (booking); they hold no personal
data, so no actor is needed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from immunis.schedule.model import normalize_cvx
from immunis.supply.fefo import LotStock, first_to_use
from immunis.supply.models import OpenedVial, StockBalance, VaccineLot
from immunis.supply.release import ReleaseStatus


def _usable_lots(site_id: str, cvx: str, on_date: date) -> Select[VaccineLot, int]:
    """Released lots of this vaccine, unexpired on `on_date`, with stock at the site."""
    return (
        select(VaccineLot, StockBalance.quantity)
        .join(StockBalance, StockBalance.lot_id == VaccineLot.id)
        .where(
            StockBalance.site_id == site_id,
            StockBalance.quantity > 0,
            VaccineLot.cvx == normalize_cvx(cvx),
            VaccineLot.release_status == ReleaseStatus.RELEASED.value,
            VaccineLot.expiry_date >= on_date,
        )
    )


def usable_doses(session: Session, site_id: str, cvx: str, on_date: date) -> int:
    """Doses of this vaccine at the site that may be given on `on_date`: the stock of its
    released lots that have not expired by then (doses in opened vials included)."""
    lots = _usable_lots(site_id, cvx, on_date).subquery()
    total = session.scalar(select(func.coalesce(func.sum(lots.c.quantity), 0)))
    return int(total or 0)


def doses_per_vial(session: Session, site_id: str, cvx: str, on_date: date) -> int:
    """How many doses the next vial opened for this vaccine at the site holds: the vial size of
    the usable lot that expires first (as FEFO takes it); 1 when there is no usable stock."""
    lots = {}
    stock = []
    for lot, quantity in session.execute(_usable_lots(site_id, cvx, on_date)):
        lots[lot.id] = lot
        stock.append(LotStock(lot.id, lot.lot_number, lot.expiry_date, unopened_doses=quantity))
    choice = first_to_use(stock)
    return lots[choice.lot_id].doses_per_vial if choice else 1


def opened_vial_doses(session: Session, site_id: str, cvx: str, at: datetime) -> int:
    """Doses left in vials of this vaccine already open at the site and still usable at `at`."""
    total = session.scalar(
        select(func.coalesce(func.sum(OpenedVial.doses_left), 0))
        .join(VaccineLot, VaccineLot.id == OpenedVial.lot_id)
        .where(
            OpenedVial.site_id == site_id,
            OpenedVial.closed_at.is_(None),
            OpenedVial.discard_after > at.astimezone(UTC),
            VaccineLot.cvx == normalize_cvx(cvx),
            VaccineLot.release_status == ReleaseStatus.RELEASED.value,
        )
    )
    return int(total or 0)
