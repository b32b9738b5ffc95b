"""The ImmDS $immds-forecast operation against CDC's CDSi test cases, and its refusals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from immunis.conformance import read_cases
from tests.conftest import cdsi_cases_path
from tests.interop.fhir.helpers import CVX, counts, issue, send, valid_r4
from tests.world import World

LOINC = {"30981-5": "earliest", "30980-7": "recommended", "59778-1": "past_due"}
# A case per vaccine group, each with a dose history and a forecast of the next dose.
CASE_IDS = ("2013-0002", "2013-0199", "2013-0528", "2013-0627", "2013-0756")


def _cases() -> dict[str, dict[str, Any]]:
    wanted = set(CASE_IDS)
    return {c["id"]: c for c in read_cases(cdsi_cases_path()) if c["id"] in wanted}


CASES = _cases()


def parameters(case: dict[str, Any], *extra: dict[str, Any]) -> dict[str, Any]:
    """The operation's input for a CDC case: its patient and doses, as FHIR resources."""
    patient = {
        "resourceType": "Patient",
        "id": f"case-{case['id']}",
        "gender": {"F": "female", "M": "male", "U": "unknown"}.get(case["gender"], case["gender"]),
        "birthDate": case["date_of_birth"],
    }
    doses = [
        {
            "resourceType": "Immunization",
            "id": f"dose-{d['dose_number']}",
            "status": "completed",
            "vaccineCode": {"coding": [{"system": CVX, "code": d["cvx"]}]},
            "patient": {"reference": f"Patient/case-{case['id']}"},
            "occurrenceDateTime": d["date_administered"],
        }
        for d in case["doses"]
    ]
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "assessmentDate", "valueDate": case["assessment_date"]},
            {"name": "patient", "resource": patient},
            *({"name": "immunization", "resource": d} for d in doses),
            *extra,
        ],
    }


