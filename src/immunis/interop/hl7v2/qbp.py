"""QBP^Q11 (query by parameter) as the CDC guide profiles it: Z34 asks for a person's immunization
history, Z44 for their evaluated history and forecast. Pure: the query's parameters, read.

QPD-3 patient identifiers, QPD-4 name, QPD-6 date of birth and QPD-7 sex are used to find the
person; QPD-5 (mother's maiden name) and QPD-8 onwards are accepted and not used, as the
registry does not keep them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from immunis.interop.hl7v2.datatypes import SEXES, PatientId, read_date, read_name, read_patient_ids
from immunis.interop.hl7v2.encoding import Message, Segment
from immunis.interop.hl7v2.header import Header
from immunis.interop.hl7v2.problems import (
    ApplicationError,
    ErrorCode,
    Location,
    Problem,
    Rejected,
    error,
    warning,
)
from immunis.registry.schemas import Sex

HISTORY = "Z34"
EVALUATED_HISTORY_AND_FORECAST = "Z44"
PROFILES = {
    HISTORY: "Request Immunization History",
    EVALUATED_HISTORY_AND_FORECAST: "Request Evaluated History and Forecast",
}
DEFAULT_LIMIT = 10  # candidates returned when RCP-2 does not say


@dataclass(frozen=True, slots=True)
class ImmunizationQuery:
    header: Header
    profile: str
    tag: str  # QPD-2, echoed in QAK-1
    patient_ids: tuple[PatientId, ...]
    family_name: str
    given_name: str
    birth_date: date | None
    sex: Sex | None
    limit: int  # RCP-2: how many candidates the sender will take
    problems: tuple[Problem, ...]


def _limit(rcp: Segment | None, problems: list[Problem]) -> int:
    text = rcp.value(2)[1] if rcp else ""
    if not text:
        return DEFAULT_LIMIT
    if text.isdigit() and int(text) > 0:
        return int(text)
    problems.append(
        warning(
            rcp.at(2) if rcp else None,
            ErrorCode.DATA_TYPE,
            f"RCP-2 quantity {text!r} is not a positive number; {DEFAULT_LIMIT} is used",
            ApplicationError.INVALID_VALUE,
        )
    )
    return DEFAULT_LIMIT


def parse_qbp(message: Message, header: Header) -> ImmunizationQuery:
    """Read a QBP^Q11. Rejected (AR) without a QPD or for a profile other than Z34 and Z44;
    other problems are in `problems` (errors make the answer AE)."""
    qpd = message.first("QPD")
    if qpd is None:
        raise Rejected(
            error(
                Location("QPD"),
                ErrorCode.SEGMENT_SEQUENCE,
                "the query has no QPD segment: there is nothing to answer",
            ),
            message.msh,
        )
    profile = qpd.value(1)[1].upper()
    if profile not in PROFILES:
        offered = ", ".join(f"{code} ({name})" for code, name in PROFILES.items())
        raise Rejected(
            error(
                qpd.at(1),
                ErrorCode.TABLE_VALUE_NOT_FOUND,
                f"query profile {profile or '(none)'!r} is not supported; ask for {offered}",
                ApplicationError.TABLE_VALUE_NOT_FOUND,
            ),
            message.msh,
        )
    problems: list[Problem] = []
    tag = qpd.text(2)
    if not tag:
        problems.append(
            error(
                qpd.at(2),
                ErrorCode.REQUIRED_FIELD_MISSING,
                "QPD-2 query tag is empty",
                ApplicationError.REQUIRED_DATA_MISSING,
            )
        )
    patient_ids, id_problems = read_patient_ids(qpd, 3, header.facility)
    problems += id_problems
    family, given = read_name(qpd, 4)
    birth_date = None
    if qpd.text(6):
        try:
            birth_date = read_date(qpd.text(6))
        except ValueError as invalid:
            problems.append(
                error(
                    qpd.at(6),
                    ErrorCode.DATA_TYPE,
                    f"QPD-6 date of birth: {invalid}",
                    ApplicationError.INVALID_DATE,
                )
            )
    if not patient_ids and not id_problems and not (family and birth_date):
        problems.append(
            error(
                qpd.at(3),
                ErrorCode.REQUIRED_FIELD_MISSING,
                "the query needs patient identifiers (QPD-3), or a name (QPD-4) and a date of "
                "birth (QPD-6)",
                ApplicationError.REQUIRED_DATA_MISSING,
            )
        )
    return ImmunizationQuery(
        header=header,
        profile=profile,
        tag=tag,
        patient_ids=tuple(patient_ids),
        family_name=family,
        given_name=given,
        birth_date=birth_date,
        sex=SEXES.get(qpd.text(7).upper()),
        limit=_limit(message.first("RCP"), problems),
        problems=tuple(problems),
    )
