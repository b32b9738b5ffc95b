"""Supply: vaccine lots and their release, stores, the stock ledger, transfers, opened vials;
the outreach outbox; and the recall flag on a recorded dose.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-24 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = ("supply",)
depends_on = None

# Tables whose rows are history: written once, never changed or removed.
APPEND_ONLY = ("stock_movement", "lot_status_change")


def upgrade() -> None:
    op.create_table(
        "vaccine_lot",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cvx", sa.String(length=10), nullable=False),
        sa.Column("mvx", sa.String(length=10), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=True),
        sa.Column("lot_number", sa.String(length=50), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("doses_per_vial", sa.Integer(), nullable=False),
        sa.Column("hours_usable_after_opening", sa.Integer(), nullable=True),
        sa.Column("release_status", sa.String(length=20), nullable=False),
        sa.Column("recall_action", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("status_set_by", sa.String(length=36), nullable=True),
        sa.Column("status_set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=36), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("doses_per_vial >= 1", name=op.f("ck_vaccine_lot_doses_per_vial")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vaccine_lot")),
        sa.UniqueConstraint("mvx", "lot_number", name=op.f("uq_vaccine_lot_mvx")),
    )
    op.create_index(op.f("ix_vaccine_lot_cvx"), "vaccine_lot", ["cvx"])
    op.create_index(op.f("ix_vaccine_lot_expiry_date"), "vaccine_lot", ["expiry_date"])
    op.create_index(op.f("ix_vaccine_lot_lot_number"), "vaccine_lot", ["lot_number"])
    op.create_index(op.f("ix_vaccine_lot_release_status"), "vaccine_lot", ["release_status"])

    op.create_table(
        "lot_status_change",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lot_id", sa.String(length=36), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("recall_action", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("changed_by", sa.String(length=36), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["vaccine_lot.id"], name=op.f("fk_lot_status_change_lot_id_vaccine_lot")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_status_change")),
    )
    op.create_index(op.f("ix_lot_status_change_lot_id"), "lot_status_change", ["lot_id"])

    op.create_table(
        "supply_store",
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_supply_store_site_id_site")
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_supply_store")),
    )

    op.create_table(
        "stock_balance",
        sa.Column("lot_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_stock_balance_not_negative")),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["vaccine_lot.id"], name=op.f("fk_stock_balance_lot_id_vaccine_lot")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_stock_balance_site_id_site")
        ),
        sa.PrimaryKeyConstraint("lot_id", "site_id", name=op.f("pk_stock_balance")),
    )
    op.create_index(op.f("ix_stock_balance_site_id"), "stock_balance", ["site_id"])

    op.create_table(
        "stock_transfer",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("lot_id", sa.String(length=36), nullable=False),
        sa.Column("from_site_id", sa.String(length=36), nullable=False),
        sa.Column("to_site_id", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dispatched_on", sa.Date(), nullable=False),
        sa.Column("dispatched_by", sa.String(length=36), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("received_by", sa.String(length=36), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_stock_transfer_positive")),
        sa.ForeignKeyConstraint(
            ["from_site_id"], ["site.id"], name=op.f("fk_stock_transfer_from_site_id_site")
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["vaccine_lot.id"], name=op.f("fk_stock_transfer_lot_id_vaccine_lot")
        ),
        sa.ForeignKeyConstraint(
            ["to_site_id"], ["site.id"], name=op.f("fk_stock_transfer_to_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_transfer")),
    )
    op.create_index(op.f("ix_stock_transfer_from_site_id"), "stock_transfer", ["from_site_id"])
    op.create_index(op.f("ix_stock_transfer_lot_id"), "stock_transfer", ["lot_id"])
    op.create_index(op.f("ix_stock_transfer_to_site_id"), "stock_transfer", ["to_site_id"])

    op.create_table(
        "stock_movement",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lot_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=15), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("vvm_stage", sa.Integer(), nullable=True),
        sa.Column("transfer_id", sa.String(length=36), nullable=True),
        sa.Column("immunization_id", sa.String(length=36), nullable=True),
        sa.Column("recorded_by", sa.String(length=36), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity <> 0", name=op.f("ck_stock_movement_not_zero")),
        sa.CheckConstraint("vvm_stage BETWEEN 1 AND 4", name=op.f("ck_stock_movement_vvm_stage")),
        sa.ForeignKeyConstraint(
            ["immunization_id"],
            ["immunization.id"],
            name=op.f("fk_stock_movement_immunization_id_immunization"),
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["vaccine_lot.id"], name=op.f("fk_stock_movement_lot_id_vaccine_lot")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_stock_movement_site_id_site")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["stock_transfer.id"],
            name=op.f("fk_stock_movement_transfer_id_stock_transfer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movement")),
    )
    op.create_index(
        op.f("ix_stock_movement_immunization_id"), "stock_movement", ["immunization_id"]
    )
    op.create_index(
        "ix_stock_movement_site_lot_day", "stock_movement", ["site_id", "lot_id", "occurred_on"]
    )

    op.create_table(
        "opened_vial",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("lot_id", sa.String(length=36), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("doses_left", sa.Integer(), nullable=False),
        sa.Column("discard_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["vaccine_lot.id"], name=op.f("fk_opened_vial_lot_id_vaccine_lot")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_opened_vial_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opened_vial")),
    )
    op.create_index(op.f("ix_opened_vial_discard_after"), "opened_vial", ["discard_after"])
    op.create_index("ix_opened_vial_site_lot", "opened_vial", ["site_id", "lot_id"])

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("template", sa.String(length=60), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_outbox_message_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint(
            "person_id", "template", "reference", name=op.f("uq_outbox_message_person_id")
        ),
    )
    op.create_index(op.f("ix_outbox_message_person_id"), "outbox_message", ["person_id"])
    op.create_index(op.f("ix_outbox_message_status"), "outbox_message", ["status"])

    # Nullable, so no table rebuild is needed on SQLite.
    op.add_column("immunization", sa.Column("recall_action", sa.String(length=20), nullable=True))
    _make_history_append_only()


def downgrade() -> None:
    _drop_history_guards()
    with op.batch_alter_table("immunization") as batch_op:
        batch_op.drop_column("recall_action")
    for table in (
        "outbox_message",
        "opened_vial",
        "stock_movement",
        "stock_transfer",
        "stock_balance",
        "supply_store",
        "lot_status_change",
        "vaccine_lot",
    ):
        op.drop_table(table)


def _make_history_append_only() -> None:
    """The stock ledger and lot release history are never updated or deleted from."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION immunis_supply_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION immunis_supply_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION immunis_supply_append_only()"
            )
        return
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _drop_history_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS immunis_supply_append_only()")
        return
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
