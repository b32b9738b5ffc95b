"""VXU^V04 (unsolicited vaccination record update, CDC profile Z22) to the registry's plain data:
the person (PID), their guardians (NK1) and the doses (ORC/RXA groups).

Pure: no database. Every problem found is reported, so one answer lists all that is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

from pydantic import ValidationError

from immunis.interop.hl7v2.datatypes import (
    SEXES,
    PatientId,
    read_address,
    read_date,
    read_name,
    read_patient_ids,
    read_phone,
)
from immunis.interop.hl7v2.encoding import Message, Segment
from immunis.interop.hl7v2.header import Header
from immunis.interop.hl7v2.problems import (
    ApplicationError,
    ErrorCode,
    Location,
    Problem,
    Rejected,
    Severity,
    error,
    has_errors,
    warning,
)
from immunis.registry.schemas import Identifier, ImmunizationIn, ImmunizationSource, PersonIn

CVX = "CVX"
MVX = "MVX"
# immunis's own vaccine codes for products CVX has no code for yet (the schedules' "VN-..." codes).
LOCAL_VACCINES = "99IMMUNIS"
NO_VACCINE_ADMINISTERED = "998"
# ORC-3 value the guide uses when the sender has no id for the record.
NO_FILLER_ORDER_NUMBER = "9999"
# RXA-9 (CDC table NIP001): 00 a dose given by the sender, 01-08 a historical record by source.
ADMINISTERED = "00"
HISTORICAL = frozenset({"01", "02", "03", "04", "05", "06", "07", "08"})
COMPLETION_STATUSES = ("CP", "RE", "NA", "PA")  # HL7 table 0322
ACTION_CODES = ("A", "D", "U")  # HL7 table 0323
# HL7 table 0063 relationships that make a next of kin the person's guardian.
GUARDIAN_RELATIONSHIPS = {"MTH": "mother", "FTH": "father", "PAR": "parent", "GRD": "guardian"}

# VXU_V04 in order. Before the first ORC: the patient part, each segment at most once unless
# it may repeat; from the first ORC on, order groups: ORC [TQ1 [TQ2]] RXA [RXR] [OBX [NTE]].
PATIENT_PART = ("MSH", "SFT", "PID", "PD1", "NK1", "PV1", "PV2", "GT1", "IN1", "IN2", "IN3")
REPEATING = frozenset({"SFT", "NK1", "GT1", "IN1", "IN2", "IN3"})
# Order-group segment -> the segments it may follow within its group.
ORDER_GROUP = {
    "TQ1": ("ORC", "TQ1", "TQ2"),
    "TQ2": ("TQ1", "TQ2"),
    "RXA": ("ORC", "TQ1", "TQ2"),
    "RXR": ("RXA",),
    "OBX": ("RXA", "RXR", "OBX", "NTE"),
    "NTE": ("OBX", "NTE"),
}

# Where each schema field comes from, to place a validation error on the right field.
PERSON_FIELDS = {
    "national_id": 3,
    "identifiers": 3,
    "family_name": 5,
    "given_name": 5,
    "birth_date": 7,
    "sex": 8,
    "address": 11,
    "phone": 13,
}
DOSE_FIELDS = {
    "date_administered": 3,
    "cvx": 5,
    "product_name": 5,
    "dose_volume_ml": 6,
    "performer": 10,
    "lot_number": 15,
    "expiration_date": 16,
    "mvx": 17,
}


@dataclass(frozen=True, slots=True)
class Guardian:
    """A next of kin (NK1) with a guardian's relationship to the person."""

    family_name: str
    given_name: str
    relationship: str
    national_id: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class ReportedDose:
    """One ORC/RXA group."""

    number: int  # the RXA's sequence in the message
    immunization: ImmunizationIn
    completion_status: str  # RXA-20; CP (complete) when empty
    action: str  # RXA-21; A (add) when empty
    site_code: str | None  # RXA-11's facility, else ORC-17

    @property
    def is_dose(self) -> bool:
        """Only a completed administration is a dose; refused, not given or partial ones are not."""
        return self.completion_status == "CP"


