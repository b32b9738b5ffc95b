"""Batch: whole-population forecast runs, their partitions and results.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-24 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = ("batch",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forecast_run",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.Column("schedule", sa.String(length=20), nullable=False),
        sa.Column("assessment_date", sa.Date(), nullable=False),
        sa.Column("partitions", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_run")),
    )
    op.create_table(
        "forecast_partition",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["forecast_run.id"],
            name=op.f("fk_forecast_partition_run_id_forecast_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "partition", name=op.f("pk_forecast_partition")),
    )
    op.create_table(
        "forecast_result",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("vaccine_group", sa.String(length=40), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dose_number", sa.Integer(), nullable=True),
        sa.Column("earliest", sa.Date(), nullable=True),
        sa.Column("recommended", sa.Date(), nullable=True),
        sa.Column("past_due", sa.Date(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["forecast_run.id"],
            name=op.f("fk_forecast_result_run_id_forecast_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "run_id", "person_id", "vaccine_group", name=op.f("pk_forecast_result")
        ),
    )
    with op.batch_alter_table("forecast_result", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forecast_result_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "ix_forecast_result_run_partition", ["run_id", "partition"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("forecast_result", schema=None) as batch_op:
        batch_op.drop_index("ix_forecast_result_run_partition")
        batch_op.drop_index(batch_op.f("ix_forecast_result_person_id"))
    op.drop_table("forecast_result")
    op.drop_table("forecast_partition")
    op.drop_table("forecast_run")
