"""The hand-written migration 0007 builds exactly the tables the booking models declare, and can
be undone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from immunis.db import Base, make_engine
from immunis.migrate import downgrade, upgrade
from immunis.models import load_all_models

TABLES = {
    "site_opening_hours",
    "site_vaccine",
    "clinic_session",
    "appointment",
    "appointment_vaccine",
    "vaccine_reservation",
}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_the_migrated_database_matches_the_models(database_url: str) -> None:
    load_all_models()
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    ours = [d for d in differences if any(f"'{table}'" in repr(d) for table in TABLES)]
    assert ours == []


def test_the_booking_branch_can_be_undone_and_done_again(database_url: str) -> None:
    downgrade(database_url, "booking@0001")
    assert TABLES.isdisjoint(_tables(database_url))
    upgrade(database_url)
    assert _tables(database_url) >= TABLES
