"""Patient over FHIR, on both databases: create, read, update, search, conditional create, RBAC."""

from __future__ import annotations

from sqlalchemy import select

from immunis.access.models import AuditEvent
from tests.interop.fhir.helpers import (
    EXT,
    NATIONAL_ID,
    baby,
    counts,
    created,
    issue,
    send,
    valid_r4,
)
from tests.world import World

CONDITION = f"identifier={NATIONAL_ID}|001225000777"


def test_a_patient_created_over_fhir_reads_back_with_everything_it_was_sent(world: World) -> None:
    mother = world.people["mother"]
    guardian = {
        "url": f"{EXT}/guardian",
        "extension": [
            {"url": "patient", "valueReference": {"reference": f"Patient/{mother}"}},
            {
                "url": "relationship",
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                            "code": "MTH",
                        }
                    ]
                },
            },
        ],
    }
    response = send(world, "POST", "/fhir/Patient", "vaccinator", baby(extension=[guardian]))
    assert response.status_code == 201, response.text
    patient = valid_r4(response.json())
    assert response.headers["location"] == f"http://testserver/fhir/Patient/{patient['id']}"

    read = send(world, "GET", f"/fhir/Patient/{patient['id']}", "vaccinator")
    assert read.status_code == 200
    assert read.headers["content-type"].startswith("application/fhir+json")
    back = valid_r4(read.json())
    assert back["identifier"] == [
        {"use": "official", "system": NATIONAL_ID, "value": "001225000777"}
    ]
    assert back["name"][0]["family"] == "Trần"
    assert back["name"][0]["given"] == ["Minh", "Khôi"]
    assert (back["gender"], back["birthDate"]) == ("male", "2025-03-03")
    assert back["telecom"] == [{"system": "phone", "value": "0912345678"}]
    address = back["address"][0]
    assert address["line"] == ["12 Phó Đức Chính"]
    assert {e["url"].rsplit("/", 1)[1]: e["valueCode"] for e in address["extension"]} == {
        "vn-province-code": "01",
        "vn-district-code": "001",
        "vn-commune-code": "00001",
    }
    extensions = {e["url"].rsplit("/", 1)[1]: e for e in back["extension"]}
    assert extensions["managing-site"]["valueReference"] == {
        "reference": f"Location/{world.sites['HN-BADINH-01']}"
    }
    parts = {p["url"]: p for p in extensions["guardian"]["extension"]}
    assert parts["patient"]["valueReference"] == {"reference": f"Patient/{mother}"}
    assert parts["relationship"]["valueCodeableConcept"]["text"] == "mother"


def test_an_update_replaces_the_patient_and_keeps_the_same_id(world: World) -> None:
    patient = created(world, "/fhir/Patient", baby())
    changed = baby(
        id=patient["id"],
        name=[{"use": "official", "family": "Trần", "given": ["Minh", "Khang"]}],
        telecom=[{"system": "phone", "value": "+84912000111"}],
        identifier=[
            {"system": NATIONAL_ID, "value": "001225000777"},
            {"system": "urn:vn:bhyt", "value": "TE1010123456789"},
        ],
    )
    response = send(world, "PUT", f"/fhir/Patient/{patient['id']}", "vaccinator", changed)
    assert response.status_code == 200, response.text
    read = send(world, "GET", f"/fhir/Patient/{patient['id']}", "vaccinator").json()
    assert read["name"][0]["given"] == ["Minh", "Khang"]
    assert read["telecom"][0]["value"] == "+84912000111"
    assert {"system": "urn:vn:bhyt", "value": "TE1010123456789"} in read["identifier"]
    assert counts(world) == (2, 0)


def test_an_update_must_name_the_patient_it_replaces(world: World) -> None:
    patient = created(world, "/fhir/Patient", baby())
    response = send(
        world, "PUT", f"/fhir/Patient/{patient['id']}", "vaccinator", baby(id="someone-else")
    )
    assert response.status_code == 400
    assert issue(response)["diagnostics"].startswith("Patient.id: must be")


def test_updating_a_patient_that_does_not_exist_is_not_found(world: World) -> None:
    response = send(world, "PUT", "/fhir/Patient/nobody", "vaccinator", baby(id="nobody"))
    assert response.status_code == 404
    assert issue(response)["code"] == "not-found"
    assert counts(world) == (1, 0)


