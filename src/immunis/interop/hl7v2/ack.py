"""Answers to messages: the MSH every answer starts with, MSA and ERR, and the general
acknowledgment ACK^V04^ACK (CDC profile Z23).

MSA-1 is AR when the message was rejected unread, AE when it has an error (then nothing of it
was recorded), AA otherwise; warnings and notes ride along with an AA as ERR segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from immunis.interop.hl7v2.encoding import (
    CHARSETS,
    ENCODING_CHARACTERS,
    UTF8,
    Segment,
    components,
    encode,
    segment,
)
from immunis.interop.hl7v2.header import PROCESSING_IDS, VERSION
from immunis.interop.hl7v2.problems import Problem, has_errors

RECEIVER = "IMMUNIS"
PROFILE_AUTHORITY = "CDCPHINVS"
ACKNOWLEDGMENT_PROFILE = "Z23"


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer ready to go: its segments, the character set they travel in, and MSA-1."""

    segments: tuple[str, ...]
    charset: str
    code: str

    def encode(self) -> bytes:
        return encode(list(self.segments), self.charset)


def answer_code(problems: list[Problem] | tuple[Problem, ...], *, rejected: bool = False) -> str:
    if rejected:
        return "AR"
    return "AE" if has_errors(problems) else "AA"


def error_segment(problem: Problem) -> str:
    """ERR: location (ERR-2), HL7 error code (ERR-3), severity (ERR-4), application error code
    (ERR-5) and the message for a person (ERR-8)."""
    location = "^".join(problem.location.parts()) if problem.location else ""
    code, text = problem.code.value
    detail = components(*problem.detail.value, "HL70533") if problem.detail else ""
    return segment(
        "ERR",
        "",
        location,
        components(code, text, "HL70357"),
        problem.severity.value,
        detail,
        "",
        "",
        components(problem.text),
    )


def _fits(segments: list[str], charset: str) -> bool:
    try:
        "\r".join(segments).encode(CHARSETS[charset])
    except UnicodeEncodeError:
        return False
    return True


def reply(
    request: Segment | None,
    *,
    message_type: str,
    profile: str,
    code: str,
    problems: list[Problem] | tuple[Problem, ...],
    body: list[str],
    request_charset: str,
    control_id: str,
    now: datetime,
) -> Reply:
    """An answer to the message whose MSH is `request`: addressed back to its sender, in its
    character set unless what we say needs Unicode (then UTF-8, declared in MSH-18)."""
    segments = [
        segment("MSA", code, components(request.text(10) if request else "")),
        *(error_segment(p) for p in problems),
        *body,
    ]
    charset = request_charset if request_charset in CHARSETS else ""
    if not _fits(segments, charset):
        charset = UTF8
    processing_id = request.text(11).upper() if request else ""
    header = segment(
        "MSH",
        ENCODING_CHARACTERS,
        (request.raw(5) if request else "") or RECEIVER,
        request.raw(6) if request else "",
        request.raw(3) if request else "",
        request.raw(4) if request else "",
        now.strftime("%Y%m%d%H%M%S%z"),
        "",
        message_type,
        components(control_id),
        processing_id if processing_id in PROCESSING_IDS else "P",
        VERSION,
        "",
        "",
        "NE",
        "NE",
        "",
        components(charset),
        "",
        "",
        components(profile, PROFILE_AUTHORITY),
    )
    return Reply((header, *segments), charset, code)


def acknowledgment(
    request: Segment | None,
    problems: list[Problem] | tuple[Problem, ...],
    *,
    rejected: bool = False,
    request_charset: str,
    control_id: str,
    now: datetime,
) -> Reply:
    """ACK^<event>^ACK for a message, with an ERR per problem."""
    event = request.value(9)[2].upper() if request else ""
    return reply(
        request,
        message_type=components("ACK", event, "ACK") if event else "ACK",
        profile=ACKNOWLEDGMENT_PROFILE,
        code=answer_code(problems, rejected=rejected),
        problems=problems,
        body=[],
        request_charset=request_charset,
        control_id=control_id,
        now=now,
    )
