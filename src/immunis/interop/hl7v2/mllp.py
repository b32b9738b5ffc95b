"""HL7 v2 over MLLP (the minimal lower layer protocol, HL7 v2 appendix C): a TCP server where
each message comes framed as <VT> message <FS><CR> and gets one framed answer, in order, on its
connection. Connections are served concurrently; messages are processed in worker threads, so
the event loop only moves bytes.

Messages are attributed to the integration user whose bearer token the server is started with;
the token is checked again for every message, so revoking it stops the feed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\r"
# A message larger than this is no immunization message; the connection is dropped.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024

Handler = Callable[[bytes], bytes]
logger = logging.getLogger(__name__)


def frame(message: bytes) -> bytes:
    return START_BLOCK + message + END_BLOCK


async def _connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    handler: Handler,
    executor: ThreadPoolExecutor,
) -> None:
    loop = asyncio.get_running_loop()
    buffer = bytearray()
    try:
        while chunk := await reader.read(65536):
            buffer += chunk
            while (start := buffer.find(START_BLOCK)) >= 0:
                end = buffer.find(END_BLOCK, start + 1)
                if end < 0:
                    del buffer[:start]
                    break
                message = bytes(buffer[start + 1 : end])
                del buffer[: end + len(END_BLOCK)]
                answer = await loop.run_in_executor(executor, handler, message)
                writer.write(frame(answer))
                await writer.drain()
            else:
                # Bytes outside any frame are line noise.
                buffer.clear()
            if len(buffer) > MAX_MESSAGE_BYTES:
                logger.warning("MLLP message over %d bytes: connection closed", MAX_MESSAGE_BYTES)
                break
    except ConnectionError:
        pass
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()


async def serve(
    handler: Handler,
    host: str,
    port: int,
    *,
    workers: int = 4,
    started: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve MLLP on host:port (port 0: any free port) until `stop` is set, or forever;
    `started` is told the port once connections are accepted."""
    with ThreadPoolExecutor(workers, thread_name_prefix="mllp") as executor:
        server = await asyncio.start_server(
            partial(_connection, handler=handler, executor=executor), host, port
        )
        async with server:
            if started is not None:
                started(server.sockets[0].getsockname()[1])
            if stop is None:
                await server.serve_forever()
            else:
                await stop.wait()


def mllp_command(
    token_file: Annotated[
        Path, typer.Option("--token-file", help="File holding the integration user's token.")
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (2575 is HL7's).")] = 2575,
    workers: Annotated[int, typer.Option(min=1, help="Messages processed at once.")] = 4,
) -> None:
    """Receive HL7 v2 (VXU, QBP) over MLLP as the integration user whose token is in the file."""
    from immunis.access.service import authenticate
    from immunis.db import make_engine, make_sessionmaker, transaction
    from immunis.errors import Unauthenticated
    from immunis.interop.hl7v2.service import answer_as
    from immunis.settings import get_settings

    settings = get_settings()
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except OSError as problem:
        typer.echo(f"error: cannot read {token_file}: {problem.strerror}", err=True)
        raise typer.Exit(2) from problem
    sessions = make_sessionmaker(make_engine(settings.database_url))
    try:
        with transaction(sessions) as session:
            actor = authenticate(session, token, "hl7")
    except Unauthenticated as refused:
        typer.echo(f"error: the token in {token_file} is refused: {refused}", err=True)
        raise typer.Exit(2) from refused
    handler = partial(answer_as, token, sessions, settings.default_schedule)
    typer.echo(f"MLLP on {host}:{port}, messages recorded as {actor.username}", err=True)
    with suppress(KeyboardInterrupt):
        asyncio.run(serve(handler, host, port, workers=workers))
