"""What a site can vaccinate with: usable doses on hand, the vial the next dose opens, and what
is left in vials already open. Read-only counts for other rooms (booking); they hold no personal
data, so no actor is needed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, Text, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from immunis.schedule.model import normalize_cvx
from immunis.supply.fefo import LotStock, first_to_use
from immunis.supply.models import OpenedVial, StockBalance, VaccineLot
from immunis.supply.release import ReleaseStatus

# Stock at a site of released lots of some vaccines, unexpired on a day; built once, because
# booking asks on every appointment.
_USABLE_STOCK = (
    StockBalance.site_id == bindparam("site_id"),
    StockBalance.quantity > 0,
    VaccineLot.cvx.in_(bindparam("cvxs", expanding=True)),
    VaccineLot.release_status == ReleaseStatus.RELEASED.value,
    VaccineLot.expiry_date >= bindparam("on_date"),
)
_USABLE_LOTS = (
    select(VaccineLot, StockBalance.quantity)
    .join(StockBalance, StockBalance.lot_id == VaccineLot.id)
    .where(*_USABLE_STOCK)
)
_USABLE_DOSES_BY_CVX = (
    select(VaccineLot.cvx, func.sum(StockBalance.quantity))
    .join(StockBalance, StockBalance.lot_id == VaccineLot.id)
    .where(*_USABLE_STOCK)
    .group_by(VaccineLot.cvx)
)


_SUPPLY_USABLE_DOSES = func.supply_usable_doses(
    bindparam("site_id", type_=Text),
    bindparam("cvxs", type_=ARRAY(Text)),
    bindparam("on_date", type_=Date),
).table_valued("cvx", "doses")
_CALL_SUPPLY_USABLE_DOSES = select(*_SUPPLY_USABLE_DOSES.c)


def _usable(site_id: str, cvxs: list[str], on_date: date) -> dict[str, Any]:
    return {"site_id": site_id, "cvxs": [normalize_cvx(cvx) for cvx in cvxs], "on_date": on_date}


def usable_doses(session: Session, site_id: str, cvx: str, on_date: date) -> int:
    """Doses of this vaccine at the site that may be given on `on_date`: the stock of its
    released lots that have not expired by then (doses in opened vials included)."""
    return usable_doses_by_cvx(session, site_id, [cvx], on_date).get(normalize_cvx(cvx), 0)


def usable_doses_by_cvx(
    session: Session, site_id: str, cvxs: list[str], on_date: date
) -> dict[str, int]:
    """`usable_doses` of several vaccines in one query, by CVX (a vaccine with none is left
    out). On PostgreSQL this is the function supply_usable_doses (migration 0009), which the
    booking room's function calls too."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    query = _CALL_SUPPLY_USABLE_DOSES if postgresql else _USABLE_DOSES_BY_CVX
    rows = session.execute(query, _usable(site_id, cvxs, on_date))
    return {cvx: int(total) for cvx, total in rows}


def doses_per_vial(session: Session, site_id: str, cvx: str, on_date: date) -> int:
    """How many doses the next vial opened for this vaccine at the site holds: the vial size of
    the usable lot that expires first (as FEFO takes it); 1 when there is no usable stock."""
    lots = {}
    stock = []
    for lot, quantity in session.execute(_USABLE_LOTS, _usable(site_id, [cvx], on_date)):
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
