"""The registry's tables: people and their lifelong records, and where vaccination happens."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from immunis.db import Base, new_id, utcnow


class Organization(Base):
    """A health organisation: the national programme, a provincial CDC, a private chain."""

    __tablename__ = "organization"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="public")  # public | private
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id"))


class Site(Base):
    """A place where people are vaccinated: a commune health station, a private centre."""

    __tablename__ = "site"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id"))
    kind: Mapped[str] = mapped_column(String(30), default="commune-health-station")
    province_code: Mapped[str | None] = mapped_column(String(2), index=True)
    district_code: Mapped[str | None] = mapped_column(String(3))
    commune_code: Mapped[str | None] = mapped_column(String(5), index=True)
    address_line: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Person(Base):
    __tablename__ = "person"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    national_id: Mapped[str | None] = mapped_column(String(12), unique=True)
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    # Lower case without diacritics ("nguyen van an"), for searching and matching.
    name_key: Mapped[str] = mapped_column(String(210), index=True)
    birth_date: Mapped[date] = mapped_column(Date, index=True)
    sex: Mapped[str] = mapped_column(String(10), default="unknown")
    phone: Mapped[str | None] = mapped_column(String(16), index=True)
    address_line: Mapped[str | None] = mapped_column(String(300))
    province_code: Mapped[str | None] = mapped_column(String(2), index=True)
    district_code: Mapped[str | None] = mapped_column(String(3), index=True)
    commune_code: Mapped[str | None] = mapped_column(String(5), index=True)
    managing_site_id: Mapped[str | None] = mapped_column(ForeignKey("site.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    identifiers: Mapped[list[PersonIdentifier]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="PersonIdentifier.system"
    )
    guardians: Mapped[list[Guardianship]] = relationship(
        foreign_keys="Guardianship.child_id", cascade="all, delete-orphan"
    )


class PersonIdentifier(Base):
    """Another identifier of a person (insurance number, another registry's id)."""

    __tablename__ = "person_identifier"
    __table_args__ = (UniqueConstraint("system", "value"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    system: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(100))
    person: Mapped[Person] = relationship(back_populates="identifiers")


class Guardianship(Base):
    """A guardian (parent, carer) of a person; a citizen may see their dependants' records."""

    __tablename__ = "guardianship"
    __table_args__ = (UniqueConstraint("guardian_id", "child_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    guardian_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(String(40), default="parent")


class VaccineProduct(Base):
    """A vaccine product: CVX (what it is), MVX (who makes it), GTIN (the barcode)."""

    __tablename__ = "vaccine_product"
    __table_args__ = (UniqueConstraint("cvx", "mvx", "trade_name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    cvx: Mapped[str] = mapped_column(String(10), index=True)
    mvx: Mapped[str | None] = mapped_column(String(10))
    trade_name: Mapped[str] = mapped_column(String(200))
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)


class Immunization(Base):
    """A dose a person received: given here (administered) or reported from elsewhere."""

    __tablename__ = "immunization"
    __table_args__ = (
        UniqueConstraint("external_system", "external_value"),
        Index("ix_immunization_person_date", "person_id", "date_administered"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"))
    date_administered: Mapped[date] = mapped_column(Date)
    cvx: Mapped[str] = mapped_column(String(10), index=True)
    mvx: Mapped[str | None] = mapped_column(String(10))
    product_name: Mapped[str | None] = mapped_column(String(200))
    lot_number: Mapped[str | None] = mapped_column(String(50), index=True)
    expiration_date: Mapped[date | None] = mapped_column(Date)
    dose_volume_ml: Mapped[float | None] = mapped_column(Float)
    site_id: Mapped[str | None] = mapped_column(ForeignKey("site.id"), index=True)
    performer: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20), default="administered")
    status: Mapped[str] = mapped_column(String(20), default="completed")
    external_system: Mapped[str | None] = mapped_column(String(200))
    external_value: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recorded_by: Mapped[str | None] = mapped_column(String(36))
    # Set when the dose's lot is recalled: "revaccinate" (the dose does not count) or "none".
    recall_action: Mapped[str | None] = mapped_column(String(20))


class PersonObservation(Base):
    """A CDSi observation: evidence of immunity, a contraindication, an indication."""

    __tablename__ = "person_observation"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    code: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonMerge(Base):
    """A merge of a duplicate into a survivor, with what is needed to undo it."""

    __tablename__ = "person_merge"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    survivor_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    merged_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    merged_by: Mapped[str | None] = mapped_column(String(36))
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[str | None] = mapped_column(String(36))
    moved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
