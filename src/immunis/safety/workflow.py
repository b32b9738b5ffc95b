"""An AEFI report's life: its status workflow, and the WHO code lists it is classified with."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    RECEIVED = "received"
    UNDER_INVESTIGATION = "under_investigation"
    CAUSALITY_ASSESSED = "causality_assessed"
    CLOSED = "closed"


class Seriousness(StrEnum):
    """WHO's criteria for a serious AEFI (any one makes the report serious)."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALIZATION = "hospitalization"  # or prolongation of a hospital stay
    DISABILITY = "disability"  # persistent or significant disability or incapacity
    CONGENITAL_ANOMALY = "congenital_anomaly"
    OTHER_IMPORTANT = "other_important"  # an important medical event in the reporter's judgement


class Outcome(StrEnum):
    RECOVERED = "recovered"
    RECOVERING = "recovering"
    NOT_RECOVERED = "not_recovered"
    SEQUELAE = "recovered_with_sequelae"
    DIED = "died"
    UNKNOWN = "unknown"


class Causality(StrEnum):
    """WHO causality assessment of an AEFI (user manual, 2nd edition 2018), final classification."""

    A1 = "A1"  # consistent causal association: vaccine product-related reaction
    A2 = "A2"  # vaccine quality defect-related reaction
    A3 = "A3"  # immunization error-related reaction
    A4 = "A4"  # immunization anxiety-related reaction
    B1 = "B1"  # indeterminate: temporal relationship consistent, insufficient evidence
    B2 = "B2"  # indeterminate: qualifying factors point both ways
    C = "C"  # inconsistent causal association: coincidental
    D = "D"  # unclassifiable: information missing for a classification


CAUSALITY_MEANING = {
    Causality.A1: "vaccine product-related reaction",
    Causality.A2: "vaccine quality defect-related reaction",
    Causality.A3: "immunization error-related reaction",
    Causality.A4: "immunization anxiety-related reaction",
    Causality.B1: "indeterminate: consistent temporal relationship, insufficient evidence",
    Causality.B2: "indeterminate: conflicting trends of consistency and inconsistency",
    Causality.C: "coincidental: inconsistent causal association with immunization",
    Causality.D: "unclassifiable: further information needed",
}

# Where a report may go next from each status. Closing a duplicate (a merge) is the one way out
# of the normal path: it closes a report from any open status.
NEXT_STATUS: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.UNDER_INVESTIGATION, Status.CAUSALITY_ASSESSED}),
    Status.UNDER_INVESTIGATION: frozenset({Status.CAUSALITY_ASSESSED}),
    # A classification may be revised, or sent back for more investigation, until closed.
    Status.CAUSALITY_ASSESSED: frozenset(
        {Status.UNDER_INVESTIGATION, Status.CAUSALITY_ASSESSED, Status.CLOSED}
    ),
    Status.CLOSED: frozenset(),
}


def may_move(current: Status, target: Status) -> bool:
    """Whether a report in `current` status may move to `target`."""
    return target in NEXT_STATUS[current]
