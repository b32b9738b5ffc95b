"""Migration 0008 builds exactly the tables and columns the outreach models declare, on top of
the supply branch's outbox, and can be undone without touching that branch."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from immunis.db import Base, make_engine
from immunis.migrate import downgrade, upgrade
from immunis.models import load_all_models

TABLES = {"outreach_reminder", "outbox_delivery"}
OUTBOX_COLUMNS = {"address", "language", "next_attempt_at", "claimed_at", "sent_at", "last_error"}


def _touches_outreach(difference: Any) -> bool:
    text = repr(difference)
    return any(f"'{name}'" in text for name in (*TABLES, "outbox_message"))


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


def test_the_migrated_database_matches_the_models(database_url: str) -> None:
    load_all_models()
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert [d for d in differences if _touches_outreach(d)] == []


def test_the_outreach_branch_can_be_undone_and_done_again(database_url: str) -> None:
    downgrade(database_url, "outreach@0001")
    assert TABLES.isdisjoint(_tables(database_url))
    assert "outbox_message" in _tables(database_url)  # the supply branch's, left in place
    assert OUTBOX_COLUMNS.isdisjoint(_columns(database_url, "outbox_message"))
    upgrade(database_url)
    assert _tables(database_url) >= TABLES
    assert _columns(database_url, "outbox_message") >= OUTBOX_COLUMNS
