"""Answers to queries: RSP^K11^RSP_K11 in the CDC response profiles Z31 (a list of candidate
persons), Z32 (one person's immunization history), Z33 (no person: none found, too many, or an
error) and Z42 (evaluated history and forecast, whose OBX groups `forecast_segments` writes).

Each answer is MSH, MSA, ERR..., QAK (query tag, status), the query's QPD as it was sent, then
the body.
"""

from __future__ import annotations

from datetime import datetime

from immunis.interop.hl7v2.ack import RECEIVER, Reply, reply
from immunis.interop.hl7v2.datatypes import (
    HL7_SEX,
    VIETNAM,
    hl7_date,
    patient_identifiers,
)
from immunis.interop.hl7v2.encoding import Segment, components, segment
from immunis.interop.hl7v2.problems import Problem
from immunis.interop.hl7v2.vxu import CVX, LOCAL_VACCINES
from immunis.registry.schemas import ImmunizationOut, PersonOut
from immunis.schedule.catalog import SCHEDULE_IDS, load_schedule

CANDIDATES = "Z31"
HISTORY = "Z32"
NO_PERSON = "Z33"
EVALUATED_HISTORY = "Z42"
RESPONSE_TYPE = "RSP^K11^RSP_K11"
# RXA-9 codes (CDC table NIP001) for the registry's two sources.
SOURCES = {
    "administered": ("00", "New immunization record"),
    "historical": ("01", "Historical information - source unspecified"),
}


def query_response(
    request: Segment | None,
    qpd: Segment | None,
    *,
    profile: str,
    code: str,
    status: str,
    problems: list[Problem] | tuple[Problem, ...],
    body: list[str],
    request_charset: str,
    control_id: str,
    now: datetime,
) -> Reply:
    """RSP^K11 with QAK-2 `status` (OK, NF, TM, AE, AR) and the query echoed."""
    qak = segment("QAK", qpd.raw(2) if qpd else "", status, qpd.raw(1) if qpd else "")
    echo = [segment("QPD", *qpd.fields[1:])] if qpd else []
    return reply(
        request,
        message_type=RESPONSE_TYPE,
        profile=profile,
        code=code,
        problems=problems,
        body=[qak, *echo, *body],
        request_charset=request_charset,
        control_id=control_id,
        now=now,
    )


def vaccine_coding(cvx: str, fallback_text: str | None = None) -> str:
    """A CE for a vaccine: CVX, or immunis's local code system for the schedules' own codes."""
    known = (load_schedule(s).vaccine(cvx) for s in SCHEDULE_IDS)
    vaccine = next((v for v in known if v is not None), None)
    text = vaccine.short_description if vaccine else fallback_text or ""
    if not cvx.isdigit():
        return components(cvx, text, LOCAL_VACCINES)
    # CVX codes are written with at least two digits ("03"); the schedules keep them as numbers.
    return components(cvx.zfill(2), text, CVX)


def patient_segment(set_id: int, person: PersonOut) -> str:
    """PID for a registry person: identifiers, legal name, birth date, sex, address, phone."""
    address = ""
    if person.address:
        place = person.address
        address = components(
            place.line or "",
            "",
            "",
            place.province_code or "",
            "",
            VIETNAM,
            "H",
            "",
            place.district_code or "",
            place.commune_code or "",
        )
    phone = components("", "PRN", "PH", *[""] * 8, person.phone) if person.phone else ""
    return segment(
        "PID",
        str(set_id),
        "",
        patient_identifiers(person),
        "",
        components(person.family_name, person.given_name, "", "", "", "", "L"),
        "",
        hl7_date(person.birth_date),
        HL7_SEX[person.sex],
        "",
        "",
        address,
        "",
        phone,
    )


def dose_segments(dose: ImmunizationOut) -> list[str]:
    """ORC and RXA for a recorded dose; ORC-3 is the registry's id for it."""
    amount = f"{dose.dose_volume_ml:g}" if dose.dose_volume_ml else "999"
    return [
        segment("ORC", "RE", "", components(dose.id, RECEIVER)),
        segment(
            "RXA",
            "0",
            "1",
            hl7_date(dose.date_administered),
            hl7_date(dose.date_administered),
            vaccine_coding(dose.cvx, dose.product_name),
            amount,
            components("mL", "milliliter", "UCUM") if dose.dose_volume_ml else "",
            "",
            components(*SOURCES[dose.source], "NIP001"),
            "",
            "",
            "",
            "",
            "",
            components(dose.lot_number or ""),
            hl7_date(dose.expiration_date),
            components(dose.mvx, "", "MVX") if dose.mvx else "",
            "",
            "",
            "CP",
            "A",
        ),
    ]
