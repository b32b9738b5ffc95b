"""The booking room's data as it crosses the service boundary."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from immunis.booking.lifecycle import AppointmentStatus
from immunis.registry.schemas import PersonOut
from immunis.schedule.model import normalize_cvx

Cvx = Annotated[str, Field(min_length=1, max_length=10, pattern=r"^[0-9A-Za-z-]+$")]
Id = Annotated[str, Field(min_length=1, max_length=36)]
SessionStatus = Literal["open", "closed"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _distinct(codes: list[str]) -> list[str]:
    """CVX codes without leading zeros ('08' is '8'), each once."""
    normalized = [normalize_cvx(code) for code in codes]
    if len(set(normalized)) != len(normalized):
        raise ValueError("a vaccine is named twice")
    return normalized


class WeeklyHours(_Strict):
    """One stretch of a weekday when the site is open (0 is Monday, 6 Sunday)."""

    weekday: int = Field(ge=0, le=6)
    opens: time
    closes: time

    @model_validator(mode="after")
    def _opens_before_closing(self) -> WeeklyHours:
        if self.opens >= self.closes:
            raise ValueError("opens must be before closes")
        return self


class OfferedVaccine(_Strict):
    """A vaccine a site offers for booking."""

    cvx: Cvx
    active: bool = True


class SessionIn(_Strict):
    """A clinic session as a site's staff plan it: `capacity` people in all, shared over the
    slots of `slot_minutes` between the start and end times."""

    site_id: Id
    day: date
    start_time: time
    end_time: time
    slot_minutes: int = Field(ge=5, le=240)
    capacity: int = Field(ge=1, le=10_000)
    vaccines: list[Cvx] = Field(min_length=1, max_length=30)

    _distinct_vaccines = field_validator("vaccines")(_distinct)


class SessionOut(SessionIn):
    id: str
    status: SessionStatus
    booked: int
    places_per_slot: int


class SessionChange(_Strict):
    """What staff may change in a planned session: how many it takes, whether it is open."""

    capacity: int | None = Field(default=None, ge=1, le=10_000)
    status: SessionStatus | None = None


class SlotOut(BaseModel):
    """A slot of a clinic session, with the places left in it to book."""

    session_id: str
    site_id: str
    day: date
    start: time
    end: time
    vaccines: list[str]  # what the session gives
    places_left: int
    # A booking here gives a dose from a vial that is (or will be) open already.
    fills_open_vial: bool


class AppointmentIn(_Strict):
    """A booking: whose, which slot (a session and the slot's start), which vaccines."""

    person_id: Id
    session_id: Id
    slot_start: time
    vaccines: list[Cvx] = Field(min_length=1, max_length=10)
    schedule: str | None = Field(default=None, max_length=20, description="default: the server's")

    _distinct_vaccines = field_validator("vaccines")(_distinct)


class RescheduleIn(_Strict):
    session_id: Id
    slot_start: time


class DoseGiven(_Strict):
    """A dose given at the appointment; without a lot, the one FEFO suggests is used."""

    cvx: Cvx
    lot_number: str | None = Field(default=None, max_length=50)
    mvx: str | None = Field(default=None, max_length=10)


class DosesIn(_Strict):
    """The doses given; none named means every vaccine the appointment asked for."""

    doses: list[DoseGiven] | None = Field(default=None, min_length=1, max_length=10)


class AppointmentOut(BaseModel):
    id: str
    person_id: str
    session_id: str
    site_id: str
    day: date
    slot_start: time
    slot_end: time
    vaccines: list[str]
    status: AppointmentStatus
    schedule: str
    booked_by: str
    rescheduled_from: str | None
    immunization_ids: list[str]
    booked_at: datetime
    checked_in_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None


class DayListEntry(BaseModel):
    """An appointment on a site's day list, with the person when their record may be read."""

    appointment: AppointmentOut
    person: PersonOut | None


class DoseShort(BaseModel):
    """A booked appointment that the site's usable stock no longer covers."""

    appointment_id: str
    day: date
    slot_start: time


class StockShortfall(BaseModel):
    """A vaccine whose doses promised to a site's booked appointments exceed its usable stock
    (released, unexpired doses on hand on each appointment's day): doses given without an
    appointment, wasted, or of a lot blocked since the bookings were made took them. The
    appointments not covered are the last ones in the order of the day, the slot and booking."""

    cvx: str
    promised: int  # doses held by booked and checked-in appointments from today on
    usable_today: int
    not_covered: list[DoseShort]
