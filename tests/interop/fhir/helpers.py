"""FHIR resources to send into the test world, and ways to look at the answers."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from httpx import Response
from sqlalchemy import func, select

from immunis.registry.models import Immunization, Person
from tests.world import World

CVX = "http://hl7.org/fhir/sid/cvx"
NATIONAL_ID = "http://immunis.org/fhir/sid/vn-cccd"
EXT = "http://immunis.org/fhir/StructureDefinition"


def baby(**changes: Any) -> dict[str, Any]:
    """A Patient for a baby living in the commune of the Hà Nội test site."""
    resource = {
        "resourceType": "Patient",
        "identifier": [{"system": NATIONAL_ID, "value": "001225000777"}],
        "name": [{"family": "Trần", "given": ["Minh", "Khôi"]}],
        "gender": "male",
        "birthDate": "2025-03-03",
        "telecom": [{"system": "phone", "value": "0912 345 678"}],
        "address": [
            {
                "line": ["12 Phó Đức Chính"],
                "extension": [
                    {"url": f"{EXT}/vn-province-code", "valueCode": "01"},
                    {"url": f"{EXT}/vn-district-code", "valueCode": "001"},
                    {"url": f"{EXT}/vn-commune-code", "valueCode": "00001"},
                ],
            }
        ],
    }
    resource.update(changes)
    return resource


def dose(patient_id: str, **changes: Any) -> dict[str, Any]:
    """An Immunization: a hepatitis B birth dose given by the sender."""
    resource = {
        "resourceType": "Immunization",
        "identifier": [{"system": "urn:test:emr", "value": "dose-1"}],
        "status": "completed",
        "vaccineCode": {"coding": [{"system": CVX, "code": "08"}], "text": "Engerix-B Pediatric"},
        "patient": {"reference": f"Patient/{patient_id}"},
        "occurrenceDateTime": "2025-03-03",
        "primarySource": True,
        "lotNumber": "HB2503",
        "expirationDate": "2026-12-31",
        "doseQuantity": {"value": 0.5, "unit": "mL", "system": "http://unitsofmeasure.org"},
    }
    resource.update(changes)
    return resource


def send(
    world: World, method: str, url: str, who: str, body: Any = None, **headers: str
) -> Response:
    """A FHIR request as `who` (a role of the test world), with a FHIR JSON body if given."""
    all_headers = {**world.headers(who), "Content-Type": "application/fhir+json", **headers}
    return world.client.request(method, url, json=body, headers=all_headers)


def created(world: World, url: str, resource: dict[str, Any], who: str = "vaccinator") -> Any:
    response = send(world, "POST", url, who, resource)
    assert response.status_code == 201, response.text
    return response.json()


def counts(world: World) -> tuple[int, int]:
    """How many people and doses the registry holds."""
    with world.sessions() as session:
        people = session.scalar(select(func.count()).select_from(Person))
        doses = session.scalar(select(func.count()).select_from(Immunization))
    return int(people or 0), int(doses or 0)


def valid_r4(resource: dict[str, Any]) -> dict[str, Any]:
    """`resource`, after checking it is a structurally valid FHIR resource (R4B models)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def issue(response: Response) -> dict[str, Any]:
    """The only issue of the OperationOutcome in `response`."""
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = valid_r4(response.json())
    assert outcome["resourceType"] == "OperationOutcome"
    assert len(outcome["issue"]) == 1, outcome
    return outcome["issue"][0]
