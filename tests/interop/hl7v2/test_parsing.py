"""The HL7 v2 readers on their own, no database: encoding rules, data types, VXU and QBP."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from immunis.interop.hl7v2.datatypes import read_address, read_date, read_phone
from immunis.interop.hl7v2.encoding import Value, decode, escape, unescape
from immunis.interop.hl7v2.header import read_header
from immunis.interop.hl7v2.problems import Rejected
from immunis.interop.hl7v2.qbp import parse_qbp
from immunis.interop.hl7v2.service import known_vaccine
from immunis.interop.hl7v2.vxu import VaccinationUpdate, parse_vxu
from tests.interop.hl7v2.messages import (
    BIRTH,
    NATIONAL_ID,
    TODAY,
    hep_b_at_birth,
    hexavalent_at_two_months,
    msh,
    qbp,
    refused_rotavirus,
    vxu,
    wire,
)


def read(data: bytes) -> VaccinationUpdate:
    message = decode(data)
    return parse_vxu(message, read_header(message), known_vaccine=known_vaccine, today=TODAY)


def value(text: str) -> Value:
    return decode(wire([msh("X"), f"ZZZ|{text}"])).segments[1].value(1)


@given(st.text())
def test_escaping_then_unescaping_gives_the_text_back(text: str) -> None:
    assert unescape(escape(text)) == text


@given(st.text(max_size=300))
def test_any_segment_after_a_good_header_is_read_or_rejected_never_crashes(body: str) -> None:
    try:
        read(wire([msh("X1"), *body.split("\n")]))
    except Rejected as rejected:
        assert rejected.problem.text


def test_a_vxu_reads_as_the_registry_s_plain_data() -> None:
    update = read(
        wire(vxu(doses=[hep_b_at_birth(), hexavalent_at_two_months(), refused_rotavirus()]))
    )
    assert [p for p in update.problems if p.severity.value == "E"] == []
    person = update.person
    assert person is not None
    assert (person.national_id, person.family_name, person.given_name) == (
        NATIONAL_ID,
        "Trần",
        "Minh Khôi",
    )
    assert (person.birth_date, person.sex, person.phone) == (BIRTH, "male", "+84912345678")
    assert [i.system for i in person.identifiers] == ["urn:immunis:hl7v2:VNVC-HVT:MR"]
    assert person.address is not None
    assert (person.address.province_code, person.address.district_code) == ("01", "008")
    [mother] = update.guardians
    assert (mother.relationship, mother.national_id) == ("mother", "001195000123")
    given_dose, historical, refused = update.doses
    assert given_dose.immunization.source == "administered"
    assert given_dose.immunization.external_id is not None
    assert given_dose.immunization.external_id.value == "DOSE-1"
    assert (given_dose.site_code, given_dose.immunization.performer) == (
        "HN-PRIVATE-01",
        "Thu Hà Phạm",
    )
    assert (historical.immunization.source, historical.immunization.dose_volume_ml) == (
        "historical",
        None,
    )
    assert (refused.completion_status, refused.is_dose) == ("RE", False)
    # No filler order number: the dose is known by the message control id and its place.
    assert refused.immunization.external_id is not None
    assert refused.immunization.external_id.value == "VNVC-0001-3"


def test_line_feeds_and_crlf_separate_segments_as_well_as_carriage_returns() -> None:
    text = "\r\n".join(vxu()) + "\n"
    update = read(text.encode("utf-8"))
    assert update.person is not None
    assert len(update.doses) == 2


def test_latin_1_is_read_when_msh_18_says_8859_1() -> None:
    segments = [
        msh("X1", charset="8859/1"),
        f"PID|1||{NATIONAL_ID}^^^VNM^NNVNM||Müller^José||{BIRTH:%Y%m%d}|F",
        "ORC|RE||D-1",
        f"RXA|0|1|{BIRTH:%Y%m%d}||08^Hep B^CVX|999|||00^New^NIP001",
    ]
    update = read(wire(segments, "latin-1"))
    assert update.person is not None
    assert (update.person.family_name, update.person.given_name) == ("Müller", "José")


def test_escape_sequences_in_a_field_become_the_characters_they_stand_for() -> None:
    wire_text = "A\\F\\B\\S\\C\\T\\D\\R\\E\\E\\\\X41\\\\H\\x\\N\\"
    assert value(wire_text)[1] == "A|B^C&D~E\\Ax"


def test_a_national_id_can_also_come_as_ni_assigned_by_vnm() -> None:
    patient = f"PID|1||{NATIONAL_ID}^^^VNM^NI||Lê^Văn Tám||{BIRTH:%Y%m%d}|M"
    update = read(wire(vxu(patient=patient)))
    assert update.person is not None
    assert (update.person.national_id, update.person.identifiers) == (NATIONAL_ID, [])


def test_an_identifier_without_an_assigning_authority_belongs_to_the_sending_facility() -> None:
    patient = f"PID|1||A-1^^^^MR||Lê^Văn Tám||{BIRTH:%Y%m%d}|M"
    update = read(wire(vxu(patient=patient)))
    assert update.person is not None
    assert [i.system for i in update.person.identifiers] == ["urn:immunis:hl7v2:VNVC-HVT:MR"]


def test_the_legal_name_is_chosen_among_several() -> None:
    patient = f"PID|1||A-1^^^^MR||Bé^Bi^^^^^N~Lê^Văn^Tám^^^^L||{BIRTH:%Y%m%d}|M"
    update = read(wire(vxu(patient=patient)))
    assert update.person is not None
    assert (update.person.family_name, update.person.given_name) == ("Lê", "Văn Tám")


def test_a_baby_without_a_phone_is_reached_through_the_guardian() -> None:
    patient = f"PID|1||A-1^^^^MR||Lê^Văn Tám||{BIRTH:%Y%m%d}|M"
    update = read(wire(vxu(patient=patient)))
    assert update.person is not None
    assert update.person.phone == "+84912345678"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20250301", date(2025, 3, 1)),
        ("202503011230", date(2025, 3, 1)),
        ("20250301123045.123+0700", date(2025, 3, 1)),
    ],
)
def test_dates_read_with_or_without_a_time(text: str, expected: date) -> None:
    assert read_date(text) == expected


@pytest.mark.parametrize("text", ["2025", "2025-03-01", "20250230", "20251301", "tomorrow"])
def test_what_is_not_a_full_date_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        read_date(text)


@pytest.mark.parametrize(
    ("xtn", "phone"),
    [
        ("^PRN^CP^^84^912^345678", "+84912345678"),
        ("^PRN^PH^^^024^38251234", "02438251234"),
        ("(091) 234-5678", "0912345678"),
        ("^NET^Internet^lan@example.vn~^PRN^CP^^^0912^345678", "0912345678"),
        ("^PRN^CP^^^^^^^^^+84912345678", "+84912345678"),
        ("^PRN^CP^^^^123", None),
    ],
)
def test_telephone_numbers(xtn: str, phone: str | None) -> None:
    segment = decode(wire([msh("X"), f"ZZZ|{xtn}"])).segments[1]
    assert read_phone(segment.values(1)) == phone


def test_an_address_keeps_gso_codes_as_codes_and_the_rest_as_text() -> None:
    address = read_address(value("5 Lý Thường Kiệt^Tầng 2^Hà Nội^Hà Nội^^VNM^H^^001^00001"))
    assert address is not None
    assert (address.province_code, address.district_code, address.commune_code) == (
        None,
        "001",
        "00001",
    )
    assert address.line == "5 Lý Thường Kiệt, Tầng 2, Hà Nội, Hà Nội"


def test_a_qbp_reads_as_its_search_parameters() -> None:
    message = decode(wire(qbp(profile="Z44", limit="5")))
    query = parse_qbp(message, read_header(message))
    assert (query.profile, query.tag, query.limit) == ("Z44", "TAG-VNVC-Q-0001", 5)
    assert [p.value for p in query.patient_ids if p.is_national_id] == [NATIONAL_ID]
    assert (query.family_name, query.given_name, query.birth_date, query.sex) == (
        "Trần",
        "Minh Khôi",
        BIRTH,
        "male",
    )


def test_only_one_message_at_a_time() -> None:
    with pytest.raises(Rejected) as rejected:
        decode(wire([*vxu("A"), *vxu("B")]))
    assert rejected.value.problem.location is not None
    assert rejected.value.problem.location.parts() == ("MSH", "2")
