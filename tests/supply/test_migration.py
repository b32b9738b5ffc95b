"""The hand-written migration 0004 builds exactly the tables the supply and outreach models
declare, and can be undone."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from immunis.db import Base, make_engine
from immunis.migrate import downgrade, upgrade
from immunis.models import load_all_models

TABLES = {
    "vaccine_lot",
    "lot_status_change",
    "supply_store",
    "stock_balance",
    "stock_transfer",
    "stock_movement",
    "opened_vial",
    "outbox_message",
}


def _touches_this_migration(difference: Any) -> bool:
    """Whether an autogenerate difference is about a table or column this migration owns."""
    text = repr(difference)
    return any(f"'{table}'" in text for table in TABLES) or "recall_action" in text


def test_the_migrated_database_matches_the_models(database_url: str) -> None:
    load_all_models()
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert [d for d in differences if _touches_this_migration(d)] == []


def test_the_supply_branch_can_be_undone_and_done_again(database_url: str) -> None:
    downgrade(database_url, "supply@0001")
    assert TABLES.isdisjoint(_tables(database_url))
    assert "recall_action" not in _columns(database_url, "immunization")
    upgrade(database_url)
    assert _tables(database_url) >= TABLES
    assert "recall_action" in _columns(database_url, "immunization")


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def _columns(url: str, table: str) -> set[str]:
    engine = make_engine(url)
    names = {column["name"] for column in inspect(engine).get_columns(table)}
    engine.dispose()
    return names
