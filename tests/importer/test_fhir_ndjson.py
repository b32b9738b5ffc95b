"""FHIR NDJSON into the registry: lines and Bundles, what the FHIR face's mapping brings through,
and why each refused line was refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from immunis.importer.fhir_ndjson import FhirNdjson
from immunis.importer.records import Line
from immunis.registry.models import Immunization, Person
from tests.importer.files import count, dose, ndjson, patient, rejected_lines, run
from tests.world import World

CCCD = "http://immunis.org/fhir/sid/vn-cccd"
AREA = "http://immunis.org/fhir/StructureDefinition/vn-{}-code"


def test_each_non_blank_line_is_one_record_numbered_as_in_the_file() -> None:
    lines = [Line(1, '{"a": 1}', 9), Line(2, "   ", 13), Line(3, '{"b": 2}', 22)]

    records = list(FhirNdjson().records(lines))

    assert [(r.first_line, r.last_line, r.end_offset) for r in records] == [(1, 1, 9), (3, 3, 22)]


def test_a_patient_comes_in_as_the_fhir_face_reads_it(world: World, tmp_path: Path) -> None:
    codes = {"province": "01", "district": "001", "commune": "00001"}
    resident = {
        **patient(1),
        "identifier": [{"system": CCCD, "value": "001225000001"}],
        "address": [
            {
                "line": ["12 Phó Đức Chính"],
                "extension": [{"url": AREA.format(k), "valueCode": v} for k, v in codes.items()],
            }
        ],
    }
    by_national_id = dose(1, 1, identifier={"system": CCCD, "value": "001225000001"})

    result = run(world, ndjson(tmp_path / "a.ndjson", [resident, by_national_id]), tmp_path / "r")

    assert result.created == 2
    with world.sessions() as session:
        person = session.scalars(select(Person).where(Person.national_id == "001225000001")).one()
        assert (person.commune_code, person.address_line) == ("00001", "12 Phó Đức Chính")
        [recorded] = session.scalars(
            select(Immunization).where(Immunization.person_id == person.id)
        )
        assert (recorded.cvx, recorded.external_value) == ("08", "D-1-1")


def test_a_bundle_on_a_line_is_imported_whole_or_not_at_all(world: World, tmp_path: Path) -> None:
    def bundle(number: int, *doses: dict[str, Any]) -> dict[str, Any]:
        url = f"urn:uuid:0000000{number}-0000-4000-8000-000000000000"
        entries = [{"fullUrl": f"urn:uuid:d{n}", "resource": d} for n, d in enumerate(doses)]
        return {
            "resourceType": "Bundle",
            "type": "collection",
            # The Immunizations come first: the Patient they refer to is imported before them.
            "entry": [*entries, {"fullUrl": url, "resource": patient(number)}],
        }

    first = bundle(1, dose(1, 1, reference="urn:uuid:00000001-0000-4000-8000-000000000000"))
    second = bundle(2, dose(2, 1, reference="urn:uuid:00000002-0000-4000-8000-000000000000"),
                    dose(2, 2, on="2024-01-01", reference="Patient/p2"))  # fmt: skip
    rejects = tmp_path / "rejects.jsonl"

    result = run(world, ndjson(tmp_path / "b.ndjson", [first, second]), rejects)

    assert (result.created, result.rejected) == (1, 1)
    assert [line for line, _ in rejected_lines(rejects)] == [2]
    assert (count(world, Person), count(world, Immunization)) == (1 + 1, 1)


def test_each_refused_line_says_why(world: World, tmp_path: Path) -> None:
    no_cvx = {**dose(1, 2), "vaccineCode": {"coding": [{"system": "urn:x", "code": "HEXA"}]}}
    refused: list[tuple[str | dict[str, Any], str]] = [
        ("[1, 2]", "not a FHIR resource"),
        ({"resourceType": "Observation", "status": "final"}, "only Patient and Immunization"),
        ({"resourceType": "Bundle", "type": "collection", "entry": [{}]}, "Bundle.entry"),
        ({**patient(2), "identifier": []}, "a Patient needs an identifier"),
        ({**patient(3), "gender": "frog"}, "Patient.gender"),
        ({**dose(1, 1), "status": "not-done"}, "Immunization.status"),
        (no_cvx, "Immunization.vaccineCode"),
        ({**dose(1, 3), "identifier": []}, "an Immunization needs an identifier"),
        (dose(9, 1), "'Patient/p9' is not a Patient earlier in the file"),
        (dose(1, 4, identifier={"system": "urn:x", "value": "1"}), "urn:x|1 is not in the"),
    ]
    lines = [patient(1), *(line for line, _ in refused)]
    rejects = tmp_path / "rejects.jsonl"

    result = run(world, ndjson(tmp_path / "a.ndjson", lines), rejects)

    assert (result.created, result.rejected) == (1, len(refused))
    reasons = dict(rejected_lines(rejects))
    for line, (_, expected) in enumerate(refused, start=2):
        assert expected in reasons[line], (line, reasons[line])
