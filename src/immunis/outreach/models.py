"""The outbox: messages to people waiting to be sent (SMS, Zalo, email) by a delivery adapter;
the reminders already queued; and every delivery attempt."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from immunis.db import Base, new_id, utcnow


class OutboxMessage(Base):
    """One message to one person. `reference` names what it is about (a recalled lot's id), so
    that the same news is queued for a person once however often its cause is replayed.

    Its life: queued -> sending (claimed by one sender) -> sent, or back to queued with a later
    `next_attempt_at` after a failure worth retrying, or failed for good."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("person_id", "template", "reference"),
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(60))
    reference: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Where it goes (a phone number, an email address) and in which language; unset for
    # messages queued by other rooms, which the sender addresses from the registry.
    address: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str | None] = mapped_column(String(5))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))


class Reminder(Base):
    """A due or late dose a person has been told about: at most one message per person, kind
    of reminder, vaccine group and due date, however often the reminders are built."""

    __tablename__ = "outreach_reminder"
    __table_args__ = (UniqueConstraint("person_id", "kind", "vaccine_group", "due_date"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # due_soon | overdue
    vaccine_group: Mapped[str] = mapped_column(String(40))
    dose_number: Mapped[int | None] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)  # recommended date, or past-due date when late
    message_id: Mapped[str] = mapped_column(ForeignKey("outbox_message.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeliveryAttempt(Base):
    """One try at delivering a message: when, through which adapter, and what came of it."""

    __tablename__ = "outbox_delivery"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    message_id: Mapped[str] = mapped_column(ForeignKey("outbox_message.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    adapter: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(10))  # sent | retry | failed
    error: Mapped[str | None] = mapped_column(String(500))
    provider_id: Mapped[str | None] = mapped_column(String(100))  # the gateway's message id
