"""HL7 v2 over MLLP on a real socket on 127.0.0.1 (an ephemeral port), on both databases: one
answer per message, in order, on concurrent connections; the server stops when told."""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from immunis.access.models import ApiToken
from immunis.cli import app
from immunis.interop.hl7v2.mllp import END_BLOCK, Handler, frame, serve
from immunis.interop.hl7v2.service import answer_as
from immunis.registry.models import Immunization, Person
from immunis.settings import get_settings
from tests.interop.hl7v2.messages import Answer, pid, qbp, vxu, wire
from tests.world import World, build_world

TIMEOUT = 20  # seconds: every wait in these tests is bounded


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


@contextmanager
def mllp_server(handler: Handler) -> Iterator[int]:
    """The server on its own thread and event loop, on a free port, for the block."""
    ports: queue.Queue[int] = queue.Queue()
    control: dict[str, object] = {}

    async def main() -> None:
        stop = asyncio.Event()
        control["stop"], control["loop"] = stop, asyncio.get_running_loop()
        await serve(handler, "127.0.0.1", 0, workers=4, started=ports.put, stop=stop)

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    try:
        yield ports.get(timeout=TIMEOUT)
    finally:
        loop = control["loop"]
        assert isinstance(loop, asyncio.AbstractEventLoop)
        loop.call_soon_threadsafe(control["stop"].set)  # type: ignore[attr-defined]
        thread.join(timeout=TIMEOUT)
        assert not thread.is_alive(), "the MLLP server did not stop"


def connect(port: int) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    connection.settimeout(TIMEOUT)
    return connection


def read_answers(connection: socket.socket, how_many: int) -> list[bytes]:
    received = b""
    while received.count(END_BLOCK) < how_many:
        chunk = connection.recv(65536)
        assert chunk, "the server closed the connection before answering"
        received += chunk
    answers = received.split(END_BLOCK)[:how_many]
    assert all(a.startswith(b"\x0b") for a in answers)
    return [a[1:] for a in answers]


def handler_for(world: World, who: str = "integration") -> Handler:
    return partial(answer_as, world.tokens[who], world.sessions, "us-acip")


def test_messages_get_their_answers_in_order_on_concurrent_connections(world: World) -> None:
    twin = vxu("VNVC-0002", patient=pid(national_id="001225009999", record_number="HVT-9"))
    twin[3:] = [s.replace("DOSE-", "TWIN-") for s in twin[3:]]
    with mllp_server(handler_for(world)) as port, connect(port) as first, connect(port) as second:
        # Two messages in one write on the first connection, one on the second at the same time.
        first.sendall(frame(wire(vxu("VNVC-0001"))) + frame(wire(qbp(profile="Z34"))))
        second.sendall(b"line noise before the frame" + frame(wire(twin)))
        recorded, history = (Answer.of(a) for a in read_answers(first, 2))
        [other] = (Answer.of(a) for a in read_answers(second, 1))
    assert (recorded.code, recorded.message.msh.text(9)) == ("AA", "ACK")
    assert (history.code, history.profile, len(history.segments("RXA"))) == ("AA", "Z32", 2)
    assert other.code == "AA"
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Immunization)) == 4


def test_a_message_sent_again_over_mllp_gets_the_same_answer(world: World) -> None:
    message = frame(wire(vxu("VNVC-0001")))
    with mllp_server(handler_for(world)) as port, connect(port) as connection:
        connection.sendall(message)
        [first] = read_answers(connection, 1)
        connection.sendall(message)
        [again] = read_answers(connection, 1)
    assert again == first


def test_the_same_message_on_several_connections_at_once_is_recorded_once(world: World) -> None:
    message = frame(wire(vxu("VNVC-0001")))
    with mllp_server(handler_for(world)) as port:
        connections = [connect(port) for _ in range(4)]
        try:
            for connection in connections:
                connection.sendall(message)
            answers = {read_answers(c, 1)[0] for c in connections}
        finally:
            for connection in connections:
                connection.close()
    assert len(answers) == 1
    assert Answer.of(answers.pop()).code == "AA"
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Immunization)) == 2
        assert session.scalar(select(func.count()).select_from(Person)) == 2


def test_once_the_token_is_revoked_messages_are_rejected(world: World) -> None:
    with world.sessions() as session, session.begin():
        session.execute(update(ApiToken).values(revoked=True))
    with mllp_server(handler_for(world)) as port, connect(port) as connection:
        connection.sendall(frame(wire(vxu())))
        [answer] = (Answer.of(a) for a in read_answers(connection, 1))
    assert answer.code == "AR"
    assert "not authenticated" in answer.errors()[0][3]
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Immunization)) == 0


def test_the_command_refuses_to_start_without_a_valid_token(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = world.sessions.kw["bind"].url.render_as_string(hide_password=False)
    monkeypatch.setenv("IMMUNIS_DATABASE_URL", url)
    get_settings.cache_clear()
    token_file = tmp_path / "token"
    token_file.write_text("not-a-token\n")
    try:
        runner = CliRunner()
        missing = runner.invoke(app, ["mllp", "--token-file", str(tmp_path / "none")])
        refused = runner.invoke(app, ["mllp", "--token-file", str(token_file), "--port", "0"])
    finally:
        get_settings.cache_clear()
    assert missing.exit_code == 2
    assert (refused.exit_code, "refused" in refused.output) == (2, True)
