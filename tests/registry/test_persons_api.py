"""The registry's JSON API on both databases: register, find, read, record doses, forecast."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text

from immunis.access.models import AuditEvent
from immunis.registry.models import Immunization, Person
from tests.world import World, build_world

BABY = {
    "family_name": "Trần",
    "given_name": "Minh Khôi",
    "birth_date": "2025-03-03",
    "sex": "male",
    "address": {"province_code": "01", "district_code": "001", "commune_code": "00001"},
}


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def _register(world: World, who: str = "vaccinator", **changes: object) -> dict:  # type: ignore[type-arg]
    response = world.client.post(
        "/api/persons", json={**BABY, **changes}, headers=world.headers(who)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_vaccinator_registers_a_baby_and_reads_the_record_back(world: World) -> None:
    baby = _register(world, guardians=[{"guardian_id": world.people["mother"]}])
    assert baby["managing_site_id"] == world.sites["HN-BADINH-01"]
    response = world.client.get(f"/api/persons/{baby['id']}", headers=world.headers("vaccinator"))
    assert response.status_code == 200
    assert response.json()["given_name"] == "Minh Khôi"


def test_search_ignores_diacritics_and_case(world: World) -> None:
    baby = _register(world)
    response = world.client.get(
        "/api/persons", params={"name": "tran minh khoi"}, headers=world.headers("vaccinator")
    )
    assert [p["id"] for p in response.json()] == [baby["id"]]


def test_a_dose_is_recorded_once_however_often_it_is_sent(world: World) -> None:
    baby = _register(world)
    dose = {
        "date_administered": "2025-05-05",
        "cvx": "198",
        "lot_number": "QV123",
        "external_id": {"system": "urn:test:emr", "value": "dose-1"},
    }
    url = f"/api/persons/{baby['id']}/immunizations"
    first = world.client.post(url, json=dose, headers=world.headers("vaccinator"))
    again = world.client.post(url, json=dose, headers=world.headers("vaccinator"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Immunization)) == 1


def test_a_dose_before_birth_is_refused_and_nothing_is_written(world: World) -> None:
    baby = _register(world)
    response = world.client.post(
        f"/api/persons/{baby['id']}/immunizations",
        json={"date_administered": "2025-03-01", "cvx": "08"},
        headers=world.headers("vaccinator"),
    )
    assert response.status_code == 422
    assert "before the birth date" in response.json()["detail"]
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Immunization)) == 0


def test_the_forecast_uses_the_recorded_doses(world: World) -> None:
    baby = _register(world)
    world.client.post(
        f"/api/persons/{baby['id']}/immunizations",
        json={"date_administered": "2025-03-03", "cvx": "08"},
        headers=world.headers("vaccinator"),
    )
    response = world.client.get(
        f"/api/persons/{baby['id']}/forecast",
        params={"date": "2025-04-01", "schedule": "vn"},
        headers=world.headers("vaccinator"),
    )
    assert response.status_code == 200
    groups = {g["vaccine_group"]: g for g in response.json()["vaccine_groups"]}
    assert groups["HepB"]["doses"][0]["status"] == "Valid"
    assert groups["HepB"]["next_dose"]["dose_number"] == 2


def test_a_vaccinator_of_another_province_is_refused_and_the_refusal_is_audited(
    world: World,
) -> None:
    baby = _register(world)
    response = world.client.get(
        f"/api/persons/{baby['id']}", headers=world.headers("vaccinator_hcm")
    )
    assert response.status_code == 403
    with world.sessions() as session:
        refusals = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert [(e.action, e.person_id) for e in refusals] == [("read", baby["id"])]


def test_finding_a_person_by_national_id_lets_the_site_record_their_dose(world: World) -> None:
    mother = world.people["mother"]
    headers = world.headers("vaccinator_hcm")
    assert world.client.get(f"/api/persons/{mother}", headers=headers).status_code == 403
    found = world.client.get(
        "/api/persons", params={"national_id": "001195000123"}, headers=headers
    )
    assert [p["id"] for p in found.json()] == [mother]
    recorded = world.client.post(
        f"/api/persons/{mother}/immunizations",
        json={"date_administered": "2025-06-01", "cvx": "115"},
        headers=headers,
    )
    assert recorded.status_code == 201, recorded.text


def test_every_read_and_write_is_in_the_audit_log(world: World) -> None:
    baby = _register(world)
    world.client.get(f"/api/persons/{baby['id']}", headers=world.headers("vaccinator"))
    with world.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.person_id == baby["id"]).order_by(AuditEvent.id)
        ).all()
    assert [(e.action, e.entity_type, e.outcome) for e in events] == [
        ("create", "person", "allowed"),
        ("read", "person", "allowed"),
    ]


def test_the_audit_log_cannot_be_changed(world: World) -> None:
    _register(world)
    with world.sessions() as session, pytest.raises(Exception, match="append-only"):
        session.execute(text("UPDATE audit_event SET action = 'nothing'"))
    with world.sessions() as session, pytest.raises(Exception, match="append-only"):
        session.execute(text("DELETE FROM audit_event"))


def test_no_token_no_access(world: World) -> None:
    response = world.client.get(f"/api/persons/{world.people['mother']}")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_national_id_cannot_belong_to_two_people(world: World) -> None:
    response = world.client.post(
        "/api/persons",
        json={**BABY, "national_id": "001195000123"},
        headers=world.headers("vaccinator"),
    )
    assert response.status_code == 409
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 1
