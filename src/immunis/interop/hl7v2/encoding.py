"""HL7 v2 encoding rules (v2.5.1 chapter 2): segments, delimiters, escape sequences and
character sets, in both directions.

The CDC immunization guide fixes the delimiters to ``|^~\\&``; a message that declares others is
rejected rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from immunis.interop.hl7v2.problems import ErrorCode, Location, Rejected, error

FIELD = "|"
COMPONENT = "^"
REPETITION = "~"
ESCAPE = "\\"
SUBCOMPONENT = "&"
ENCODING_CHARACTERS = COMPONENT + REPETITION + ESCAPE + SUBCOMPONENT

# MSH-18 values (HL7 table 0211) this receiver reads, and the Python codec for each.
CHARSETS = {"": "ascii", "ASCII": "ascii", "UNICODE UTF-8": "utf-8", "8859/1": "latin-1"}
UTF8 = "UNICODE UTF-8"

_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ESCAPED = re.compile(r"\\([^\\]*)\\")
_DELIMITER_ESCAPES = {"F": FIELD, "S": COMPONENT, "T": SUBCOMPONENT, "R": REPETITION, "E": ESCAPE}
_BOM = b"\xef\xbb\xbf"


def _unescape_one(match: re.Match[str]) -> str:
    sequence = match.group(1)
    if sequence in _DELIMITER_ESCAPES:
        return _DELIMITER_ESCAPES[sequence]
    if sequence.startswith("X") and re.fullmatch(r"X(?:[0-9A-Fa-f]{2})+", sequence):
        return bytes.fromhex(sequence[1:]).decode("utf-8", errors="replace")
    if sequence == ".br":
        return "\n"
    # Highlighting (\H\, \N\) and other formatting commands carry no data.
    return ""


def unescape(text: str) -> str:
    """Wire text to plain text: ``\\F\\`` is ``|``, ``\\S\\`` is ``^``, ``\\X0D\\`` a byte."""
    return _ESCAPED.sub(_unescape_one, text) if ESCAPE in text else text


def escape(text: str) -> str:
    """Plain text to wire text; the escape character goes first so it is not escaped twice."""
    text = text.replace(ESCAPE, "\\E\\")
    for name, delimiter in (("F", FIELD), ("S", COMPONENT), ("T", SUBCOMPONENT)):
        text = text.replace(delimiter, f"\\{name}\\")
    text = text.replace(REPETITION, "\\R\\")
    return text.replace("\r", "\\X0D\\").replace("\n", "\\X0A\\")


@dataclass(frozen=True, slots=True)
class Value:
    """One repetition of a field, split into components and subcomponents and unescaped."""

    parts: tuple[tuple[str, ...], ...]

    def __getitem__(self, component: int) -> str:
        """Component `component` (1-based): its first subcomponent, trimmed; "" when absent."""
        return self.sub(component, 1)

    def sub(self, component: int, subcomponent: int) -> str:
        if component > len(self.parts):
            return ""
        pieces = self.parts[component - 1]
        return pieces[subcomponent - 1].strip() if subcomponent <= len(pieces) else ""

    def __bool__(self) -> bool:
        return any(piece.strip() for component in self.parts for piece in component)


def _value(raw: str) -> Value:
    return Value(
        tuple(
            tuple(unescape(piece) for piece in component.split(SUBCOMPONENT))
            for component in raw.split(COMPONENT)
        )
    )


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment. `fields[n]` is field n as sent (still escaped) and `fields[0]` the segment
    id; for MSH, `fields[1]` is the field separator itself, as HL7 numbers MSH's fields."""

    fields: tuple[str, ...]
    sequence: int = 1  # 1 for the first segment with this id in the message, 2 for the next

    @property
    def id(self) -> str:
        return self.fields[0]

    def raw(self, field: int) -> str:
        """Field `field` exactly as sent."""
        return self.fields[field] if field < len(self.fields) else ""

    def values(self, field: int) -> list[Value]:
        """Every repetition of field `field`, empty ones left out."""
        raw = self.raw(field)
        found = (_value(r) for r in raw.split(REPETITION)) if raw else ()
        return [v for v in found if v]

    def value(self, field: int) -> Value:
        """The first repetition of field `field` (empty when the field is)."""
        found = self.values(field)
        return found[0] if found else Value(())

    def text(self, field: int) -> str:
        """The first component of field `field`, as plain text."""
        return self.value(field)[1]

    def at(
        self, field: int | None = None, repetition: int | None = None, component: int | None = None
    ) -> Location:
        """Where a field of this segment is, for an ERR segment."""
        return Location(self.id, self.sequence, field, repetition, component)


