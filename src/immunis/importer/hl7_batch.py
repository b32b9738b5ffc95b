"""HL7 v2 batch files: FHS/BHS, the messages, BTS/FTS; or bare messages one after another,
separated by blank lines or simply each beginning at its MSH segment.

Each VXU goes through the HL7 v2 face's own processing (`handle_message`, the one behind
/hl7/v2), so a file and a live feed are checked, recorded, logged and audited alike: a message
imported twice (same sender, control id and content) changes nothing the second time, and one
answered AE is rejected with the answer's errors as the reason, its answer kept in the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from immunis.access.policy import Actor
from immunis.importer.records import Line, Record, Refused, Rejected, bytes_of
from immunis.interop.hl7v2 import problems
from immunis.interop.hl7v2.ack import Reply
from immunis.interop.hl7v2.encoding import FIELD, decode, unescape
from immunis.interop.hl7v2.header import read_header
from immunis.interop.hl7v2.models import Hl7MessageLog
from immunis.interop.hl7v2.service import handle_message
from immunis.settings import get_settings

# The batch envelope: file and batch header and trailer segments, around the messages.
ENVELOPE = ("FHS", "BHS", "BTS", "FTS")


def _message(segments: list[Line]) -> Record:
    return Record(
        first_line=segments[0].number,
        last_line=segments[-1].number,
        end_offset=segments[-1].end_offset,
        text="\r".join(segment.text for segment in segments),
    )


def _errors(reply: Reply) -> str:
    """What an AE or AR answer says is wrong: the text (ERR-8) of each error it lists."""
    errors = [
        unescape(fields[8])
        for fields in (segment.split(FIELD) for segment in reply.segments)
        if fields[0] == "ERR" and len(fields) > 8 and fields[4] == "E"
    ]
    return f"{reply.code}: " + ("; ".join(errors) or "refused")


class Hl7Batch:
    """The HL7 v2 batch format for the importer (a RecordHandler)."""

    def records(self, lines: Iterable[Line]) -> Iterator[Record]:
        segments: list[Line] = []
        for line in lines:
            text = line.text.strip()
            if not text or text.startswith(("MSH", *ENVELOPE)):
                if segments:
                    yield _message(segments)
                segments = [line] if text.startswith("MSH") else []
            else:
                # A segment before any MSH still makes a record, which `handle` rejects.
                segments.append(line)
        if segments:
            yield _message(segments)

    def replay(self, record: Record) -> None:
        """Messages do not refer to one another: nothing to learn."""

    def handle(self, session: Session, actor: Actor, record: Record) -> bool | Refused:
        data = bytes_of(record.text)
        try:
            header = read_header(decode(data))
        except problems.Rejected as rejected:
            raise Rejected(rejected.problem.text) from rejected
        if header.message_type != "VXU":
            raise Rejected(f"{header.message_type} messages are not imported, only VXU^V04")
        seen = session.scalar(
            select(Hl7MessageLog.id).where(
                Hl7MessageLog.sender == header.sender,
                Hl7MessageLog.control_id == header.control_id,
            )
        )
        # The face opens transactions of its own: on the batch's connection they are savepoints.
        in_batch = sessionmaker(
            bind=session.connection(),
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )
        reply = handle_message(data, actor, in_batch, schedule_id=get_settings().default_schedule)
        if reply.code != "AA":
            return Refused(_errors(reply))
        return seen is None
