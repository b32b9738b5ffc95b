"""Outreach: the outbox's delivery state, the reminders already queued, the delivery log.

The outbox table itself came with the supply branch (0004); this revision depends on it.

Revision ID: 0008
Revises: 0001
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0001"
branch_labels = ("outreach",)
depends_on = "0004"

NEW_OUTBOX_COLUMNS = (
    ("address", sa.String(length=254)),
    ("language", sa.String(length=5)),
    ("next_attempt_at", sa.DateTime(timezone=True)),
    ("claimed_at", sa.DateTime(timezone=True)),
    ("sent_at", sa.DateTime(timezone=True)),
    ("last_error", sa.String(length=500)),
)


def upgrade() -> None:
    # Nullable columns: no table rebuild on SQLite, no rewrite on PostgreSQL.
    for name, kind in NEW_OUTBOX_COLUMNS:
        op.add_column("outbox_message", sa.Column(name, kind, nullable=True))
    op.create_index("ix_outbox_message_due", "outbox_message", ["status", "next_attempt_at"])

    op.create_table(
        "outreach_reminder",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("vaccine_group", sa.String(length=40), nullable=False),
        sa.Column("dose_number", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbox_message.id"],
            name=op.f("fk_outreach_reminder_message_id_outbox_message"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_outreach_reminder_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_reminder")),
        sa.UniqueConstraint(
            "person_id",
            "kind",
            "vaccine_group",
            "due_date",
            name=op.f("uq_outreach_reminder_person_id"),
        ),
    )
    op.create_index(op.f("ix_outreach_reminder_message_id"), "outreach_reminder", ["message_id"])
    op.create_index(op.f("ix_outreach_reminder_person_id"), "outreach_reminder", ["person_id"])

    op.create_table(
        "outbox_delivery",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("adapter", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("provider_id", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbox_message.id"],
            name=op.f("fk_outbox_delivery_message_id_outbox_message"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_delivery")),
    )
    op.create_index(op.f("ix_outbox_delivery_message_id"), "outbox_delivery", ["message_id"])


def downgrade() -> None:
    op.drop_table("outbox_delivery")
    op.drop_table("outreach_reminder")
    op.drop_index("ix_outbox_message_due", table_name="outbox_message")
    with op.batch_alter_table("outbox_message") as batch_op:
        for name, _ in reversed(NEW_OUTBOX_COLUMNS):
            batch_op.drop_column(name)
