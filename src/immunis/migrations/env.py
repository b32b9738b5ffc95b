"""Alembic environment: the URL comes from the caller (immunis.migrate) or IMMUNIS_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from immunis.db import Base, make_engine
from immunis.models import load_all_models
from immunis.settings import get_settings

load_all_models()
config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