@dataclass(frozen=True, slots=True)
class VaccinationUpdate:
    """A VXU read: what it says, and everything wrong with it (errors make the answer AE)."""

    header: Header
    person: PersonIn | None
    patient_ids: tuple[PatientId, ...]
    guardians: tuple[Guardian, ...]
    doses: tuple[ReportedDose, ...]
    problems: tuple[Problem, ...]


def _schema_problems(
    error_: ValidationError, segment: Segment, fields: dict[str, int]
) -> list[Problem]:
    found = []
    for item in error_.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        field = fields.get(name)
        label = f"{segment.id}-{field}" if field else segment.id
        found.append(
            error(
                segment.at(field),
                ErrorCode.DATA_TYPE,
                f"{label}: {item['msg']}",
                ApplicationError.INVALID_VALUE,
            )
        )
    return found


def check_order(message: Message) -> list[Problem]:
    """Segments out of VXU_V04's order (errors) and segments it has no place for (ignored)."""
    problems: list[Problem] = []
    rank = 0
    group: str | None = None  # the last segment of the current order group
    orc: Segment | None = None
    for segment in message.segments[1:]:
        name = segment.id
        if name in PATIENT_PART and group is None:
            position = PATIENT_PART.index(name)
            if position < rank or (position == rank and name not in REPEATING):
                problems.append(
                    error(segment.at(), ErrorCode.SEGMENT_SEQUENCE, f"{name} is out of place")
                )
            rank = max(rank, position)
        elif name == "ORC":
            if orc is not None and group in ("ORC", "TQ1", "TQ2"):
                problems.append(_orc_without_rxa(orc))
            group, orc = "ORC", segment
        elif name in ORDER_GROUP and group is not None and group in ORDER_GROUP[name]:
            group = name
        elif name in ORDER_GROUP or name in PATIENT_PART:
            if name in PATIENT_PART:
                rule = "it belongs before the first ORC"
            elif name == "RXA":
                rule = "it must follow an ORC of its own"
            else:
                rule = f"it must follow {'/'.join(ORDER_GROUP[name])}"
            problems.append(
                error(
                    segment.at(),
                    ErrorCode.SEGMENT_SEQUENCE,
                    f"{name} #{segment.sequence} is out of place: {rule}",
                )
            )
        else:
            problems.append(
                warning(
                    segment.at(),
                    ErrorCode.ACCEPTED,
                    f"segment {name} has no place in VXU^V04 and was ignored",
                    ApplicationError.DATA_IGNORED,
                )
            )
    if orc is not None and group in ("ORC", "TQ1", "TQ2"):
        problems.append(_orc_without_rxa(orc))
    return problems


def _orc_without_rxa(orc: Segment) -> Problem:
    return error(
        orc.at(),
        ErrorCode.SEGMENT_SEQUENCE,
        f"ORC #{orc.sequence} has no RXA: every order group needs one",
    )


def _date_field(
    segment: Segment, field: int, label: str, problems: list[Problem], *, required: bool
) -> date | None:
    text = segment.text(field)
    if not text:
        if required:
            problems.append(
                error(
                    segment.at(field),
                    ErrorCode.REQUIRED_FIELD_MISSING,
                    f"{segment.id}-{field} {label} is empty",
                    ApplicationError.REQUIRED_DATA_MISSING,
                )
            )
        return None
    try:
        return read_date(text)
    except ValueError as problem:
        problems.append(
            error(
                segment.at(field),
                ErrorCode.DATA_TYPE,
                f"{segment.id}-{field} {label}: {problem}",
                ApplicationError.INVALID_DATE,
            )
        )
        return None


