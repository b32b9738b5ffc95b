"""Servers on 127.0.0.1 that stand in for an SMS gateway, a Zalo-style webhook receiver and an
SMTP server: they record what they were sent and answer as the test tells them."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeHttp:
    """What the fake answers (status and JSON body) and what it received."""

    status: int = 200
    body: bytes = b'{"id": "gw-1"}'
    received: list[Received] = field(default_factory=list)
    url: str = ""


@contextmanager
def fake_http(status: int = 200, body: bytes = b'{"id": "gw-1"}') -> Iterator[FakeHttp]:
    fake = FakeHttp(status, body)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            fake.received.append(
                Received(self.path, dict(self.headers.items()), self.rfile.read(length))
            )
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(fake.body)))
            self.end_headers()
            self.wfile.write(fake.body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/messages"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class FakeSmtp:
    """The replies to RCPT and to the end of DATA, and the messages taken."""

    rcpt_reply: bytes = b"250 OK"
    data_reply: bytes = b"250 OK queued"
    messages: list[bytes] = field(default_factory=list)
    recipients: list[bytes] = field(default_factory=list)  # as RCPT TO named them
    port: int = 0


@contextmanager
def fake_smtp(
    rcpt_reply: bytes = b"250 OK", data_reply: bytes = b"250 OK queued"
) -> Iterator[FakeSmtp]:
    fake = FakeSmtp(rcpt_reply, data_reply)

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: bytes) -> None:
            self.wfile.write(line + b"\r\n")

        def handle(self) -> None:
            self.reply(b"220 fake ESMTP")
            data: list[bytes] | None = None
            while line := self.rfile.readline():
                if data is not None:
                    if line == b".\r\n":
                        fake.messages.append(b"".join(data))
                        data = None
                        self.reply(fake.data_reply)
                    else:
                        data.append(line[1:] if line.startswith(b"..") else line)
                    continue
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    self.reply(b"250 fake")
                elif verb == b"RCPT":
                    fake.recipients.append(line.split(b":", 1)[1].strip())
                    self.reply(fake.rcpt_reply)
                elif verb == b"DATA":
                    data = []
                    self.reply(b"354 end with <CRLF>.<CRLF>")
                elif verb == b"QUIT":
                    self.reply(b"221 bye")
                    return
                else:
                    self.reply(b"250 OK")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
