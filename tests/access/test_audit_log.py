"""The audit log's events are written when their transaction commits, all in one insert, and go
with a savepoint that is rolled back (access/service.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from immunis.access.models import AuditEvent
from immunis.access.policy import Actor, Role
from immunis.access.service import audit
from immunis.db import make_engine, make_sessionmaker, transaction

VACCINATOR = Actor(
    user_id="user-1",
    username="vaccinator",
    role=Role.VACCINATOR,
    site_id=None,
    site_commune_code=None,
    area_code=None,
    person_id=None,
    dependant_ids=frozenset(),
    channel="api",
)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _logged(sessions: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with sessions() as session:
        rows = session.execute(
            select(AuditEvent.entity_type, AuditEvent.entity_id).order_by(AuditEvent.id)
        )
        return [(entity_type, entity_id) for entity_type, entity_id in rows]


def test_events_are_written_when_the_transaction_commits(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as session:
        audit(session, VACCINATOR, "read", "forecast", person_id="p1")
        audit(session, VACCINATOR, "create", "appointment", "a1", detail={"cvx": ["8"]})
        assert _logged(sessions) == []  # not yet, not even to another reader
    assert _logged(sessions) == [("forecast", None), ("appointment", "a1")]
    with sessions() as session:
        first, second = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    assert first.at <= second.at  # each keeps the moment it happened
    assert (second.role, second.channel, second.detail) == ("vaccinator", "api", {"cvx": ["8"]})


def test_a_transaction_rolled_back_writes_no_event(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        audit(session, VACCINATOR, "read", "forecast", person_id="p1")
        raise RuntimeError("refused")
    with transaction(sessions) as session:
        audit(session, VACCINATOR, "read", "person", "p2")
    assert _logged(sessions) == [("person", "p2")]


def test_a_savepoint_rolled_back_takes_its_events_with_it(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as session:
        audit(session, VACCINATOR, "create", "person", "before")
        with session.begin_nested():
            audit(session, VACCINATOR, "create", "person", "kept")
        with pytest.raises(RuntimeError), session.begin_nested():
            audit(session, VACCINATOR, "create", "person", "rejected")
            raise RuntimeError("a bad record")
        with pytest.raises(RuntimeError), session.begin_nested():
            audit(session, VACCINATOR, "create", "person", "outer")
            with session.begin_nested():
                audit(session, VACCINATOR, "create", "person", "inner, released")
            raise RuntimeError("the outer savepoint fails after the inner one was released")
        audit(session, VACCINATOR, "create", "person", "after")
    assert [entity_id for _, entity_id in _logged(sessions)] == ["before", "kept", "after"]
