"""The booking room's tables: when each site is open and what it offers, its clinic sessions,
the appointments booked in them, and the counters that keep bookings within capacity and stock.

Times of day are the sites' wall-clock time, like the registry's dates.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from immunis.db import Base, new_id, utcnow


class OpeningHours(Base):
    """One stretch of a weekday during which a site is open (a site may open twice a day)."""

    __tablename__ = "site_opening_hours"
    __table_args__ = (
        UniqueConstraint("site_id", "weekday", "opens"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("opens < closes", name="opens_before_closing"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 Monday ... 6 Sunday, as date.weekday()
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)


class SiteVaccine(Base):
    """A vaccine a site offers for booking; switched off rather than deleted."""

    __tablename__ = "site_vaccine"
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), primary_key=True)
    cvx: Mapped[str] = mapped_column(String(10), primary_key=True)  # without leading zeros
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ClinicSession(Base):
    """A stretch of a day when a site vaccinates booked people, cut into slots of equal length.
    `booked` counts its appointments that are not cancelled; it only changes by conditional
    updates, so it never passes `capacity`."""

    __tablename__ = "clinic_session"
    __table_args__ = (
        CheckConstraint("booked >= 0 AND booked <= capacity", name="within_capacity"),
        CheckConstraint("start_time < end_time", name="starts_before_it_ends"),
        CheckConstraint("slot_minutes > 0", name="slot_minutes"),
        Index("ix_clinic_session_site_day", "site_id", "day"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    day: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)  # people in the whole session
    vaccines: Mapped[list[str]] = mapped_column(JSON)  # CVX codes without leading zeros
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | closed
    booked: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Appointment(Base):
    """A person's place in one slot of a session, for the vaccines they asked for."""

    __tablename__ = "appointment"
    __table_args__ = (Index("ix_appointment_session_slot", "session_id", "slot_start"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("clinic_session.id"))
    slot_start: Mapped[time] = mapped_column(Time)
    # booked | checked_in | completed | cancelled | no_show (booking/lifecycle.py)
    status: Mapped[str] = mapped_column(String(12), default="booked")
    schedule_id: Mapped[str] = mapped_column(String(20))  # the schedule the doses were checked by
    booked_by: Mapped[str] = mapped_column(String(36))
    rescheduled_from_id: Mapped[str | None] = mapped_column(ForeignKey("appointment.id"))
    booked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AppointmentVaccine(Base):
    """A vaccine asked for in an appointment, and the dose recorded for it once given."""

    __tablename__ = "appointment_vaccine"
    appointment_id: Mapped[str] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), primary_key=True
    )
    cvx: Mapped[str] = mapped_column(String(10), primary_key=True)  # without leading zeros
    immunization_id: Mapped[str | None] = mapped_column(ForeignKey("immunization.id"))


class VaccineReservation(Base):
    """Doses of one vaccine at one site promised to active appointments. Its row is what a
    booking locks before it compares the promise with the stock, so two bookings cannot both
    take the last dose."""

    __tablename__ = "vaccine_reservation"
    __table_args__ = (CheckConstraint("reserved >= 0", name="not_negative"),)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), primary_key=True)
    cvx: Mapped[str] = mapped_column(String(10), primary_key=True)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