def _outputs(response: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    answer = valid_r4(response.json())
    evaluations = [p["resource"] for p in answer["parameter"] if p["name"] == "evaluation"]
    (recommendation,) = [
        p["resource"] for p in answer["parameter"] if p["name"] == "recommendation"
    ]
    return evaluations, recommendation


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_the_forecast_gives_cdcs_expected_dates(world: World, case_id: str) -> None:
    case = CASES[case_id]
    response = send(world, "POST", "/fhir/$immds-forecast", "vaccinator", parameters(case))
    assert response.status_code == 200, response.text
    evaluations, recommendation = _outputs(response)
    assert recommendation["patient"] == {"reference": f"Patient/case-{case_id}"}
    entries = {r["targetDisease"]["coding"][0]["code"]: r for r in recommendation["recommendation"]}
    entry = entries[case["vaccine_group_name"]]
    dates = {
        LOINC[c["code"]["coding"][0]["code"]]: c["value"]
        for c in entry["dateCriterion"]
        if c["code"]["coding"][0]["code"] in LOINC
    }
    expected = case["expected"]
    assert dates == {
        "earliest": expected["earliest_date"],
        "recommended": expected["recommended_date"],
        "past_due": expected["past_due_date"],
    }
    assert entry["doseNumberPositiveInt"] == expected["forecast_dose_number"]
    evaluated = {e["immunizationEvent"]["reference"] for e in evaluations}
    assert evaluated == {f"Immunization/dose-{d['dose_number']}" for d in case["doses"]}


def test_each_dose_is_evaluated_with_cdsi_and_fhir_status_codes(world: World) -> None:
    case = CASES["2013-0002"]  # DTaP: dose 2 is given too young
    response = send(world, "POST", "/fhir/$immds-forecast", "vaccinator", parameters(case))
    evaluations, recommendation = _outputs(response)
    diphtheria = {
        e["immunizationEvent"]["reference"]: e
        for e in evaluations
        if e["targetDisease"]["coding"][0]["code"] == "Diphtheria"
    }
    first, second = diphtheria["Immunization/dose-1"], diphtheria["Immunization/dose-2"]
    assert [c["code"] for c in first["doseStatus"]["coding"]] == ["valid", "Valid"]
    assert first["doseNumberPositiveInt"] == 1
    assert first["series"] == "Diphtheria standard series"
    assert [c["code"] for c in second["doseStatus"]["coding"]] == ["notvalid", "Not Valid"]
    assert {"text": "Age: Too Young"} in second["doseStatusReason"]
    (dtap,) = [
        r
        for r in recommendation["recommendation"]
        if r["targetDisease"]["coding"][0]["code"] == "DTaP/Tdap/Td"
    ]
    assert [c["code"] for c in dtap["forecastStatus"]["coding"]] == ["due", "notComplete"]


def test_the_schedule_can_be_chosen_and_vietnams_groups_are_forecast(world: World) -> None:
    case = CASES["2013-0199"]
    schedule = {"name": "schedule", "valueCode": "vn"}
    response = send(world, "POST", "/fhir/$immds-forecast", "lab", parameters(case, schedule))
    assert response.status_code == 200, response.text
    _, recommendation = _outputs(response)
    groups = {r["targetDisease"]["coding"][0]["code"] for r in recommendation["recommendation"]}
    assert {"BCG", "Measles-Rubella"} <= groups
    assert "Vi" in recommendation["authority"]["display"]


def test_an_overdue_dose_is_overdue(world: World) -> None:
    case = dict(CASES["2013-0002"], assessment_date="2026-06-01")
    response = send(world, "POST", "/fhir/$immds-forecast", "vaccinator", parameters(case))
    _, recommendation = _outputs(response)
    (dtap,) = [
        r
        for r in recommendation["recommendation"]
        if r["targetDisease"]["coding"][0]["code"] == "DTaP/Tdap/Td"
    ]
    assert dtap["forecastStatus"]["coding"][0]["code"] == "overdue"


def test_the_operation_writes_nothing_and_needs_a_user(world: World) -> None:
    case = CASES["2013-0002"]
    anonymous = world.client.post("/fhir/$immds-forecast", json=parameters(case))
    assert anonymous.status_code == 401
    assert issue(anonymous)["code"] == "security"
    send(world, "POST", "/fhir/$immds-forecast", "admin", parameters(case))
    assert counts(world) == (1, 0)


def _without_parameter(case: dict[str, Any], name: str) -> dict[str, Any]:
    body = parameters(case)
    body["parameter"] = [p for p in body["parameter"] if p["name"] != name]
    return body


# Bad requests made from a CDC case: (body, status, issue code, how the diagnostics start).
MALFORMED: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], int, str, str]] = {
    "not a Parameters": (
        lambda case: {**parameters(case), "resourceType": "Bundle"},
        400,
        "invalid",
        "Parameters.resourceType: expected Parameters",
    ),
    "no assessment date": (
        lambda case: _without_parameter(case, "assessmentDate"),
        400,
        "required",
        "Parameters.parameter: 'assessmentDate' is required",
    ),
    "an unknown parameter": (
        lambda case: parameters(case, {"name": "colour", "valueString": "blue"}),
        400,
        "not-supported",
        "Parameters.parameter[4].name: unknown parameter 'colour'",
    ),
    "an unknown schedule": (
        lambda case: parameters(case, {"name": "schedule", "valueCode": "mars"}),
        400,
        "value",
        "Parameters.parameter[4].valueCode: unknown schedule 'mars'",
    ),
    "an unknown gender": (
        lambda case: parameters({**case, "gender": "boy"}),
        400,
        "value",
        "Parameters.parameter[1].resource.gender: 'boy' is not one of",
    ),
    "a birth date without its day": (
        lambda case: parameters({**case, "date_of_birth": "2025-09"}),
        422,
        "value",
        "Parameters.parameter[1].resource.birthDate: needs a full date",
    ),
    "an assessment before birth": (
        lambda case: parameters({**case, "assessment_date": "2020-01-01"}),
        422,
        "value",
        "Parameters.parameter[0].valueDate: is before the patient's birth date",
    ),
}


@pytest.mark.parametrize("bad", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_request_is_refused(world: World, bad: tuple[Any, int, str, str]) -> None:
    make, status, code, diagnostics = bad
    response = send(world, "POST", "/fhir/$immds-forecast", "vaccinator", make(CASES["2013-0002"]))
    assert response.status_code == status, response.text
    found = issue(response)
    assert found["code"] == code
    assert found["diagnostics"].startswith(diagnostics), found["diagnostics"]
