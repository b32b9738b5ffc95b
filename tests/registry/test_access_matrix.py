"""Every role against every endpoint that reads or writes a person's record, through the JSON API
and FHIR, on both databases: who is let in, who is refused (403), and every refusal audited.

The record is the mother's in tests/world.py: managed by the Ba Đình station (Hà Nội, district
001). Her own citizen account, that station's vaccinator, the district and province officers of
her area, national officers and safety officers may read it; only the station may change it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from immunis.access.models import AuditEvent
from tests.world import World, build_world

ROLES = (
    "citizen",
    "vaccinator",
    "vaccinator_hcm",
    "integration",
    "district_officer",
    "province_officer",
    "province_officer_hcm",
    "national_officer",
    "lab",
    "safety_officer",
    "admin",
)
READERS = {
    "citizen",
    "vaccinator",
    "district_officer",
    "province_officer",
    "national_officer",
    "safety_officer",
}
WRITERS = {"vaccinator"}
CREATORS = {"vaccinator", "vaccinator_hcm", "integration"}
SEARCHERS = {
    "vaccinator",
    "vaccinator_hcm",
    "integration",
    "district_officer",
    "province_officer",
    "province_officer_hcm",
    "national_officer",
    "safety_officer",
}

NEW_PERSON = {"family_name": "Lê", "given_name": "Văn Tám", "birth_date": "2024-01-02"}
MOTHER_UPDATE = {
    "family_name": "Nguyễn",
    "given_name": "Thị Lan",
    "birth_date": "1995-04-02",
    "sex": "female",
    "national_id": "001195000123",
    "phone": "0912345678",
    "address": {"province_code": "01", "district_code": "001", "commune_code": "00001"},
}
DOSE = {"date_administered": "2024-06-01", "cvx": "115", "source": "historical"}

# (method, path, body, the roles let in)
ENDPOINTS = [
    ("GET", "/api/persons/{mother}", None, READERS),
    ("GET", "/api/persons/{mother}/immunizations", None, READERS),
    ("GET", "/api/persons/{mother}/forecast?schedule=vn&date=2025-01-01", None, READERS),
    ("PUT", "/api/persons/{mother}", MOTHER_UPDATE, WRITERS),
    ("POST", "/api/persons/{mother}/immunizations", DOSE, WRITERS),
    ("POST", "/api/persons/{mother}/observations", {"code": "023"}, WRITERS),
    ("POST", "/api/persons", NEW_PERSON, CREATORS),
    ("GET", "/api/persons?name=nguyen", None, SEARCHERS),
    ("GET", "/fhir/Patient/{mother}", None, READERS),
    ("GET", "/fhir/Immunization?patient={mother}", None, READERS),
    ("GET", "/fhir/ImmunizationRecommendation?patient={mother}", None, READERS),
    ("GET", "/fhir/ImmunizationEvaluation?patient={mother}", None, READERS),
    ("PUT", "/fhir/Patient/{mother}", "fhir-patient", WRITERS),
]


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"), ENDPOINTS, ids=lambda v: str(v)[:40]
)
def test_each_role_is_let_in_or_refused_as_the_rules_say(
    world: World,
    method: str,
    path: str,
    body: dict | None,
    allowed: set[str],  # type: ignore[type-arg]
) -> None:
    url = path.format(mother=world.people["mother"])
    if body == "fhir-patient":
        body = {
            "resourceType": "Patient",
            "id": world.people["mother"],
            "name": [{"family": "Nguyễn", "given": ["Thị Lan"]}],
            "gender": "female",
            "birthDate": "1995-04-02",
        }
    outcomes = {}
    for role in ROLES:
        response = world.client.request(method, url, json=body, headers=world.headers(role))
        assert response.status_code < 500, (role, response.text)
        outcomes[role] = response.status_code
    let_in = {role for role, status in outcomes.items() if status not in (401, 403)}
    assert let_in == allowed, outcomes
    # Every refusal is in the audit log, one refused user per refused role.
    with world.sessions() as session:
        refused = {
            e.user_id
            for e in session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied"))
        }
    assert len(refused) == len(set(ROLES) - allowed)