@dataclass(frozen=True, slots=True)
class Message:
    segments: tuple[Segment, ...]
    charset: str  # MSH-18 as sent; "" means ASCII

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    def all(self, segment_id: str) -> list[Segment]:
        return [s for s in self.segments if s.id == segment_id]

    def first(self, segment_id: str) -> Segment | None:
        return next((s for s in self.segments if s.id == segment_id), None)


def _msh(line: str) -> Segment:
    return Segment(("MSH", FIELD, *line[4:].split(FIELD)))


def _where_undecodable(data: bytes, offset: int) -> Location:
    """The segment and field holding the byte at `offset`, for the error report."""
    before = _LINE_BREAK.split(data[:offset].decode("latin-1"))
    line = before[-1]
    segment_id = line[:3]
    sequence = sum(1 for earlier in before[:-1] if earlier[:3] == segment_id) + 1
    field = line.count(FIELD) + (1 if segment_id == "MSH" else 0)
    return Location(segment_id, sequence, field)


def decode(data: bytes) -> Message:
    """Bytes as received to segments. Rejected when it does not start with an MSH using the
    standard delimiters, declares a character set we do not read, holds bytes that are not in
    its declared character set (ASCII when MSH-18 is empty), or has a line that is no segment."""
    data = data.removeprefix(_BOM).lstrip(b"\r\n\t ")
    if not data.startswith(b"MSH"):
        raise Rejected(
            error(
                Location("MSH"),
                ErrorCode.SEGMENT_SEQUENCE,
                "the message does not start with an MSH segment",
            )
        )
    first_line = _LINE_BREAK.split(data.decode("latin-1"), maxsplit=1)[0]
    if first_line[3:4] != FIELD:
        raise Rejected(
            error(
                Location("MSH", 1, 1),
                ErrorCode.DATA_TYPE,
                f"MSH-1 field separator must be '{FIELD}', not {first_line[3:4]!r}",
            )
        )
    msh = _msh(first_line)
    if msh.raw(2) != ENCODING_CHARACTERS:
        raise Rejected(
            error(
                msh.at(2),
                ErrorCode.DATA_TYPE,
                f"MSH-2 encoding characters must be {ENCODING_CHARACTERS!r}, not {msh.raw(2)!r}",
            ),
            msh,
        )
    charset = msh.text(18).upper()
    if charset not in CHARSETS:
        raise Rejected(
            error(
                msh.at(18),
                ErrorCode.TABLE_VALUE_NOT_FOUND,
                f"MSH-18 character set {charset!r} is not supported; "
                f"use {UTF8!r} or leave it empty for ASCII",
            ),
            msh,
        )
    try:
        text = data.decode(CHARSETS[charset])
    except UnicodeDecodeError as problem:
        where = _where_undecodable(data, problem.start)
        declared = f"declared {charset}" if charset else "ASCII, as MSH-18 is empty"
        raise Rejected(
            error(
                where,
                ErrorCode.DATA_TYPE,
                f"byte 0x{data[problem.start]:02X} in {where} is not valid {declared}"
                + ("" if charset else f"; declare MSH-18 {UTF8!r} for Vietnamese text"),
            ),
            msh,
        ) from None
    segments: list[Segment] = []
    counts: dict[str, int] = {}
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        if not line.strip():
            continue
        segment_id = line[:3]
        if not _SEGMENT_ID.fullmatch(segment_id) or line[3:4] not in ("", FIELD):
            raise Rejected(
                error(
                    None,
                    ErrorCode.SEGMENT_SEQUENCE,
                    f"line {number} is not an HL7 segment: {line[:20]!r}",
                ),
                msh,
            )
        counts[segment_id] = counts.get(segment_id, 0) + 1
        fields = _msh(line).fields if segment_id == "MSH" else tuple(line.split(FIELD))
        segments.append(Segment(fields, counts[segment_id]))
    if counts["MSH"] > 1:
        raise Rejected(
            error(
                Location("MSH", 2),
                ErrorCode.SEGMENT_SEQUENCE,
                "one message at a time: a second MSH segment was found (batches are not accepted)",
            ),
            msh,
        )
    return Message(tuple(segments), charset)


def components(*values: str) -> str:
    """A field made of plain-text components: each escaped, trailing empty ones dropped."""
    parts = [escape(v) for v in values]
    while parts and not parts[-1]:
        parts.pop()
    return COMPONENT.join(parts)


def segment(segment_id: str, *fields: str) -> str:
    """A segment from fields already in wire form, trailing empty fields dropped."""
    parts = list(fields)
    while parts and not parts[-1]:
        parts.pop()
    return FIELD.join((segment_id, *parts))


def encode(segments: list[str], charset: str) -> bytes:
    """A message's segments to bytes in the character set MSH-18 names."""
    return ("\r".join(segments) + "\r").encode(CHARSETS[charset])
