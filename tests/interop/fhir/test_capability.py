"""The CapabilityStatement says exactly what the server does."""

from __future__ import annotations

from tests.interop.fhir.helpers import valid_r4
from tests.world import World

# A value of each search parameter type, to try every parameter the statement declares.
SAMPLE = {
    "token": "urn:test|x",
    "string": "x",
    "date": "2025-01-01",
    "reference": "Patient/x",
    "number": "5",
}


def test_metadata_is_public_and_lists_each_resource_and_interaction(world: World) -> None:
    response = world.client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    statement = valid_r4(response.json())
    assert statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    interactions = {
        r["type"]: sorted(i["code"] for i in r["interaction"]) for r in rest["resource"]
    }
    assert interactions == {
        "Appointment": ["create", "read", "search-type", "update"],
        "Immunization": ["create", "read", "search-type", "update"],
        "ImmunizationEvaluation": ["search-type"],
        "ImmunizationRecommendation": ["search-type"],
        "Location": ["create", "read", "search-type", "update"],
        "Organization": ["create", "read", "search-type", "update"],
        "Patient": ["create", "read", "search-type", "update"],
        "Schedule": ["read", "search-type"],
        "Slot": ["read", "search-type"],
    }
    conditional = {r["type"] for r in rest["resource"] if r.get("conditionalCreate")}
    assert conditional == {"Patient", "Immunization"}
    assert [o["name"] for o in rest["operation"]] == ["immds-forecast"]


def test_every_declared_search_parameter_is_accepted(world: World) -> None:
    statement = world.client.get("/fhir/metadata").json()
    for resource in statement["rest"][0]["resource"]:
        for parameter in resource["searchParam"]:
            value = "vn" if parameter["name"] == "schedule" else SAMPLE[parameter["type"]]
            response = world.client.get(
                f"/fhir/{resource['type']}",
                params={parameter["name"]: value},
                headers=world.headers("national_officer"),
            )
            codes = {i["code"] for i in response.json().get("issue", [])}
            assert "not-supported" not in codes, (resource["type"], parameter["name"])
