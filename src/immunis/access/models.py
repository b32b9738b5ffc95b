"""Who may use the system, how they prove it, and the append-only record of what they did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from immunis.db import Base, new_id, utcnow


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    # A vaccinator's site; an officer's area (2-digit province or 3-digit district code);
    # a citizen's own person record.
    site_id: Mapped[str | None] = mapped_column(ForeignKey("site.id"))
    area_code: Mapped[str | None] = mapped_column(String(5))
    person_id: Mapped[str | None] = mapped_column(ForeignKey("person.id"))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEvent(Base):
    """One read or write of personal health data, or a refusal. Never updated, never deleted:
    the migration installs triggers that refuse both."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    role: Mapped[str | None] = mapped_column(String(30))
    action: Mapped[str] = mapped_column(String(40))  # read, create, update, search, merge, ...
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(36))
    person_id: Mapped[str | None] = mapped_column(String(36), index=True)
    outcome: Mapped[str] = mapped_column(String(10), default="allowed")  # allowed | denied
    purpose: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(20))  # api, fhir, hl7, web, cli
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AccessGrant(Base):
    """Access to one person's record for one site, for a while: given when the person is
    identified at the site by their national ID (they are standing there with the card)."""

    __tablename__ = "access_grant"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    granted_by: Mapped[str] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
