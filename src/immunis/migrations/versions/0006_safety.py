"""Safety: AEFI reports and their review, signal runs and their results, lot safety alerts.

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = ("safety",)
depends_on = None


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(length=36), nullable=False)


def upgrade() -> None:
    op.create_table(
        "aefi_report",
        _id(),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("age_at_onset_days", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("district_code", sa.String(length=3), nullable=True),
        sa.Column("commune_code", sa.String(length=5), nullable=True),
        sa.Column("reporter_user_id", sa.String(length=36), nullable=False),
        sa.Column("reporter_role", sa.String(length=30), nullable=False),
        sa.Column("reporter_name", sa.String(length=200), nullable=False),
        sa.Column("reporter_designation", sa.String(length=100), nullable=True),
        sa.Column("reporter_phone", sa.String(length=16), nullable=True),
        sa.Column("reporter_site_id", sa.String(length=36), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=False),
        sa.Column("onset_time", sa.Time(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("treatment", sa.Text(), nullable=True),
        sa.Column("seriousness", sa.JSON(), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("investigation_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("causality", sa.String(length=2), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duplicate_of_id", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["aefi_report.id"],
            name=op.f("fk_aefi_report_duplicate_of_id_aefi_report"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aefi_report")),
    )
    for column in ("person_id", "province_code", "district_code", "reporter_user_id", "onset_date"):
        op.create_index(op.f(f"ix_aefi_report_{column}"), "aefi_report", [column])
    op.create_index("ix_aefi_report_status_serious", "aefi_report", ["status", "serious"])

    op.create_table(
        "aefi_event",
        _id(),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["aefi_report.id"],
            name=op.f("fk_aefi_event_report_id_aefi_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aefi_event")),
        sa.UniqueConstraint("report_id", "code", name=op.f("uq_aefi_event_report_id")),
    )
    op.create_index(op.f("ix_aefi_event_code"), "aefi_event", ["code"])

    op.create_table(
        "aefi_suspected_dose",
        _id(),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("immunization_id", sa.String(length=36), nullable=False),
        sa.Column("cvx", sa.String(length=10), nullable=False),
        sa.Column("mvx", sa.String(length=10), nullable=True),
        sa.Column("product_name", sa.String(length=200), nullable=True),
        sa.Column("lot_number", sa.String(length=50), nullable=True),
        sa.Column("site_id", sa.String(length=36), nullable=True),
        sa.Column("date_administered", sa.Date(), nullable=False),
        sa.Column("time_administered", sa.Time(), nullable=True),
        sa.Column("age_at_dose_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["aefi_report.id"],
            name=op.f("fk_aefi_suspected_dose_report_id_aefi_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aefi_suspected_dose")),
        sa.UniqueConstraint(
            "report_id", "immunization_id", name=op.f("uq_aefi_suspected_dose_report_id")
        ),
    )
    for column in ("immunization_id", "cvx", "lot_number"):
        op.create_index(op.f(f"ix_aefi_suspected_dose_{column}"), "aefi_suspected_dose", [column])

    op.create_table(
        "aefi_note",
        _id(),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("noted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_user_id", sa.String(length=36), nullable=True),
        sa.Column("author_role", sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["aefi_report.id"],
            name=op.f("fk_aefi_note_report_id_aefi_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aefi_note")),
    )
    op.create_index(op.f("ix_aefi_note_report_id"), "aefi_note", ["report_id"])

    op.create_table(
        "aefi_causality_assessment",
        _id(),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("category", sa.String(length=2), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("assessed_by", sa.String(length=36), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["aefi_report.id"],
            name=op.f("fk_aefi_causality_assessment_report_id_aefi_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aefi_causality_assessment")),
    )
    op.create_index(
        op.f("ix_aefi_causality_assessment_report_id"),
        "aefi_causality_assessment",
        ["report_id"],
    )

    op.create_table(
        "aefi_report_link",
        _id(),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("other_report_id", sa.String(length=36), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["aefi_report.id"],
            name=op.f("fk_aefi_report_link_report_id_aefi_report"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["other_report_id"],
            ["aefi_report.id"],
            name=op.f("fk_aefi_report_link_other_report_id_aefi_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aefi_report_link")),
        sa.UniqueConstraint(
            "report_id", "other_report_id", name=op.f("uq_aefi_report_link_report_id")
        ),
    )
    for column in ("report_id", "other_report_id"):
        op.create_index(op.f(f"ix_aefi_report_link_{column}"), "aefi_report_link", [column])

    op.create_table(
        "signal_run",
        _id(),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=36), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_run")),
    )

    op.create_table(
        "signal_result",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("method", sa.String(length=30), nullable=False),
        sa.Column("cvx", sa.String(length=10), nullable=False),
        sa.Column("event_code", sa.String(length=10), nullable=False),
        sa.Column("stratum_kind", sa.String(length=20), nullable=False),
        sa.Column("stratum", sa.String(length=50), nullable=True),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=True),
        sa.Column("statistics", sa.JSON(), nullable=False),
        sa.Column("signal", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["signal_run.id"],
            name=op.f("fk_signal_result_run_id_signal_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_result")),
    )
    op.create_index(op.f("ix_signal_result_run_id"), "signal_result", ["run_id"])

    op.create_table(
        "lot_safety_alert",
        _id(),
        sa.Column("lot_number", sa.String(length=50), nullable=False),
        sa.Column("cvx", sa.String(length=10), nullable=False),
        sa.Column("event_code", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("statistics", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["signal_run.id"], name=op.f("fk_lot_safety_alert_run_id_signal_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_safety_alert")),
    )
    op.create_index(
        "ix_lot_safety_alert_lot", "lot_safety_alert", ["lot_number", "cvx", "event_code"]
    )


def downgrade() -> None:
    for table in (
        "lot_safety_alert",
        "signal_result",
        "signal_run",
        "aefi_report_link",
        "aefi_causality_assessment",
        "aefi_note",
        "aefi_suspected_dose",
        "aefi_event",
        "aefi_report",
    ):
        op.drop_table(table)
