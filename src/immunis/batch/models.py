"""The batch room's tables: forecast runs over the whole population, their partitions, results."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from immunis.db import Base, new_id, utcnow


class ForecastRun(Base):
    """One run of `immunis forecast-all` over the database's people."""

    __tablename__ = "forecast_run"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    started: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    schedule: Mapped[str] = mapped_column(String(20))
    assessment_date: Mapped[date] = mapped_column(Date)
    partitions: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|finished|failed


class ForecastPartition(Base):
    """A partition of a run that is done: its results are all in forecast_result."""

    __tablename__ = "forecast_partition"
    run_id: Mapped[str] = mapped_column(
        ForeignKey("forecast_run.id", ondelete="CASCADE"), primary_key=True
    )
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="done")
    rows: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ForecastResult(Base):
    """One person's forecast for one vaccine group, as of the run's assessment date."""

    __tablename__ = "forecast_result"
    __table_args__ = (Index("ix_forecast_result_run_partition", "run_id", "partition"),)
    run_id: Mapped[str] = mapped_column(
        ForeignKey("forecast_run.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    vaccine_group: Mapped[str] = mapped_column(String(40), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    dose_number: Mapped[int | None] = mapped_column(Integer)
    earliest: Mapped[date | None] = mapped_column(Date)
    recommended: Mapped[date | None] = mapped_column(Date)
    past_due: Mapped[date | None] = mapped_column(Date)
    overdue: Mapped[bool] = mapped_column(Boolean)