def _person(
    pid: Segment, header: Header, today: date, problems: list[Problem]
) -> tuple[PersonIn | None, list[PatientId], date | None]:
    found: list[Problem] = []
    patient_ids, id_problems = read_patient_ids(pid, 3, header.facility)
    found += id_problems
    if not patient_ids and not id_problems:
        found.append(
            error(
                pid.at(3),
                ErrorCode.REQUIRED_FIELD_MISSING,
                "PID-3 has no patient identifier",
                ApplicationError.REQUIRED_DATA_MISSING,
            )
        )
    family, given = read_name(pid, 5)
    if not family or not given:
        found.append(
            error(
                pid.at(5),
                ErrorCode.REQUIRED_FIELD_MISSING,
                "PID-5 needs both the family name (XPN-1) and the given name (XPN-2)",
                ApplicationError.REQUIRED_DATA_MISSING,
            )
        )
    birth = _date_field(pid, 7, "date of birth", found, required=True)
    if birth is not None and (birth > today or birth.year < 1900):
        found.append(
            error(
                pid.at(7),
                ErrorCode.DATA_TYPE,
                f"PID-7 date of birth {birth} is "
                + ("in the future" if birth > today else "before 1900"),
                ApplicationError.ILLOGICAL_DATE,
            )
        )
        birth = None
    code = pid.text(8).upper()
    sex = SEXES.get(code, "unknown")
    if code and code not in SEXES:
        found.append(
            warning(
                pid.at(8),
                ErrorCode.TABLE_VALUE_NOT_FOUND,
                f"PID-8 sex {code!r} is not in HL7 table 0001; recorded as unknown",
                ApplicationError.TABLE_VALUE_NOT_FOUND,
            )
        )
    phone = read_phone(pid.values(13))
    if pid.values(13) and phone is None:
        found.append(
            warning(
                pid.at(13),
                ErrorCode.DATA_TYPE,
                "PID-13 holds no usable telephone number; none recorded",
                ApplicationError.DATA_IGNORED,
            )
        )
    problems += found
    if has_errors(found) or birth is None:
        return None, patient_ids, birth
    national_id = next((p.value for p in patient_ids if p.is_national_id), None)
    try:
        person = PersonIn(
            national_id=national_id,
            identifiers=[
                p.identifier() for p in patient_ids if not p.is_national_id and not p.is_registry_id
            ],
            family_name=family,
            given_name=given,
            birth_date=birth,
            sex=sex,
            phone=phone,
            address=read_address(pid.value(11)),
        )
    except ValidationError as invalid:
        problems += _schema_problems(invalid, pid, PERSON_FIELDS)
        return None, patient_ids, birth
    return person, patient_ids, birth


def _guardian(nk1: Segment, header: Header, problems: list[Problem]) -> Guardian | None:
    relationship = GUARDIAN_RELATIONSHIPS.get(nk1.text(3).upper())
    if relationship is None:
        return None
    family, given = read_name(nk1, 2)
    patient_ids, id_problems = read_patient_ids(nk1, 33, header.facility)
    # A guardian's bad identifier costs only the link, not the message.
    problems += [
        replace(p, severity=Severity.WARNING, text=f"{p.text}; the guardian is not linked")
        for p in id_problems
    ]
    return Guardian(
        family_name=family,
        given_name=given,
        relationship=relationship,
        national_id=next((p.value for p in patient_ids if p.is_national_id), None),
        phone=read_phone(nk1.values(5)),
    )


def _vaccine(
    rxa: Segment, status: str, known_vaccine: Callable[[str], bool], problems: list[Problem]
) -> tuple[str | None, str | None]:
    coded = rxa.value(5)
    for code, text, system in ((1, 2, 3), (4, 5, 6)):
        if coded[system].upper() in (CVX, LOCAL_VACCINES) and coded[code]:
            cvx, product = coded[code], coded[text] or None
            break
    else:
        if not coded[1]:
            problems.append(
                error(
                    rxa.at(5),
                    ErrorCode.REQUIRED_FIELD_MISSING,
                    "RXA-5 administered code is empty",
                    ApplicationError.REQUIRED_DATA_MISSING,
                )
            )
        else:
            problems.append(
                error(
                    rxa.at(5, 1, 3),
                    ErrorCode.TABLE_VALUE_NOT_FOUND,
                    f"RXA-5 {coded[1]!r} is coded in {coded[3] or 'no coding system'}: "
                    f"vaccines must be CVX coded (RXA-5.3 'CVX')",
                    ApplicationError.TABLE_VALUE_NOT_FOUND,
                )
            )
        return None, None
    if cvx == NO_VACCINE_ADMINISTERED:
        if status == "CP":
            problems.append(
                error(
                    rxa.at(5),
                    ErrorCode.DATA_TYPE,
                    "RXA-5 CVX 998 (no vaccine administered) cannot be a completed dose",
                    ApplicationError.ILLOGICAL_VALUE,
                )
            )
        return cvx, product
    if not re.fullmatch(r"[0-9A-Za-z-]{1,10}", cvx) or not known_vaccine(cvx):
        problems.append(
            error(
                rxa.at(5, 1, 1),
                ErrorCode.TABLE_VALUE_NOT_FOUND,
                f"RXA-5 CVX {cvx!r} is not a vaccine this registry knows",
                ApplicationError.TABLE_VALUE_NOT_FOUND,
            )
        )
        return None, None
    return cvx, product


