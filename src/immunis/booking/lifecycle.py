"""An appointment's life, as a small state machine.

A booked appointment is checked in when the person arrives, and completed when their doses are
recorded. Before that it can be cancelled (by the person, or by the site when they leave without
a dose); a booked one nobody came to is marked a no-show after its session. Rescheduling cancels
the old appointment and books a new one that names it. Completed, cancelled and no-show are final.
"""

from __future__ import annotations

from enum import StrEnum


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


PREVIOUS_STATUSES: dict[AppointmentStatus, frozenset[AppointmentStatus]] = {
    AppointmentStatus.CHECKED_IN: frozenset({AppointmentStatus.BOOKED}),
    AppointmentStatus.COMPLETED: frozenset({AppointmentStatus.CHECKED_IN}),
    AppointmentStatus.CANCELLED: frozenset(
        {AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN}
    ),
    AppointmentStatus.NO_SHOW: frozenset({AppointmentStatus.BOOKED}),
}

# Appointments that still hold doses reserved for them.
HOLDING_DOSES = frozenset({AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN})

# Appointments that take a place in their session (a no-show took it, too late to give it back).
TAKING_A_PLACE = frozenset(set(AppointmentStatus) - {AppointmentStatus.CANCELLED})

_VERBS = {
    AppointmentStatus.CHECKED_IN: "checked in",
    AppointmentStatus.COMPLETED: "completed",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "marked a no-show",
}


def transition_refusal(current: AppointmentStatus, wanted: AppointmentStatus) -> str | None:
    """Why an appointment that is `current` cannot become `wanted`, or None when it can."""
    if current in PREVIOUS_STATUSES[wanted]:
        return None
    if current is wanted:
        return f"the appointment is already {_VERBS[wanted]}"
    allowed = " or ".join(sorted(s.value for s in PREVIOUS_STATUSES[wanted]))
    return f"a {current.value} appointment cannot be {_VERBS[wanted]} (only a {allowed} one)"