def test_patients_are_found_by_each_search_parameter(world: World) -> None:
    patient = created(world, "/fhir/Patient", baby())
    for query in (
        {"identifier": f"{NATIONAL_ID}|001225000777"},
        {"name": "tran minh khoi"},
        {"family": "Trần", "given": "Khôi"},
        {"birthdate": "2025-03-03"},
        {"birthdate": "eq2025-03-03"},
        {"phone": "0912345678"},
    ):
        response = world.client.get(
            "/fhir/Patient", params=query, headers=world.headers("vaccinator")
        )
        assert response.status_code == 200, (query, response.text)
        bundle = valid_r4(response.json())
        assert (bundle["type"], bundle["total"]) == ("searchset", 1), query
        assert bundle["entry"][0]["fullUrl"] == f"http://testserver/fhir/Patient/{patient['id']}"
        assert bundle["entry"][0]["resource"]["id"] == patient["id"]


def test_a_search_that_matches_nobody_is_an_empty_bundle(world: World) -> None:
    created(world, "/fhir/Patient", baby())
    response = world.client.get(
        "/fhir/Patient", params={"family": "Lê"}, headers=world.headers("vaccinator")
    )
    assert response.status_code == 200
    assert response.json()["total"] == 0
    assert response.json()["entry"] == []


def test_a_search_finding_more_than_count_says_so_instead_of_a_total(world: World) -> None:
    for number in ("001225000001", "001225000002"):
        created(world, "/fhir/Patient", baby(identifier=[{"system": NATIONAL_ID, "value": number}]))
    response = world.client.get(
        "/fhir/Patient",
        params={"birthdate": "2025-03-03", "_count": "1"},
        headers=world.headers("vaccinator"),
    )
    bundle = valid_r4(response.json())
    assert "total" not in bundle
    assert [e["search"]["mode"] for e in bundle["entry"]] == ["match", "outcome"]


def test_conditional_create_sent_twice_makes_one_patient(world: World) -> None:
    first = send(
        world, "POST", "/fhir/Patient", "vaccinator", baby(), **{"If-None-Exist": CONDITION}
    )
    again = send(
        world, "POST", "/fhir/Patient", "vaccinator", baby(), **{"If-None-Exist": CONDITION}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert counts(world) == (2, 0)


def test_conditional_create_matching_several_patients_is_refused_and_writes_nothing(
    world: World,
) -> None:
    for number in ("001225000001", "001225000002"):
        created(world, "/fhir/Patient", baby(identifier=[{"system": NATIONAL_ID, "value": number}]))
    response = send(
        world,
        "POST",
        "/fhir/Patient",
        "vaccinator",
        baby(identifier=[{"system": NATIONAL_ID, "value": "001225000003"}]),
        **{"If-None-Exist": "birthdate=2025-03-03&family=Tr%E1%BA%A7n"},
    )
    assert response.status_code == 412
    assert issue(response)["code"] == "multiple-matches"
    assert counts(world) == (3, 0)


def test_a_vaccinator_of_another_province_is_refused_with_an_audited_outcome(world: World) -> None:
    patient = created(world, "/fhir/Patient", baby())
    response = send(world, "GET", f"/fhir/Patient/{patient['id']}", "vaccinator_hcm")
    assert response.status_code == 403
    assert issue(response)["code"] == "forbidden"
    with world.sessions() as session:
        refusals = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert [(e.action, e.person_id, e.channel) for e in refusals] == [
        ("read", patient["id"], "fhir")
    ]


def test_a_citizen_cannot_register_people(world: World) -> None:
    response = send(world, "POST", "/fhir/Patient", "citizen", baby())
    assert response.status_code == 403
    assert issue(response)["code"] == "forbidden"
    assert counts(world) == (1, 0)


def test_reads_over_fhir_are_in_the_audit_log(world: World) -> None:
    patient = created(world, "/fhir/Patient", baby())
    send(world, "GET", f"/fhir/Patient/{patient['id']}", "vaccinator")
    with world.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.person_id == patient["id"]).order_by(AuditEvent.id)
        ).all()
    assert [(e.action, e.entity_type, e.channel) for e in events] == [
        ("create", "person", "fhir"),
        ("read", "person", "fhir"),
    ]


def test_without_a_token_the_answer_is_an_operation_outcome(world: World) -> None:
    response = world.client.get(f"/fhir/Patient/{world.people['mother']}")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert issue(response)["code"] == "security"
