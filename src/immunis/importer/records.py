"""What the importer reads: a file's lines, grouped into records by a format's handler."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from immunis.access.policy import Actor


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # from 1
    text: str  # without its line break
    end_offset: int  # bytes from the start of the file to the end of this line


@dataclass(frozen=True, slots=True)
class Record:
    """One unit of import (a FHIR resource or Bundle, an HL7 message): imported, or rejected,
    whole."""

    first_line: int
    last_line: int
    end_offset: int
    text: str


class Rejected(ValueError):
    """A record the importer will not take; the message says why, for the rejects file. What
    the record wrote is undone."""


@dataclass(frozen=True, slots=True)
class Refused:
    """A record a face refused and keeps its own account of (an HL7 message answered AE: the
    answer logged, a refusal audited). Rejected all the same, but what the face wrote stays."""

    reason: str


class RecordHandler(Protocol):
    """A file format: how its lines make records, and how a record reaches the registry."""

    def records(self, lines: Iterable[Line]) -> Iterator[Record]:
        """The file's records in order; malformed ones too (`handle` rejects them)."""
        ...

    def replay(self, record: Record) -> None:
        """A record an earlier run committed: learn what later records may refer to, write
        nothing."""
        ...

    def handle(self, session: Session, actor: Actor, record: Record) -> bool | Refused:
        """Import the record in the caller's transaction; True when it changed the registry,
        False when all of it was there already. Raises Rejected, a DomainError or a
        ValueError for a record that cannot be imported."""
        ...


def read_lines(path: Path) -> Iterator[Line]:
    """The file's lines, split at LF, CR or CRLF (HL7 v2 ends segments with CR alone)."""
    offset = 0
    # newline="" splits at all three line ends and keeps them; surrogateescape keeps bytes that
    # are not UTF-8 (an HL7 file in ISO 8859-1), so `bytes_of` gives the file's bytes back.
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as stream:
        for number, raw in enumerate(stream, start=1):
            offset += len(bytes_of(raw))
            yield Line(number, raw.rstrip("\r\n"), offset)


def bytes_of(text: str) -> bytes:
    """A line's (or record's) text as the bytes it was read from."""
    return text.encode("utf-8", "surrogateescape")
