"""HL7 v2.5.1 data types (chapter 2A) as the registry reads and writes them: dates (TS/DT),
patient identifiers (CX), names (XPN), addresses (XAD) and telephone numbers (XTN).

Identifier mapping (PID-3, QPD-3, NK1-33):
- type ``NNVNM`` (national person identifier, Viet Nam), or ``NI`` assigned by ``VNM``: the
  citizen identity number (CCCD, 12 digits; the older CMND, 9), kept as the person's national ID
  (FHIR system ``http://immunis.org/fhir/sid/vn-cccd``);
- type ``SR`` assigned by ``IMMUNIS``: this registry's own person id, as its answers send it;
- anything else: a PersonIdentifier with system ``urn:immunis:hl7v2:<assigning authority>:<type>``;
  without an assigning authority (CX-4) the sending facility (MSH-4) is the authority.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from immunis.interop.hl7v2.encoding import REPETITION, Segment, Value, components
from immunis.interop.hl7v2.problems import ApplicationError, ErrorCode, Problem, error
from immunis.registry.schemas import NATIONAL_ID_PATTERN, Address, Identifier, PersonOut, Sex

NATIONAL_ID_SYSTEM = "http://immunis.org/fhir/sid/vn-cccd"
NATIONAL_ID_TYPE = "NNVNM"  # HL7 table 0203: NN + the ISO 3166 country code
VIETNAM = "VNM"
REGISTRY_AUTHORITY = "IMMUNIS"
REGISTRY_ID_TYPE = "SR"  # HL7 table 0203: state registry identifier
LOCAL_SYSTEM_PREFIX = "urn:immunis:hl7v2:"

_TIMESTAMP = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2}(\d{2}(\d{2}(\.\d{1,4})?)?)?)?([+-]\d{4})?")
_PHONE = re.compile(r"\+?\d{9,15}")
# HL7 table 0001 (administrative sex) to the registry's words.
SEXES: dict[str, Sex] = {
    "F": "female",
    "M": "male",
    "O": "other",
    "A": "other",
    "U": "unknown",
    "N": "unknown",
}
HL7_SEX = {"female": "F", "male": "M", "other": "O", "unknown": "U"}


def read_date(text: str) -> date:
    """A TS/DT value's calendar day (time and offset ignored); ValueError unless it has at
    least a full YYYYMMDD and is a real date."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a date (YYYYMMDD, optionally followed by a time)")
    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def hl7_date(day: date | None) -> str:
    return day.strftime("%Y%m%d") if day else ""


@dataclass(frozen=True, slots=True)
class PatientId:
    """One patient identifier (CX) as sent: the id, who assigned it, and its type."""

    value: str
    authority: str
    type_code: str

    @property
    def is_national_id(self) -> bool:
        return self.type_code == NATIONAL_ID_TYPE or (
            self.type_code == "NI" and self.authority.upper() == VIETNAM
        )

    @property
    def is_registry_id(self) -> bool:
        return self.type_code == REGISTRY_ID_TYPE and self.authority.upper() == REGISTRY_AUTHORITY

    def identifier(self) -> Identifier:
        """The (system, value) pair the registry keeps for an identifier of another kind."""
        return Identifier(
            system=f"{LOCAL_SYSTEM_PREFIX}{self.authority}:{self.type_code}", value=self.value
        )


