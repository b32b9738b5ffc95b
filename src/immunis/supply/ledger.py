"""The stock ledger's vocabulary: kinds of movement and reasons for writing doses off."""

from __future__ import annotations

from enum import StrEnum


class MovementKind(StrEnum):
    RECEIPT = "receipt"  # into the chain from outside it (manufacturer, import, donation)
    DISPATCH = "dispatch"  # out of a store, towards another (a transfer)
    ARRIVAL = "arrival"  # into a store, from another (the same transfer)
    ADMINISTERED = "administered"  # one dose given to a person
    RETURNED = "returned"  # a dose given on a record later marked entered in error, back in stock
    WASTED = "wasted"
    ADJUSTMENT = "adjustment"  # a physical count differs from the books


class WastageReason(StrEnum):
    EXPIRED = "expired"
    HEAT_EXPOSURE = "heat_exposure"  # the vaccine vial monitor is past its discard point
    FREEZE_DAMAGE = "freeze_damage"
    BROKEN = "broken"
    CONTAMINATED = "contaminated"
    OPENED_VIAL_DISCARDED = "opened_vial_discarded"  # its time after opening was up
    RECALLED = "recalled"  # a recalled or rejected lot's stock destroyed or sent back
    LOST = "lost"
    OTHER = "other"


# Vaccine vial monitor stages 3 and 4: the heat dose reached the discard point; do not use.
VVM_DISCARD_STAGE = 3
