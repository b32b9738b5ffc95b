"""The server's connection pool: a connection idle for a while is checked before it is lent, one
used a moment ago is not (no round trip on a busy server), and a connection that died while
pooled is replaced."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, exc, text
from sqlalchemy.engine import Engine

from immunis.db import make_engine
from tests.conftest import scratch_postgres_database


@pytest.fixture
def server_url() -> Iterator[str]:
    """An empty database of its own on the test server (no tables needed)."""
    with scratch_postgres_database("immunis_pool") as url:
        yield url


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_backend_pid()")))


def _kill(server_url: str, pid: int) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    time.sleep(0.2)  # the backend is gone once the signal is handled


def _pings(engine: Engine) -> list[object]:
    """The pings the engine's pool sends (the dialect's do_ping, counted on the way)."""
    seen: list[object] = []
    plain_ping = engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        seen.append(dbapi_connection)
        return plain_ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return seen


def test_a_connection_used_a_moment_ago_is_lent_without_a_ping(server_url: str) -> None:
    engine = make_engine(server_url, idle_before_ping=60, pool_size=1, max_overflow=0)
    pings = _pings(engine)
    for _ in range(5):
        _backend_pid(engine)
    assert pings == []
    engine.dispose()


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(server_url: str) -> None:
    engine = make_engine(server_url, idle_before_ping=0.1, pool_size=1, max_overflow=0)
    pings = _pings(engine)
    first = _backend_pid(engine)
    time.sleep(0.2)
    assert _backend_pid(engine) == first  # pinged, alive, lent again
    assert len(pings) == 1
    _kill(server_url, first)
    time.sleep(0.2)
    second = _backend_pid(engine)  # the ping fails; the pool connects anew, no error shows
    assert second != first
    assert len(pings) == 2
    engine.dispose()


def test_a_connection_that_died_just_after_use_fails_once_then_the_pool_recovers(
    server_url: str,
) -> None:
    engine = make_engine(server_url, idle_before_ping=60, pool_size=1, max_overflow=0)
    first = _backend_pid(engine)
    _kill(server_url, first)
    with pytest.raises(exc.OperationalError):
        _backend_pid(engine)  # not pinged (used a moment ago): the statement finds it dead
    # The failure invalidated the pool: the next unit of work gets a new, working connection.
    assert _backend_pid(engine) != first
    engine.dispose()
