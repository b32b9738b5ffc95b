"""HL7 v2 message log: the acknowledgment sent for each (sender, message control id).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 05:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hl7_message_log",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sender", sa.String(length=400), nullable=False),
        sa.Column("control_id", sa.String(length=199), nullable=False),
        sa.Column("message_type", sa.String(length=20), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("acknowledgment_code", sa.String(length=2), nullable=False),
        sa.Column("acknowledgment", sa.Text(), nullable=False),
        sa.Column("charset", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hl7_message_log")),
        sa.UniqueConstraint("sender", "control_id", name=op.f("uq_hl7_message_log_sender")),
    )


def downgrade() -> None:
    op.drop_table("hl7_message_log")
