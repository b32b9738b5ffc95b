"""Booking: sites' opening hours and vaccines offered, clinic sessions, appointments and the
per site and vaccine reservation counters.

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-25 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = ("booking",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_opening_hours",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_site_opening_hours_weekday")),
        sa.CheckConstraint(
            "opens < closes", name=op.f("ck_site_opening_hours_opens_before_closing")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_site_opening_hours_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_opening_hours")),
        sa.UniqueConstraint(
            "site_id", "weekday", "opens", name=op.f("uq_site_opening_hours_site_id")
        ),
    )
    op.create_index(op.f("ix_site_opening_hours_site_id"), "site_opening_hours", ["site_id"])

    op.create_table(
        "site_vaccine",
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("cvx", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_site_vaccine_site_id_site")
        ),
        sa.PrimaryKeyConstraint("site_id", "cvx", name=op.f("pk_site_vaccine")),
    )

    op.create_table(
        "clinic_session",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("vaccines", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "booked >= 0 AND booked <= capacity", name=op.f("ck_clinic_session_within_capacity")
        ),
        sa.CheckConstraint(
            "start_time < end_time", name=op.f("ck_clinic_session_starts_before_it_ends")
        ),
        sa.CheckConstraint("slot_minutes > 0", name=op.f("ck_clinic_session_slot_minutes")),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_clinic_session_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_session")),
    )
    op.create_index("ix_clinic_session_site_day", "clinic_session", ["site_id", "day"])

    op.create_table(
        "appointment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("slot_start", sa.Time(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("schedule_id", sa.String(length=20), nullable=False),
        sa.Column("booked_by", sa.String(length=36), nullable=False),
        sa.Column("rescheduled_from_id", sa.String(length=36), nullable=True),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_appointment_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["rescheduled_from_id"],
            ["appointment.id"],
            name=op.f("fk_appointment_rescheduled_from_id_appointment"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["clinic_session.id"],
            name=op.f("fk_appointment_session_id_clinic_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment")),
    )
    op.create_index(op.f("ix_appointment_person_id"), "appointment", ["person_id"])
    op.create_index("ix_appointment_session_slot", "appointment", ["session_id", "slot_start"])

    op.create_table(
        "appointment_vaccine",
        sa.Column("appointment_id", sa.String(length=36), nullable=False),
        sa.Column("cvx", sa.String(length=10), nullable=False),
        sa.Column("immunization_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_appointment_vaccine_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["immunization_id"],
            ["immunization.id"],
            name=op.f("fk_appointment_vaccine_immunization_id_immunization"),
        ),
        sa.PrimaryKeyConstraint("appointment_id", "cvx", name=op.f("pk_appointment_vaccine")),
    )

    op.create_table(
        "vaccine_reservation",
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("cvx", sa.String(length=10), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_vaccine_reservation_not_negative")),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_vaccine_reservation_site_id_site")
        ),
        sa.PrimaryKeyConstraint("site_id", "cvx", name=op.f("pk_vaccine_reservation")),
    )


def downgrade() -> None:
    op.drop_table("vaccine_reservation")
    op.drop_table("appointment_vaccine")
    op.drop_index("ix_appointment_session_slot", table_name="appointment")
    op.drop_index(op.f("ix_appointment_person_id"), table_name="appointment")
    op.drop_table("appointment")
    op.drop_index("ix_clinic_session_site_day", table_name="clinic_session")
    op.drop_table("clinic_session")
    op.drop_table("site_vaccine")
    op.drop_index(op.f("ix_site_opening_hours_site_id"), table_name="site_opening_hours")
    op.drop_table("site_opening_hours")
