"""What goes wrong in a message, as HL7 v2.5.1 reports it in ERR segments.

ERR-3 takes a code from HL7 table 0357 (message error condition codes); ERR-5 adds the
application error code the CDC immunization guide suggests (user-defined table 0533).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from immunis.interop.hl7v2.encoding import Segment


class Severity(StrEnum):
    """HL7 table 0516."""

    ERROR = "E"
    WARNING = "W"
    INFORMATION = "I"


class ErrorCode(Enum):
    """HL7 table 0357 as of v2.5.1: (code, text)."""

    ACCEPTED = ("0", "Message accepted")
    SEGMENT_SEQUENCE = ("100", "Segment sequence error")
    REQUIRED_FIELD_MISSING = ("101", "Required field missing")
    DATA_TYPE = ("102", "Data type error")
    TABLE_VALUE_NOT_FOUND = ("103", "Table value not found")
    UNSUPPORTED_MESSAGE_TYPE = ("200", "Unsupported message type")
    UNSUPPORTED_EVENT = ("201", "Unsupported event code")
    UNSUPPORTED_PROCESSING_ID = ("202", "Unsupported processing id")
    UNSUPPORTED_VERSION = ("203", "Unsupported version id")
    UNKNOWN_KEY = ("204", "Unknown key identifier")
    DUPLICATE_KEY = ("205", "Duplicate key identifier")
    RECORD_LOCKED = ("206", "Application record locked")
    INTERNAL = ("207", "Application internal error")


class ApplicationError(Enum):
    """Table 0533 as the CDC immunization guide fills it: (code, text)."""

    ILLOGICAL_DATE = ("1", "Illogical Date error")
    INVALID_DATE = ("2", "Invalid Date")
    ILLOGICAL_VALUE = ("3", "Illogical Value error")
    INVALID_VALUE = ("4", "Invalid value")
    TABLE_VALUE_NOT_FOUND = ("5", "Table value not found")
    REQUIRED_OBSERVATION_MISSING = ("6", "Required observation missing")
    REQUIRED_DATA_MISSING = ("7", "Required data missing")
    DATA_IGNORED = ("8", "Data was ignored")


@dataclass(frozen=True, slots=True)
class Location:
    """ERR-2: segment id, its sequence among segments of that id, field, repetition, component."""

    segment: str
    sequence: int = 1
    field: int | None = None
    repetition: int | None = None
    component: int | None = None

    def parts(self) -> tuple[str, ...]:
        """The ERL components, without trailing empty ones."""
        values = (self.segment, self.sequence, self.field, self.repetition, self.component)
        parts = ["" if v is None else str(v) for v in values]
        while parts and not parts[-1]:
            parts.pop()
        return tuple(parts)

    def __str__(self) -> str:
        text = f"{self.segment}-{self.field}" if self.field else self.segment
        if self.sequence > 1:
            text = f"{text} (#{self.sequence})"
        return text


@dataclass(frozen=True, slots=True)
class Problem:
    """One ERR segment: where, which condition, how bad, and what a person should read."""

    location: Location | None
    code: ErrorCode
    text: str
    severity: Severity = Severity.ERROR
    detail: ApplicationError | None = None


def error(
    location: Location | None,
    code: ErrorCode,
    text: str,
    detail: ApplicationError | None = None,
) -> Problem:
    return Problem(location, code, text, Severity.ERROR, detail)


def warning(
    location: Location | None,
    code: ErrorCode,
    text: str,
    detail: ApplicationError | None = None,
) -> Problem:
    return Problem(location, code, text, Severity.WARNING, detail)


def has_errors(problems: tuple[Problem, ...] | list[Problem]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)


class Rejected(Exception):
    """The message cannot be taken at all (AR): it is not HL7 we can read, or not a message we
    accept. Carries the MSH segment when it could be read, so the answer can still be addressed."""

    def __init__(self, problem: Problem, msh: Segment | None = None) -> None:
        super().__init__(problem.text)
        self.problem = problem
        self.msh = msh
