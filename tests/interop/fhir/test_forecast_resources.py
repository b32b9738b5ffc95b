"""A registered patient's forecast over FHIR: ImmunizationRecommendation and ImmunizationEvaluation
made from their record, on both databases."""

from __future__ import annotations

from typing import Any

from tests.interop.fhir.helpers import baby, created, dose, issue, send, valid_r4
from tests.world import World

ON = {"schedule": "vn", "assessment-date": "2025-04-01"}


def _search(world: World, resource_type: str, who: str = "vaccinator", **params: str) -> Any:
    return world.client.get(f"/fhir/{resource_type}", params=params, headers=world.headers(who))


def _baby_with_doses(world: World, *doses: dict[str, Any]) -> tuple[str, list[str]]:
    patient_id = str(created(world, "/fhir/Patient", baby())["id"])
    ids = [str(created(world, "/fhir/Immunization", dose(patient_id, **d))["id"]) for d in doses]
    return patient_id, ids


def test_the_recommendation_forecasts_the_next_dose_from_the_record(world: World) -> None:
    patient_id, _ = _baby_with_doses(world, {})
    response = _search(world, "ImmunizationRecommendation", patient=patient_id, **ON)
    assert response.status_code == 200, response.text
    bundle = valid_r4(response.json())
    assert bundle["total"] == 1
    assert bundle["entry"][0]["fullUrl"].startswith("urn:uuid:")
    recommendation = bundle["entry"][0]["resource"]
    assert recommendation["patient"] == {"reference": f"Patient/{patient_id}"}
    assert recommendation["date"] == "2025-04-01"
    entries = {r["targetDisease"]["text"]: r for r in recommendation["recommendation"]}
    assert entries["HepB"]["doseNumberPositiveInt"] == 2
    assert entries["HepB"]["forecastStatus"]["coding"][0]["code"] in ("due", "overdue")


def test_each_recorded_dose_is_evaluated_and_refers_to_its_immunization(world: World) -> None:
    # The same vaccine twice on one day: each evaluation must point at its own record.
    patient_id, dose_ids = _baby_with_doses(
        world, {}, {"identifier": [{"system": "urn:test:emr", "value": "dose-again"}]}
    )
    response = _search(world, "ImmunizationEvaluation", patient=patient_id, **ON)
    bundle = valid_r4(response.json())
    evaluations = [e["resource"] for e in bundle["entry"]]
    hepb = {
        e["immunizationEvent"]["reference"]: e["doseStatus"]["coding"][0]["code"]
        for e in evaluations
        if e["targetDisease"]["text"] == "HepB"
    }
    assert set(hepb) == {f"Immunization/{i}" for i in dose_ids}
    assert sorted(hepb.values()) == ["notvalid", "valid"]


def test_a_dose_entered_in_error_is_not_evaluated(world: World) -> None:
    patient_id, (dose_id,) = _baby_with_doses(world, {})
    voided = dose(patient_id, id=dose_id, status="entered-in-error")
    send(world, "PUT", f"/fhir/Immunization/{dose_id}", "vaccinator", voided)
    response = _search(world, "ImmunizationEvaluation", patient=patient_id, **ON)
    assert response.json()["total"] == 0


def test_a_citizen_sees_their_own_forecast_but_not_another_persons(world: World) -> None:
    patient_id, _ = _baby_with_doses(world, {})
    own = _search(world, "ImmunizationRecommendation", "citizen", patient=world.people["mother"])
    assert own.status_code == 200, own.text
    other = _search(world, "ImmunizationEvaluation", "citizen", patient=patient_id)
    assert other.status_code == 403
    assert issue(other)["code"] == "forbidden"


def test_a_forecast_search_needs_a_patient_and_a_known_schedule(world: World) -> None:
    missing = _search(world, "ImmunizationRecommendation", schedule="vn")
    assert missing.status_code == 400
    assert issue(missing)["diagnostics"] == "search parameter patient: is required"
    unknown = _search(
        world, "ImmunizationRecommendation", patient=world.people["mother"], schedule="mars"
    )
    assert unknown.status_code == 400
    assert issue(unknown)["diagnostics"].startswith("search parameter schedule: unknown")
