"""The database: engine and sessions (a SQLite file by default, PostgreSQL by URL), table base."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import MetaData, create_engine, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def new_id() -> str:
    """A random UUID as text: ids are made by the application, the same on every database."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # Writers queue for the database lock instead of failing when many arrive at once.
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# A pooled connection idle for longer than this is pinged before it is lent again; one in use a
# moment ago is lent as it is, so a busy server pays no round trip for the check (the rule of
# the HikariCP pool). A connection that dies in use is found by the statement that fails on it,
# and the pool then drops every connection older than that moment.
IDLE_BEFORE_PING = 0.5  # seconds
_IDLE_SINCE = "immunis.idle_since"


def make_engine(url: str, idle_before_ping: float = IDLE_BEFORE_PING, **options: Any) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and a busy timeout; a server's pooled
    connections are checked when they have been idle (`idle_before_ping` seconds)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, **options)
    _ping_when_idle(engine, idle_before_ping)
    return engine


def _ping_when_idle(engine: Engine, idle_before_ping: float) -> None:
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _idle_from_now(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < idle_before_ping:
            return  # a new connection, or one in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool retries with a new connection, and drops every one made before this.
            raise exc.InvalidatePoolError(f"pooled connection lost: {error}") from error


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back on any error."""
    with factory() as session, session.begin():
        yield session
