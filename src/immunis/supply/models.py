"""The supply room's tables: vaccine lots and their release history, the stores, the stock
ledger with its running balances, transfers between stores, and opened multi-dose vials."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
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


class VaccineLot(Base):
    """A manufacturer's lot of one vaccine, and the laboratory's decision on using it."""

    __tablename__ = "vaccine_lot"
    __table_args__ = (
        UniqueConstraint("mvx", "lot_number"),
        CheckConstraint("doses_per_vial >= 1", name="doses_per_vial"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    cvx: Mapped[str] = mapped_column(String(10), index=True)  # without leading zeros
    mvx: Mapped[str] = mapped_column(String(10))
    product_name: Mapped[str | None] = mapped_column(String(200))
    lot_number: Mapped[str] = mapped_column(String(50), index=True)  # in capitals
    expiry_date: Mapped[date] = mapped_column(Date, index=True)
    doses_per_vial: Mapped[int] = mapped_column(Integer)
    # How long an opened multi-dose vial may be used (WHO multi-dose vial policy: 6 hours for
    # reconstituted vaccines such as BCG and MR, up to 28 days for some liquid ones).
    hours_usable_after_opening: Mapped[int | None] = mapped_column(Integer)
    release_status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    recall_action: Mapped[str] = mapped_column(String(20), default="none")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    status_set_by: Mapped[str | None] = mapped_column(String(36))
    status_set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    registered_by: Mapped[str | None] = mapped_column(String(36))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LotStatusChange(Base):
    """One step in a lot's release history, from its registration on. Never updated."""

    __tablename__ = "lot_status_change"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    lot_id: Mapped[str] = mapped_column(ForeignKey("vaccine_lot.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    recall_action: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
    changed_by: Mapped[str | None] = mapped_column(String(36))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SupplyStore(Base):
    """A site registered as a store above station level (the others are stations)."""

    __tablename__ = "supply_store"
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), primary_key=True)
    level: Mapped[str] = mapped_column(String(10))


class StockBalance(Base):
    """The running balance of one lot at one site: the ledger's sum, kept with it in the same
    transaction. Its row is what a movement locks, so two movements cannot overdraw it."""

    __tablename__ = "stock_balance"
    __table_args__ = (CheckConstraint("quantity >= 0", name="not_negative"),)
    lot_id: Mapped[str] = mapped_column(ForeignKey("vaccine_lot.id"), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), primary_key=True, index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)


class StockTransfer(Base):
    """Doses of one lot sent from one store to another: dispatched, then received."""

    __tablename__ = "stock_transfer"
    __table_args__ = (CheckConstraint("quantity > 0", name="positive"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    lot_id: Mapped[str] = mapped_column(ForeignKey("vaccine_lot.id"), index=True)
    from_site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    to_site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="in_transit")  # in_transit | received
    dispatched_on: Mapped[date] = mapped_column(Date)
    dispatched_by: Mapped[str | None] = mapped_column(String(36))
    received_on: Mapped[date | None] = mapped_column(Date)
    received_by: Mapped[str | None] = mapped_column(String(36))


class StockMovement(Base):
    """One line of the stock ledger: a signed number of doses of a lot at a site. Never updated
    or deleted (the migration installs triggers that refuse both); a mistake is corrected by an
    adjustment."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        CheckConstraint("quantity <> 0", name="not_zero"),
        CheckConstraint("vvm_stage BETWEEN 1 AND 4", name="vvm_stage"),
        Index("ix_stock_movement_site_lot_day", "site_id", "lot_id", "occurred_on"),
    )
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    lot_id: Mapped[str] = mapped_column(ForeignKey("vaccine_lot.id"))
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    kind: Mapped[str] = mapped_column(String(15))  # a ledger.MovementKind
    quantity: Mapped[int] = mapped_column(Integer)
    occurred_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))  # wastage code, adjustment's why
    note: Mapped[str | None] = mapped_column(String(200))  # a delivery note, a remark
    vvm_stage: Mapped[int | None] = mapped_column(Integer)
    transfer_id: Mapped[str | None] = mapped_column(ForeignKey("stock_transfer.id"))
    immunization_id: Mapped[str | None] = mapped_column(ForeignKey("immunization.id"), index=True)
    recorded_by: Mapped[str | None] = mapped_column(String(36))  # None: the system
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OpenedVial(Base):
    """A multi-dose vial in use at a site. Its doses stay in the site's balance until given or,
    when its time is up, written off as wasted."""

    __tablename__ = "opened_vial"
    __table_args__ = (Index("ix_opened_vial_site_lot", "site_id", "lot_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    lot_id: Mapped[str] = mapped_column(ForeignKey("vaccine_lot.id"))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    doses_left: Mapped[int] = mapped_column(Integer)
    discard_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
