"""Which stock to use next: an opened vial before a new one, then earliest expiry, first out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class LotStock:
    """One usable lot's stock at one site."""

    lot_id: str
    lot_number: str
    expiry_date: date
    unopened_doses: int
    opened_vial_doses: int = 0  # in opened vials still within their time
    opened_vial_discard_after: datetime | None = None  # the soonest such vial's


def first_to_use(stock: Iterable[LotStock]) -> LotStock | None:
    """The lot to take the next dose from: a usable opened vial first (the one to be discarded
    soonest), else the unopened stock that expires first; None when there is nothing."""
    candidates = list(stock)
    opened = [s for s in candidates if s.opened_vial_doses > 0]
    if opened:
        return min(opened, key=lambda s: (s.opened_vial_discard_after, s.expiry_date, s.lot_number))
    unopened = [s for s in candidates if s.unopened_doses > 0]
    return min(unopened, key=lambda s: (s.expiry_date, s.lot_number), default=None)