def read_patient_ids(
    segment: Segment, field: int, default_authority: str
) -> tuple[list[PatientId], list[Problem]]:
    """Every identifier in a CX field, and what is wrong with them."""
    found: list[PatientId] = []
    problems: list[Problem] = []
    for repetition, value in enumerate(segment.values(field), start=1):
        if not value[1]:
            continue
        type_code = value[5].upper()
        authority = value.sub(4, 1) or value.sub(4, 2) or default_authority
        patient_id = PatientId(value[1], authority, type_code)
        where = segment.at(field, repetition)
        if not type_code:
            problems.append(
                error(
                    segment.at(field, repetition, 5),
                    ErrorCode.REQUIRED_FIELD_MISSING,
                    f"{segment.id}-{field} identifier {value[1]!r} has no identifier type (CX-5)",
                    ApplicationError.REQUIRED_DATA_MISSING,
                )
            )
        elif patient_id.is_national_id and not re.fullmatch(NATIONAL_ID_PATTERN, value[1]):
            problems.append(
                error(
                    where,
                    ErrorCode.DATA_TYPE,
                    f"{segment.id}-{field} national ID {value[1]!r} must have 9 or 12 digits",
                    ApplicationError.INVALID_VALUE,
                )
            )
        elif len(value[1]) > 100 or len(patient_id.identifier().system) > 200:
            problems.append(
                error(
                    where,
                    ErrorCode.DATA_TYPE,
                    f"{segment.id}-{field} identifier or its assigning authority is too long",
                    ApplicationError.INVALID_VALUE,
                )
            )
        else:
            found.append(patient_id)
    national = {p.value for p in found if p.is_national_id}
    if len(national) > 1:
        problems.append(
            error(
                segment.at(field),
                ErrorCode.DATA_TYPE,
                f"{segment.id}-{field} holds {len(national)} different national IDs",
                ApplicationError.ILLOGICAL_VALUE,
            )
        )
    return found, problems


def read_name(segment: Segment, field: int) -> tuple[str, str]:
    """(family name, given names) from an XPN field: the legal name (XPN-7 ``L``) when one is
    marked, else the first. Middle names join the given name, as Vietnamese names are written."""
    names = segment.values(field)
    chosen = next((n for n in names if n[7].upper() == "L"), names[0] if names else Value(()))
    given = " ".join(part for part in (chosen[2], chosen[3]) if part)
    return chosen[1], given


def read_address(value: Value) -> Address | None:
    """An XAD as a Vietnamese address: XAD-4 (state or province) holds the 2-digit province
    code, XAD-9 (county/parish) the 3-digit district code and XAD-10 (census tract) the 5-digit
    commune code, each from the GSO list; the street, other designation, city, and any value
    that is not such a code, make up the free-text line."""
    if not value:
        return None
    codes = {"province_code": (4, 2), "district_code": (9, 3), "commune_code": (10, 5)}
    line = [value[1], value[2], value[3]]
    found: dict[str, str] = {}
    for name, (component, digits) in codes.items():
        text = value[component]
        if re.fullmatch(rf"\d{{{digits}}}", text):
            found[name] = text
        elif text:
            line.append(text)
    text_line = ", ".join(part for part in line if part) or None
    return Address(line=text_line, **found)


def read_phone(values: list[Value]) -> str | None:
    """The first telephone number (XTN) that is one: ``+<country><area><local>`` from XTN-5..7,
    else XTN-12 (unformatted), else the digits of XTN-1; e-mail addresses are passed over."""
    for value in values:
        if value[3].upper() in ("INTERNET", "X.400") or value[4]:
            continue
        if value[7]:
            number = value[6] + value[7]
            number = f"+{value[5]}{number}" if value[5] else number
        else:
            number = value[12] or value[1]
        number = re.sub(r"[^\d+]", "", number)
        if _PHONE.fullmatch(number):
            return number
    return None


def patient_identifiers(person: PersonOut) -> str:
    """PID-3 for a registry person: the registry id, the national ID, and identifiers that came
    in over HL7 v2 (those from other faces have no CX form)."""
    repetitions = [components(person.id, "", "", REGISTRY_AUTHORITY, REGISTRY_ID_TYPE)]
    if person.national_id:
        repetitions.append(components(person.national_id, "", "", VIETNAM, NATIONAL_ID_TYPE))
    for identifier in person.identifiers:
        if identifier.system.startswith(LOCAL_SYSTEM_PREFIX):
            authority, _, type_code = identifier.system.removeprefix(
                LOCAL_SYSTEM_PREFIX
            ).rpartition(":")
            repetitions.append(components(identifier.value, "", "", authority, type_code))
    return REPETITION.join(repetitions)
