"""The safety room's tables: AEFI reports and their follow-up, signal runs, lot alerts.

A report keeps a snapshot of what it is about (the person's age, sex and area, each suspected
dose's vaccine, lot, site and date) as they were when it was made: the safety record stays the
same whatever later happens to the registry's rows, and it has no foreign keys into them.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from immunis.db import Base, new_id, utcnow


class AefiReport(Base):
    """One adverse event following immunization, as reported (WHO AEFI core variables)."""

    __tablename__ = "aefi_report"
    __table_args__ = (Index("ix_aefi_report_status_serious", "status", "serious"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    # The patient at the time of the report.
    sex: Mapped[str] = mapped_column(String(10))
    age_at_onset_days: Mapped[int] = mapped_column(Integer)
    province_code: Mapped[str | None] = mapped_column(String(2), index=True)
    district_code: Mapped[str | None] = mapped_column(String(3), index=True)
    commune_code: Mapped[str | None] = mapped_column(String(5))
    # The reporter.
    reporter_user_id: Mapped[str] = mapped_column(String(36), index=True)
    reporter_role: Mapped[str] = mapped_column(String(30))
    reporter_name: Mapped[str] = mapped_column(String(200))
    reporter_designation: Mapped[str | None] = mapped_column(String(100))
    reporter_phone: Mapped[str | None] = mapped_column(String(16))
    reporter_site_id: Mapped[str | None] = mapped_column(String(36))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The event.
    onset_date: Mapped[date] = mapped_column(Date, index=True)
    onset_time: Mapped[time | None] = mapped_column(Time)
    description: Mapped[str] = mapped_column(Text)
    treatment: Mapped[str | None] = mapped_column(Text)
    seriousness: Mapped[list[str]] = mapped_column(JSON, default=list)
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(String(30), default="unknown")
    death_date: Mapped[date | None] = mapped_column(Date)
    # The review.
    status: Mapped[str] = mapped_column(String(30), default="received")
    investigation_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    causality: Mapped[str | None] = mapped_column(String(2))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duplicate_of_id: Mapped[str | None] = mapped_column(ForeignKey("aefi_report.id"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    events: Mapped[list[AefiEvent]] = relationship(
        cascade="all, delete-orphan", order_by="AefiEvent.code"
    )
    doses: Mapped[list[AefiSuspectedDose]] = relationship(
        cascade="all, delete-orphan", order_by="AefiSuspectedDose.date_administered"
    )
    notes: Mapped[list[AefiNote]] = relationship(
        cascade="all, delete-orphan", order_by="AefiNote.noted_at"
    )
    assessments: Mapped[list[AefiCausalityAssessment]] = relationship(
        cascade="all, delete-orphan", order_by="AefiCausalityAssessment.assessed_at"
    )


class AefiEvent(Base):
    """An event term the report is coded with (data/aefi_terms.yaml)."""

    __tablename__ = "aefi_event"
    __table_args__ = (UniqueConstraint("report_id", "code"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    report_id: Mapped[str] = mapped_column(ForeignKey("aefi_report.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(10), index=True)
    # The reporter's own words for an event coded OTHER.
    text: Mapped[str | None] = mapped_column(String(300))


class AefiSuspectedDose(Base):
    """A dose the reaction is suspected to follow, as the registry recorded it."""

    __tablename__ = "aefi_suspected_dose"
    __table_args__ = (UniqueConstraint("report_id", "immunization_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    report_id: Mapped[str] = mapped_column(ForeignKey("aefi_report.id", ondelete="CASCADE"))
    immunization_id: Mapped[str] = mapped_column(String(36), index=True)
    cvx: Mapped[str] = mapped_column(String(10), index=True)
    mvx: Mapped[str | None] = mapped_column(String(10))
    product_name: Mapped[str | None] = mapped_column(String(200))
    lot_number: Mapped[str | None] = mapped_column(String(50), index=True)
    site_id: Mapped[str | None] = mapped_column(String(36))
    date_administered: Mapped[date] = mapped_column(Date)
    # The registry keeps the date only; the reporter may know the hour.
    time_administered: Mapped[time | None] = mapped_column(Time)
    age_at_dose_days: Mapped[int] = mapped_column(Integer)


class AefiNote(Base):
    """A dated follow-up or investigation note."""

    __tablename__ = "aefi_note"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("aefi_report.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # follow_up | investigation | merge
    text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(30))  # the outcome as of this note
    noted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    author_user_id: Mapped[str | None] = mapped_column(String(36))
    author_role: Mapped[str | None] = mapped_column(String(30))


class AefiCausalityAssessment(Base):
    """A safety officer's WHO causality classification; the latest one is the report's."""

    __tablename__ = "aefi_causality_assessment"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("aefi_report.id", ondelete="CASCADE"), index=True
    )
    category: Mapped[str] = mapped_column(String(2))
    rationale: Mapped[str] = mapped_column(Text)
    assessed_by: Mapped[str] = mapped_column(String(36))
    assessed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AefiReportLink(Base):
    """Two reports that may be the same case: found by the duplicate check or linked by staff."""

    __tablename__ = "aefi_report_link"
    __table_args__ = (UniqueConstraint("report_id", "other_report_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("aefi_report.id", ondelete="CASCADE"), index=True
    )
    other_report_id: Mapped[str] = mapped_column(
        ForeignKey("aefi_report.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(20), default="suspected")  # confirmed | dismissed
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignalRun(Base):
    """One run of signal detection over the reports and the registry's dose counts."""

    __tablename__ = "signal_run"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_by: Mapped[str | None] = mapped_column(String(36))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    results: Mapped[list[SignalResult]] = relationship(
        cascade="all, delete-orphan", order_by="SignalResult.id"
    )


class SignalResult(Base):
    """One statistic of a run: a vaccine-event pair, overall or in one stratum."""

    __tablename__ = "signal_result"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[str] = mapped_column(ForeignKey("signal_run.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(
        String(30)
    )  # disproportionality | observed_expected | maxsprt
    cvx: Mapped[str] = mapped_column(String(10))
    event_code: Mapped[str] = mapped_column(String(10))
    stratum_kind: Mapped[str] = mapped_column(String(20))  # all | lot | age_band | province
    stratum: Mapped[str | None] = mapped_column(String(50))
    observed: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float | None] = mapped_column(Float)
    statistics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    signal: Mapped[bool] = mapped_column(Boolean, default=False)


class LotSafetyAlert(Base):
    """A lot whose reports exceed what its doses lead one to expect: the lab's to look at."""

    __tablename__ = "lot_safety_alert"
    __table_args__ = (Index("ix_lot_safety_alert_lot", "lot_number", "cvx", "event_code"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    lot_number: Mapped[str] = mapped_column(String(50))
    cvx: Mapped[str] = mapped_column(String(10))
    event_code: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(300))
    statistics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    run_id: Mapped[str] = mapped_column(ForeignKey("signal_run.id"))
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="open")  # acknowledged | dismissed
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
