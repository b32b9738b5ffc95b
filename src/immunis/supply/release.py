"""A vaccine lot's release by the national control laboratory, as a small state machine.

A lot arrives `pending`; the laboratory releases or rejects it. A released lot can be put in
quarantine while a problem is looked into, then released again or recalled; an urgent recall
needs no quarantine first. Rejected and recalled lots stay so for good.
"""

from __future__ import annotations

from enum import StrEnum


class ReleaseStatus(StrEnum):
    PENDING = "pending"
    RELEASED = "released"
    REJECTED = "rejected"
    QUARANTINED = "quarantined"
    RECALLED = "recalled"


class RecallAction(StrEnum):
    """What a recall means for the doses already given from the lot."""

    NONE = "none"  # the doses still count (e.g. a labelling fault)
    REVACCINATE = "revaccinate"  # the doses do not count: the forecast asks for them again


NEXT_STATUSES: dict[ReleaseStatus, frozenset[ReleaseStatus]] = {
    ReleaseStatus.PENDING: frozenset({ReleaseStatus.RELEASED, ReleaseStatus.REJECTED}),
    ReleaseStatus.RELEASED: frozenset({ReleaseStatus.QUARANTINED, ReleaseStatus.RECALLED}),
    ReleaseStatus.QUARANTINED: frozenset({ReleaseStatus.RELEASED, ReleaseStatus.RECALLED}),
    ReleaseStatus.REJECTED: frozenset(),
    ReleaseStatus.RECALLED: frozenset(),
}


def transition_refusal(current: ReleaseStatus, wanted: ReleaseStatus) -> str | None:
    """Why a lot that is `current` cannot become `wanted`, or None when it can."""
    if current is wanted:
        return f"the lot is already {current.value}"
    allowed = NEXT_STATUSES[current]
    if not allowed:
        return f"the lot is {current.value}, which is final"
    if wanted not in allowed:
        choices = " or ".join(sorted(s.value for s in allowed))
        return f"a {current.value} lot can only become {choices}, not {wanted.value}"
    return None


def usable(status: ReleaseStatus) -> bool:
    """Only released lots may be given to people or sent down the chain."""
    return status is ReleaseStatus.RELEASED