def _volume(rxa: Segment, problems: list[Problem]) -> float | None:
    text = rxa.text(6)
    # 999 is the guide's "amount unknown".
    if not text or text == "999":
        return None
    try:
        amount = float(text)
    except ValueError:
        problems.append(
            error(
                rxa.at(6),
                ErrorCode.DATA_TYPE,
                f"RXA-6 administered amount {text!r} is not a number",
                ApplicationError.INVALID_VALUE,
            )
        )
        return None
    if amount < 0 or amount > 5:
        problems.append(
            error(
                rxa.at(6),
                ErrorCode.DATA_TYPE,
                f"RXA-6 administered amount {text} mL is "
                + ("negative" if amount < 0 else "more than any vaccine dose (5 mL)"),
                ApplicationError.ILLOGICAL_VALUE,
            )
        )
        return None
    unit = rxa.value(7)[1]
    if amount and unit.lower() != "ml":
        problems.append(
            warning(
                rxa.at(7),
                ErrorCode.TABLE_VALUE_NOT_FOUND,
                f"RXA-7 units {unit or '(none)'!r} are not mL; the amount is not recorded",
                ApplicationError.DATA_IGNORED,
            )
        )
        return None
    return amount or None


def _source(rxa: Segment, status: str, problems: list[Problem]) -> ImmunizationSource:
    notes = rxa.values(9)
    coded = next((v for v in notes if v[3].upper() == "NIP001"), None)
    if coded is None:
        if status == "CP":
            problems.append(
                warning(
                    rxa.at(9),
                    ErrorCode.REQUIRED_FIELD_MISSING,
                    "RXA-9 has no NIP001 code (00 new, 01 historical); recorded as historical",
                    ApplicationError.REQUIRED_DATA_MISSING,
                )
            )
        return "historical"
    if coded[1] == ADMINISTERED:
        return "administered"
    if coded[1] not in HISTORICAL:
        problems.append(
            error(
                rxa.at(9),
                ErrorCode.TABLE_VALUE_NOT_FOUND,
                f"RXA-9 {coded[1]!r} is not an information source in NIP001 (00-08)",
                ApplicationError.TABLE_VALUE_NOT_FOUND,
            )
        )
    return "historical"


def _coded(
    rxa: Segment, field: int, table: tuple[str, ...], default: str, label: str
) -> Problem | str:
    value = rxa.text(field).upper() or default
    if value in table:
        return value
    return error(
        rxa.at(field),
        ErrorCode.TABLE_VALUE_NOT_FOUND,
        f"RXA-{field} {label} {value!r} is not one of {', '.join(table)}",
        ApplicationError.TABLE_VALUE_NOT_FOUND,
    )


def _performer(rxa: Segment) -> str | None:
    person = rxa.value(10)
    name = " ".join(part for part in (person[3], person[2]) if part)
    return name or person[1] or None


