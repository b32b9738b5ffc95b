"""The embedded default adapter: each message as one JSON line appended to a file (or printed,
for the path "-"), for a site with no gateway yet, for demos and for tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from immunis.outreach.delivery import DeliveryResult, OutgoingMessage


class FileAdapter:
    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        line = json.dumps(
            {
                "at": datetime.now(UTC).isoformat(),
                "message_id": message.id,
                "channel": message.channel,
                "address": message.address,
                "language": message.language,
                "template": message.template,
                "subject": message.subject,
                "body": message.body,
            },
            ensure_ascii=False,
        )
        if str(self.path) == "-":
            print(line, flush=True)
            return DeliveryResult(True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write of one line in append mode: lines of two senders never interleave.
            with self.path.open("a", encoding="utf-8") as log:
                log.write(line + "\n")
        except OSError as error:
            return DeliveryResult(False, error=f"{type(error).__name__}: {error}")
        return DeliveryResult(True)
