"""Immunization over FHIR, on both databases: record, read, correct, search, send again."""

from __future__ import annotations

from sqlalchemy import select

from immunis.access.models import AuditEvent
from tests.interop.fhir.helpers import baby, counts, created, dose, issue, send, valid_r4
from tests.world import World


def _patient(world: World) -> str:
    return str(created(world, "/fhir/Patient", baby())["id"])


def test_a_dose_recorded_over_fhir_reads_back_with_everything_it_was_sent(world: World) -> None:
    patient_id = _patient(world)
    performer = [{"actor": {"display": "Nguyễn Thị Hoa"}}]
    manufacturer = {"identifier": {"system": "http://hl7.org/fhir/sid/mvx", "value": "SKB"}}
    sent = dose(patient_id, performer=performer, manufacturer=manufacturer)
    response = send(world, "POST", "/fhir/Immunization", "vaccinator", sent)
    assert response.status_code == 201, response.text
    recorded = valid_r4(response.json())
    assert response.headers["location"].endswith(f"/fhir/Immunization/{recorded['id']}")

    back = valid_r4(send(world, "GET", f"/fhir/Immunization/{recorded['id']}", "vaccinator").json())
    assert back["status"] == "completed"
    assert back["vaccineCode"] == sent["vaccineCode"]
    assert back["patient"] == {"reference": f"Patient/{patient_id}"}
    assert back["occurrenceDateTime"] == "2025-03-03"
    assert back["primarySource"] is True
    assert (back["lotNumber"], back["expirationDate"]) == ("HB2503", "2026-12-31")
    assert back["doseQuantity"]["value"] == 0.5
    assert back["doseQuantity"]["code"] == "mL"
    assert back["identifier"] == sent["identifier"]
    assert back["performer"] == performer
    assert back["manufacturer"] == manufacturer
    # Given here: the dose is at the vaccinator's site.
    assert back["location"] == {"reference": f"Location/{world.sites['HN-BADINH-01']}"}


def test_a_dose_reported_from_elsewhere_is_historical_and_has_no_site(world: World) -> None:
    patient_id = _patient(world)
    recorded = created(
        world, "/fhir/Immunization", dose(patient_id, primarySource=False, identifier=[])
    )
    assert recorded["primarySource"] is False
    assert "location" not in recorded


def test_the_same_dose_sent_twice_is_recorded_once(world: World) -> None:
    patient_id = _patient(world)
    first = send(world, "POST", "/fhir/Immunization", "vaccinator", dose(patient_id))
    again = send(world, "POST", "/fhir/Immunization", "vaccinator", dose(patient_id))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert counts(world) == (2, 1)


def test_conditional_create_on_the_dose_identifier_is_idempotent(world: World) -> None:
    patient_id = _patient(world)
    condition = {"If-None-Exist": "identifier=urn:test:emr|dose-1"}
    first = send(world, "POST", "/fhir/Immunization", "vaccinator", dose(patient_id), **condition)
    again = send(world, "POST", "/fhir/Immunization", "vaccinator", dose(patient_id), **condition)
    assert (first.status_code, again.status_code) == (201, 200)
    assert counts(world) == (2, 1)


def test_conditional_create_on_another_identifier_is_not_supported(world: World) -> None:
    patient_id = _patient(world)
    response = send(
        world,
        "POST",
        "/fhir/Immunization",
        "vaccinator",
        dose(patient_id),
        **{"If-None-Exist": "identifier=urn:test:emr|dose-2"},
    )
    assert response.status_code == 400
    assert issue(response)["code"] == "not-supported"
    assert counts(world) == (2, 0)


def test_a_dose_is_corrected_with_put_and_can_be_marked_entered_in_error(world: World) -> None:
    patient_id = _patient(world)
    recorded = created(world, "/fhir/Immunization", dose(patient_id))
    corrected = dose(patient_id, id=recorded["id"], lotNumber="HB2503-B")
    response = send(world, "PUT", f"/fhir/Immunization/{recorded['id']}", "vaccinator", corrected)
    assert response.status_code == 200, response.text
    assert response.json()["lotNumber"] == "HB2503-B"
    voided = dose(patient_id, id=recorded["id"], status="entered-in-error")
    response = send(world, "PUT", f"/fhir/Immunization/{recorded['id']}", "vaccinator", voided)
    assert response.json()["status"] == "entered-in-error"
    read = send(world, "GET", f"/fhir/Immunization/{recorded['id']}", "vaccinator").json()
    assert (read["status"], read["lotNumber"]) == ("entered-in-error", "HB2503")
    assert counts(world) == (2, 1)


def test_a_dose_cannot_be_moved_to_another_patient(world: World) -> None:
    patient_id = _patient(world)
    recorded = created(world, "/fhir/Immunization", dose(patient_id))
    moved = dose(world.people["mother"], id=recorded["id"])
    response = send(world, "PUT", f"/fhir/Immunization/{recorded['id']}", "vaccinator", moved)
    assert response.status_code == 422
    read = send(world, "GET", f"/fhir/Immunization/{recorded['id']}", "vaccinator").json()
    assert read["patient"] == {"reference": f"Patient/{patient_id}"}


def test_a_patients_doses_are_found_by_patient(world: World) -> None:
    patient_id = _patient(world)
    created(world, "/fhir/Immunization", dose(patient_id))
    second = dose(
        patient_id,
        identifier=[{"system": "urn:test:emr", "value": "dose-2"}],
        occurrenceDateTime="2025-05-05T09:30:00+07:00",
        vaccineCode={"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "198"}]},
    )
    created(world, "/fhir/Immunization", second)
    for patient in (patient_id, f"Patient/{patient_id}"):
        response = world.client.get(
            "/fhir/Immunization", params={"patient": patient}, headers=world.headers("vaccinator")
        )
        bundle = valid_r4(response.json())
        assert bundle["total"] == 2
        assert [e["resource"]["occurrenceDateTime"] for e in bundle["entry"]] == [
            "2025-03-03",
            "2025-05-05",
        ]


def test_a_vaccinator_of_another_province_cannot_record_or_read_doses(world: World) -> None:
    patient_id = _patient(world)
    recorded = created(world, "/fhir/Immunization", dose(patient_id))
    refused = send(
        world,
        "POST",
        "/fhir/Immunization",
        "vaccinator_hcm",
        dose(patient_id, identifier=[{"system": "urn:test:emr", "value": "dose-2"}]),
    )
    assert refused.status_code == 403
    assert issue(refused)["code"] == "forbidden"
    read = send(world, "GET", f"/fhir/Immunization/{recorded['id']}", "vaccinator_hcm")
    assert read.status_code == 403
    listed = world.client.get(
        "/fhir/Immunization",
        params={"patient": patient_id},
        headers=world.headers("vaccinator_hcm"),
    )
    assert listed.status_code == 403
    assert counts(world) == (2, 1)
    with world.sessions() as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert len(denied) == 3
