"""The HL7 v2 message log: which messages were processed, and the acknowledgment each got, so a
message sent again gets the same answer and changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from immunis.db import Base, new_id, utcnow


class Hl7MessageLog(Base):
    """One processed message, by sender and message control id (MSH-10). The message itself is
    not kept (its personal data lives in the registry); its digest tells a re-send from a
    different message that reuses the control id."""

    __tablename__ = "hl7_message_log"
    __table_args__ = (UniqueConstraint("sender", "control_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    sender: Mapped[str] = mapped_column(String(400))  # MSH-3|MSH-4
    control_id: Mapped[str] = mapped_column(String(199))
    message_type: Mapped[str] = mapped_column(String(20))
    digest: Mapped[str] = mapped_column(String(64))
    acknowledgment_code: Mapped[str] = mapped_column(String(2))  # MSA-1 of the answer
    acknowledgment: Mapped[str] = mapped_column(Text)
    charset: Mapped[str] = mapped_column(String(20))  # MSH-18 of the answer
    user_id: Mapped[str | None] = mapped_column(String(36))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