def _dose(
    rxa: Segment,
    orc: Segment | None,
    header: Header,
    birth: date | None,
    known_vaccine: Callable[[str], bool],
    today: date,
    problems: list[Problem],
) -> ReportedDose | None:
    found: list[Problem] = []
    status = _coded(rxa, 20, COMPLETION_STATUSES, "CP", "completion status")
    action = _coded(rxa, 21, ACTION_CODES, "A", "action code")
    for coded in (status, action):
        if isinstance(coded, Problem):
            found.append(coded)
    completion = status if isinstance(status, str) else "CP"
    administered = _date_field(rxa, 3, "date administered", found, required=True)
    if administered is not None and administered > today:
        found.append(
            error(
                rxa.at(3),
                ErrorCode.DATA_TYPE,
                f"RXA-3 date administered {administered} is in the future",
                ApplicationError.ILLOGICAL_DATE,
            )
        )
    if administered is not None and birth is not None and administered < birth:
        found.append(
            error(
                rxa.at(3),
                ErrorCode.DATA_TYPE,
                f"RXA-3 date administered {administered} is before the date of birth {birth}",
                ApplicationError.ILLOGICAL_DATE,
            )
        )
    cvx, product = _vaccine(rxa, completion, known_vaccine, found)
    volume = _volume(rxa, found)
    source = _source(rxa, completion, found)
    expiry = _date_field(rxa, 16, "expiration date", found, required=False)
    manufacturer = rxa.value(17)
    mvx = manufacturer[1] if manufacturer[3].upper() == MVX else None
    if manufacturer[1] and mvx is None:
        found.append(
            warning(
                rxa.at(17),
                ErrorCode.TABLE_VALUE_NOT_FOUND,
                "RXA-17 manufacturer is not MVX coded (RXA-17.3 'MVX'); not recorded",
                ApplicationError.DATA_IGNORED,
            )
        )
    problems += found
    if has_errors(found) or administered is None or cvx is None:
        return None
    place = rxa.value(11)
    site_code = place.sub(4, 1) or place.sub(4, 2) or (orc.text(17) if orc else "") or None
    filler = orc.text(3) if orc else ""
    if filler in ("", NO_FILLER_ORDER_NUMBER):
        filler = f"{header.control_id}-{rxa.sequence}"
    try:
        immunization = ImmunizationIn(
            date_administered=administered,
            cvx=cvx,
            mvx=mvx,
            product_name=product,
            lot_number=rxa.text(15) or None,
            expiration_date=expiry,
            dose_volume_ml=volume,
            performer=_performer(rxa),
            source=source,
            external_id=Identifier(system=f"urn:immunis:hl7v2:{header.facility}", value=filler),
        )
    except ValidationError as invalid:
        problems += _schema_problems(invalid, rxa, DOSE_FIELDS)
        return None
    return ReportedDose(
        number=rxa.sequence,
        immunization=immunization,
        completion_status=completion,
        action=action if isinstance(action, str) else "A",
        site_code=site_code,
    )


def parse_vxu(
    message: Message, header: Header, *, known_vaccine: Callable[[str], bool], today: date
) -> VaccinationUpdate:
    """Read a VXU^V04. Rejected (AR) without a PID; every other problem is in `problems`."""
    pid = message.first("PID")
    if pid is None:
        raise Rejected(
            error(
                Location("PID"),
                ErrorCode.SEGMENT_SEQUENCE,
                "the message has no PID segment: a VXU must say whose doses it reports",
            ),
            message.msh,
        )
    problems = check_order(message)
    person, patient_ids, birth = _person(pid, header, today, problems)
    guardians: list[Guardian] = []
    doses: list[ReportedDose] = []
    orc: Segment | None = None
    for segment in message.segments:
        if segment.id == "NK1":
            guardian = _guardian(segment, header, problems)
            if guardian is not None:
                guardians.append(guardian)
        elif segment.id == "ORC":
            orc = segment
        elif segment.id == "RXA":
            dose = _dose(segment, orc, header, birth, known_vaccine, today, problems)
            if dose is not None:
                doses.append(dose)
    first_with_id: dict[str, int] = {}
    for dose in doses:
        key = dose.immunization.external_id.value if dose.immunization.external_id else ""
        if key in first_with_id:
            problems.append(
                error(
                    Location("ORC", dose.number, 3),
                    ErrorCode.DUPLICATE_KEY,
                    f"RXA #{dose.number} has the same filler order number (ORC-3) {key!r} "
                    f"as RXA #{first_with_id[key]}",
                    ApplicationError.ILLOGICAL_VALUE,
                )
            )
        first_with_id.setdefault(key, dose.number)
    if not message.all("RXA"):
        problems.append(
            error(
                Location("RXA"),
                ErrorCode.SEGMENT_SEQUENCE,
                "the message has no ORC/RXA group: a VXU reports at least one immunization",
            )
        )
    if person is not None and person.phone is None:
        phone = next((g.phone for g in guardians if g.phone), None)
        person = person.model_copy(update={"phone": phone})
    return VaccinationUpdate(
        header=header,
        person=person,
        patient_ids=tuple(patient_ids),
        guardians=tuple(guardians),
        doses=tuple(doses),
        problems=tuple(problems),
    )
