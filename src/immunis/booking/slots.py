"""A clinic session cut into slots, how many people each slot takes, and what filling a slot
does to the vials that will be open (pure)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from math import ceil


def _plus(moment: time, minutes: int) -> time:
    return (datetime.combine(date.min, moment) + timedelta(minutes=minutes)).time()


def slot_starts(start: time, end: time, slot_minutes: int) -> list[time]:
    """The start of every whole slot between `start` and `end` (a last, shorter stretch is not
    a slot)."""
    return list(_slot_starts(start, end, slot_minutes))


@lru_cache(maxsize=256)
def _slot_starts(start: time, end: time, slot_minutes: int) -> tuple[time, ...]:
    """`slot_starts`, kept: sessions share a few shapes, and every booking asks."""
    length = timedelta(minutes=slot_minutes)
    moment = datetime.combine(date.min, start)
    until = datetime.combine(date.min, end)
    starts = []
    while moment + length <= until:
        starts.append(moment.time())
        moment += length
    return tuple(starts)


def slot_end(slot_start: time, slot_minutes: int) -> time:
    return _plus(slot_start, slot_minutes)


def places_per_slot(capacity: int, slots: int) -> int:
    """A session's places shared over its slots, rounded up so that every place can be booked."""
    return ceil(capacity / slots) if slots else 0


def within(start: time, end: time, stretches: list[tuple[time, time]]) -> bool:
    """Whether [start, end] lies inside one of the (opens, closes) stretches."""
    return any(opens <= start and end <= closes for opens, closes in stretches)


def spare_vial_doses(pending: int, doses_per_vial: int, opened: int = 0) -> int:
    """Doses left over in the vials a session will have open once its `pending` people have had
    their dose: the `opened` doses left in vials already open go first, then whole new vials of
    `doses_per_vial`. More than zero means one more booking fills a vial instead of opening one."""
    if pending <= opened:
        return opened - pending
    return -(pending - opened) % doses_per_vial
