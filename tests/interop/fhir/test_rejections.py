"""Malformed or unacceptable FHIR input: each kind is refused with a specific OperationOutcome, and
nothing is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest

from tests.interop.fhir.helpers import NATIONAL_ID, baby, counts, dose, issue
from tests.world import World

TOMORROW = (date.today() + timedelta(days=1)).isoformat()


def _without(resource: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k not in names}


@dataclass(frozen=True)
class Case:
    """One kind of bad input: where it is sent, its body, and the expected refusal."""

    url: str
    body: Callable[[str], Any]  # the mother's id -> a resource, or raw text to send as is
    status: int
    code: str
    diagnostics: str  # how the diagnostics start: the element at fault first
    headers: dict[str, str] = field(default_factory=dict)


CASES = {
    "JSON that is not an object": Case(
        "/fhir/Patient", lambda _: "[1, 2]", 400, "structure", "the body must be a JSON object"
    ),
    "text that is not JSON": Case(
        "/fhir/Patient", lambda _: '{"resourceType": "Patient",', 400, "structure", "the body is"
    ),
    "a content type that is not FHIR JSON": Case(
        "/fhir/Patient",
        lambda _: baby(),
        415,
        "not-supported",
        "send application/fhir+json",
        {"Content-Type": "text/plain"},
    ),
    "the wrong resourceType": Case(
        "/fhir/Patient",
        lambda mother: dose(mother),
        400,
        "invalid",
        "Patient.resourceType: expected Patient, got 'Immunization'",
    ),
    "an element FHIR does not have": Case(
        "/fhir/Patient",
        lambda _: baby(favouriteColour="blue"),
        400,
        "structure",
        "Patient.favouriteColour: is not an element",
    ),
    "an element of the wrong JSON type": Case(
        "/fhir/Patient",
        lambda _: baby(name={"family": "Trần"}),
        400,
        "value",
        "Patient.name:",
    ),
    "a date that does not exist": Case(
        "/fhir/Patient", lambda _: baby(birthDate="2025-02-30"), 400, "value", "Patient.birthDate:"
    ),
    "an unknown gender code": Case(
        "/fhir/Patient",
        lambda _: baby(gender="boy"),
        400,
        "value",
        "Patient.gender: 'boy' is not one of male, female, other, unknown",
    ),
    "a missing birthDate": Case(
        "/fhir/Patient",
        lambda _: _without(baby(), "birthDate"),
        422,
        "required",
        "Patient.birthDate: is required",
    ),
    "a birthDate without its day": Case(
        "/fhir/Patient",
        lambda _: baby(birthDate="2025-03"),
        422,
        "value",
        "Patient.birthDate: needs a full date",
    ),
    "a birthDate in the future": Case(
        "/fhir/Patient",
        lambda _: baby(birthDate=TOMORROW),
        422,
        "value",
        "Patient.birthDate: birth date is in the future",
    ),
    "a patient without a name": Case(
        "/fhir/Patient", lambda _: _without(baby(), "name"), 422, "required", "Patient.name:"
    ),
    "a national ID of the wrong length": Case(
        "/fhir/Patient",
        lambda _: baby(identifier=[{"system": NATIONAL_ID, "value": "12345"}]),
        422,
        "value",
        "Patient.identifier:",
    ),
    "a guardian who is not a patient reference": Case(
        "/fhir/Patient",
        lambda _: baby(
            extension=[
                {
                    "url": "http://immunis.org/fhir/StructureDefinition/guardian",
                    "extension": [
                        {"url": "patient", "valueReference": {"reference": "RelatedPerson/1"}}
                    ],
                }
            ]
        ),
        422,
        "value",
        "Patient.extension[0].patient.reference: expected 'Patient/<id>'",
    ),
    "If-None-Exist that is not a search": Case(
        "/fhir/Patient",
        lambda _: baby(),
        400,
        "invalid",
        "If-None-Exist: expected name=value",
        {"If-None-Exist": "identifier"},
    ),
    "If-None-Exist with an identifier without its system": Case(
        "/fhir/Patient",
        lambda _: baby(),
        400,
        "invalid",
        "search parameter identifier: expected system|value",
        {"If-None-Exist": "identifier=001225000777"},
    ),
    "If-None-Exist with a parameter Patient is not searched by": Case(
        "/fhir/Patient",
        lambda _: baby(),
        400,
        "not-supported",
        "If-None-Exist gender:",
        {"If-None-Exist": "gender=male"},
    ),
    "an unknown Immunization status": Case(
        "/fhir/Immunization",
        lambda mother: dose(mother, status="given"),
        400,
        "value",
        "Immunization.status: 'given' is not one of completed, entered-in-error, not-done",
    ),
    "a dose not given": Case(
        "/fhir/Immunization",
        lambda mother: dose(mother, status="not-done"),
        422,
        "value",
        "Immunization.status: immunis records doses given",
    ),
    "a vaccine coded in another system than CVX": Case(
        "/fhir/Immunization",
        lambda mother: dose(
            mother, vaccineCode={"coding": [{"system": "http://snomed.info/sct", "code": "1"}]}
        ),
        422,
        "required",
        "Immunization.vaccineCode: needs a coding with system http://hl7.org/fhir/sid/cvx",
    ),
    "a CVX code no schedule knows": Case(
        "/fhir/Immunization",
        lambda mother: dose(
            mother,
            vaccineCode={"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "999"}]},
        ),
        422,
        "processing",
        "CVX 999 is not a vaccine known",
    ),
    "an Immunization for a patient who does not exist": Case(
        "/fhir/Immunization",
        lambda _: dose("no-such-patient"),
        422,
        "not-found",
        "Immunization.patient: no person no-such-patient",
    ),
    "a patient reference to another resource type": Case(
        "/fhir/Immunization",
        lambda mother: dose(mother, patient={"reference": f"Practitioner/{mother}"}),
        422,
        "value",
        "Immunization.patient.reference: expected 'Patient/<id>'",
    ),
    "a negative dose quantity": Case(
        "/fhir/Immunization",
        lambda mother: dose(mother, doseQuantity={"value": -0.5, "unit": "mL"}),
        422,
        "value",
        "Immunization.doseQuantity.value: Input should be greater than 0",
    ),
    "a dose quantity in another unit than mL": Case(
        "/fhir/Immunization",
        lambda mother: dose(mother, doseQuantity={"value": 10, "unit": "mg"}),
        422,
        "value",
        "Immunization.doseQuantity: doses are recorded in mL",
    ),
    "an occurrence date in the future": Case(
        "/fhir/Immunization",
        lambda mother: dose(mother, occurrenceDateTime=TOMORROW),
        422,
        "value",
        "Immunization.occurrenceDateTime: date administered is in the future",
    ),
    "an occurrence given as text": Case(
        "/fhir/Immunization",
        lambda mother: {
            **_without(dose(mother), "occurrenceDateTime"),
            "occurrenceString": "last spring",
        },
        422,
        "value",
        "Immunization.occurrenceString:",
    ),
    "a dose before the patient was born": Case(
        "/fhir/Immunization",
        lambda mother: dose(mother, occurrenceDateTime="1990-01-01"),
        422,
        "processing",
        "date administered 1990-01-01 is before the birth date",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_refused_with_a_specific_outcome_and_nothing_is_written(
    world: World, case: Case
) -> None:
    body = case.body(world.people["mother"])
    headers = {
        **world.headers("vaccinator"),
        "Content-Type": "application/fhir+json",
        **case.headers,
    }
    content = body if isinstance(body, str) else json.dumps(body)
    response = world.client.post(case.url, content=content, headers=headers)
    assert response.status_code == case.status, response.text
    found = issue(response)
    assert found["severity"] == "error"
    assert found["code"] == case.code
    assert found["diagnostics"].startswith(case.diagnostics), found["diagnostics"]
    assert counts(world) == (1, 0)


def test_every_problem_of_a_resource_is_reported_at_once(world: World) -> None:
    bad = baby(gender="boy", birthDate="2025-02-30", favouriteColour="blue")
    response = world.client.post(
        "/fhir/Patient",
        json=bad,
        headers={**world.headers("vaccinator"), "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 400
    paths = sorted(i["expression"][0] for i in response.json()["issue"])
    assert paths == ["Patient.birthDate", "Patient.favouriteColour"]


def test_an_unsupported_search_parameter_is_refused_not_ignored(world: World) -> None:
    response = world.client.get(
        "/fhir/Patient", params={"gender": "male"}, headers=world.headers("vaccinator")
    )
    assert response.status_code == 400
    assert issue(response)["code"] == "not-supported"


def test_an_unknown_resource_type_is_not_found(world: World) -> None:
    response = world.client.get("/fhir/Medication/1", headers=world.headers("vaccinator"))
    assert response.status_code == 404
    assert issue(response)["code"] == "not-supported"


def test_deleting_is_not_an_interaction_immunis_offers(world: World) -> None:
    response = world.client.delete(
        f"/fhir/Patient/{world.people['mother']}", headers=world.headers("vaccinator")
    )
    assert response.status_code == 405
    assert counts(world) == (1, 0)
