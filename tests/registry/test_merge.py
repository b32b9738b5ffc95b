"""Merging a duplicate record into the survivor and undoing it, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from immunis.access.models import AuditEvent
from immunis.errors import Conflict
from immunis.registry import merge
from immunis.registry.models import (
    Guardianship,
    Immunization,
    Person,
    PersonIdentifier,
    PersonMerge,
    PersonObservation,
)
from immunis.registry.names import name_key
from tests.world import World, build_world

BIRTH = date(2025, 3, 3)
# Rows that belong to people; a merge and its undo must leave them exactly as they were.
SNAPSHOT_TABLES = (Person, Immunization, PersonObservation, PersonIdentifier, Guardianship)


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def add_person(session: Session, family: str, given: str, **fields: Any) -> Person:
    fields.setdefault("birth_date", BIRTH)
    person = Person(
        family_name=family, given_name=given, name_key=name_key(family, given), **fields
    )
    session.add(person)
    session.flush()
    return person


def add_dose(session: Session, person: Person, on: date, cvx: str = "08") -> str:
    dose = Immunization(person_id=person.id, date_administered=on, cvx=cvx)
    session.add(dose)
    session.flush()
    return dose.id


def add_guardian(session: Session, guardian: Person, child: Person) -> str:
    link = Guardianship(guardian_id=guardian.id, child_id=child.id)
    session.add(link)
    session.flush()
    return link.id


HANOI = {"province_code": "01", "district_code": "001", "commune_code": "00001"}


@pytest.fixture
def family(world: World) -> dict[str, Any]:
    """Khôi registered twice: at the commune station with a later dose, and at birth (national
    ID, phone, address, the birth dose, an observation). Both have guardians and dependants."""
    ids: dict[str, Any] = {}
    with world.sessions() as session, session.begin():
        survivor = add_person(
            session,
            "Trần",
            "Minh Khôi",
            sex="male",
            managing_site_id=world.sites["HN-BADINH-01"],
            identifiers=[PersonIdentifier(system="urn:test:station", value="S-1")],
        )
        duplicate = add_person(
            session,
            "Tran",
            "Minh Khoi",
            sex="male",
            national_id="001225000042",
            phone="0912000111",
            address_line="12 Phúc Xá",
            **HANOI,
            identifiers=[PersonIdentifier(system="urn:test:hospital", value="D-1")],
        )
        mother = session.get(Person, world.people["mother"])
        assert mother is not None
        grandmother = add_person(session, "Lê", "Thị Bưởi", birth_date=date(1960, 1, 1), **HANOI)
        # Fictional dependants, so that a guardianship "as guardian" moves too.
        own, theirs, shared = (
            add_person(session, "Trần", name, birth_date=date(2025, 3, 4), **HANOI)
            for name in ("Một", "Hai", "Ba")
        )
        ids["survivor_dose"] = add_dose(session, survivor, date(2025, 4, 10))
        ids["birth_dose"] = add_dose(session, duplicate, BIRTH)
        observation = PersonObservation(person_id=duplicate.id, code="999", note="test")
        session.add(observation)
        session.flush()
        ids["observation"] = observation.id
        ids["links"] = {
            "mother of survivor": add_guardian(session, mother, survivor),
            "mother of duplicate": add_guardian(session, mother, duplicate),
            "grandmother of duplicate": add_guardian(session, grandmother, duplicate),
            "survivor of own": add_guardian(session, survivor, own),
            "duplicate of theirs": add_guardian(session, duplicate, theirs),
            "survivor of shared": add_guardian(session, survivor, shared),
            "duplicate of shared": add_guardian(session, duplicate, shared),
        }
        ids.update(
            survivor=survivor.id,
            duplicate=duplicate.id,
            mother=mother.id,
            grandmother=grandmother.id,
            own=own.id,
            theirs=theirs.id,
            shared=shared.id,
        )
    return ids


def snapshot(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the people's tables (updated_at aside: an undo is a change too)."""
    with world.sessions() as session:
        tables = {}
        for model in SNAPSHOT_TABLES:
            columns = [c for c in model.__table__.columns if c.name != "updated_at"]
            rows = session.execute(select(*columns)).all()
            tables[model.__tablename__] = sorted(tuple(row) for row in rows)
    return tables


def merge_via_api(
    world: World, survivor: str, merged: str, who: str = "national_officer"
) -> httpx.Response:
    return world.client.post(
        f"/api/persons/{survivor}/merge",
        json={"merged_id": merged, "reason": "registered twice"},
        headers=world.headers(who),
    )


def test_a_merge_moves_everything_onto_the_survivor(world: World, family: dict[str, Any]) -> None:
    response = merge_via_api(world, family["survivor"], family["duplicate"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reason"] == "registered twice"
    assert body["moved"]["immunizations"] == [family["birth_dose"]]
    assert body["moved"]["observations"] == [family["observation"]]
    with world.sessions() as session:
        survivor = session.get(Person, family["survivor"])
        duplicate = session.get(Person, family["duplicate"])
        assert survivor is not None and duplicate is not None
        doses = session.scalars(
            select(Immunization.id).where(Immunization.person_id == survivor.id)
        )
        assert set(doses) == {family["survivor_dose"], family["birth_dose"]}
        observations = session.scalars(select(PersonObservation.person_id))
        assert list(observations) == [survivor.id]
        assert {(i.system, i.value) for i in survivor.identifiers} == {
            ("urn:test:station", "S-1"),
            ("urn:test:hospital", "D-1"),
        }
        links = session.execute(select(Guardianship.guardian_id, Guardianship.child_id)).all()
        assert sorted(links) == sorted(
            [
                (family["mother"], survivor.id),
                (family["grandmother"], survivor.id),
                (survivor.id, family["own"]),
                (survivor.id, family["theirs"]),
                (survivor.id, family["shared"]),
            ]
        )
        # The survivor had no national ID, phone or address: it takes the duplicate's.
        assert (survivor.national_id, survivor.phone, survivor.address_line) == (
            "001225000042",
            "0912000111",
            "12 Phúc Xá",
        )
        assert (survivor.province_code, survivor.commune_code) == ("01", "00001")
        assert (duplicate.active, duplicate.merged_into_id, duplicate.national_id) == (
            False,
            survivor.id,
            None,
        )
        events = session.scalars(
            select(AuditEvent.person_id).where(AuditEvent.action == "merge")
        ).all()
        assert set(events) == {survivor.id, duplicate.id} and len(events) == 2


def test_the_survivors_forecast_counts_the_moved_doses(
    world: World, family: dict[str, Any]
) -> None:
    def hepb() -> dict[str, Any]:
        response = world.client.get(
            f"/api/persons/{family['survivor']}/forecast",
            params={"date": "2025-06-01", "schedule": "vn"},
            headers=world.headers("national_officer"),
        )
        assert response.status_code == 200, response.text
        groups = {g["vaccine_group"]: g for g in response.json()["vaccine_groups"]}
        return groups["HepB"]

    assert [d["date"] for d in hepb()["doses"]] == ["2025-04-10"]
    assert merge_via_api(world, family["survivor"], family["duplicate"]).status_code == 201
    after = hepb()
    assert [d["date"] for d in after["doses"]] == ["2025-03-03", "2025-04-10"]
    assert after["next_dose"]["dose_number"] == 3


def test_a_merged_record_can_still_be_read_and_points_at_the_survivor(
    world: World, family: dict[str, Any]
) -> None:
    merge_via_api(world, family["survivor"], family["duplicate"])
    response = world.client.get(
        f"/api/persons/{family['duplicate']}", headers=world.headers("province_officer")
    )
    assert response.status_code == 200
    assert (response.json()["active"], response.json()["merged_into_id"]) == (
        False,
        family["survivor"],
    )


def test_undo_puts_every_row_back_exactly(world: World, family: dict[str, Any]) -> None:
    before = snapshot(world)
    merged = merge_via_api(world, family["survivor"], family["duplicate"]).json()
    assert snapshot(world) != before
    undone = world.client.post(
        f"/api/merges/{merged['id']}/undo", headers=world.headers("national_officer")
    )
    assert undone.status_code == 200, undone.text
    assert undone.json()["undone_by"] is not None
    assert snapshot(world) == before
    again = world.client.post(
        f"/api/merges/{merged['id']}/undo", headers=world.headers("national_officer")
    )
    assert again.status_code == 409
    with world.sessions() as session:
        events = session.scalars(
            select(AuditEvent.person_id).where(AuditEvent.action == "unmerge")
        ).all()
    assert set(events) == {family["survivor"], family["duplicate"]} and len(events) == 2


def test_undo_keeps_what_changed_on_the_survivor_since(
    world: World, family: dict[str, Any]
) -> None:
    merged = merge_via_api(world, family["survivor"], family["duplicate"]).json()
    with world.sessions() as session, session.begin():
        survivor = session.get(Person, family["survivor"])
        assert survivor is not None
        survivor.phone = "0977000222"
    world.client.post(f"/api/merges/{merged['id']}/undo", headers=world.headers("national_officer"))
    with world.sessions() as session:
        survivor = session.get(Person, family["survivor"])
        duplicate = session.get(Person, family["duplicate"])
        assert survivor is not None and duplicate is not None
        assert (survivor.phone, duplicate.phone) == ("0977000222", "0912000111")
        # The rest of what the merge filled in goes back.
        assert (survivor.national_id, survivor.address_line) == (None, None)
        assert duplicate.national_id == "001225000042"


def test_a_merge_of_the_survivor_must_be_undone_first(world: World, family: dict[str, Any]) -> None:
    with world.sessions() as session, session.begin():
        third = add_person(session, "Trần", "Minh Khôi", sex="male", **HANOI).id
    before = snapshot(world)
    first = merge_via_api(world, family["survivor"], family["duplicate"]).json()
    second = merge_via_api(world, third, family["survivor"]).json()
    undo = "/api/merges/{}/undo"
    headers = world.headers("national_officer")
    assert world.client.post(undo.format(first["id"]), headers=headers).status_code == 409
    assert world.client.post(undo.format(second["id"]), headers=headers).status_code == 200
    assert world.client.post(undo.format(first["id"]), headers=headers).status_code == 200
    assert snapshot(world) == before


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("into themselves", "themselves"),
        ("into an inactive person", "inactive"),
        ("an inactive person", "already merged"),
        ("different national IDs", "different national IDs"),
    ],
)
def test_merges_that_make_no_sense_are_refused_and_change_nothing(
    world: World, family: dict[str, Any], case: str, message: str
) -> None:
    with world.sessions() as session, session.begin():
        gone = add_person(session, "Trần", "Minh Khôi", active=False, **HANOI)
        gone.merged_into_id = family["survivor"]
        other = add_person(session, "Tran", "Minh Khoi", national_id="001225000099", **HANOI)
    survivor, merged = {
        "into themselves": (family["survivor"], family["survivor"]),
        "into an inactive person": (gone.id, family["duplicate"]),
        "an inactive person": (family["survivor"], gone.id),
        "different national IDs": (family["duplicate"], other.id),
    }[case]
    before = snapshot(world)
    response = merge_via_api(world, survivor, merged)
    assert response.status_code == 409
    assert message in response.json()["detail"]
    assert snapshot(world) == before


@pytest.mark.parametrize("who", ["vaccinator", "province_officer_hcm", "citizen", "admin"])
def test_only_officers_of_the_area_may_merge(
    world: World, family: dict[str, Any], who: str
) -> None:
    before = snapshot(world)
    response = merge_via_api(world, family["mother"], family["duplicate"], who=who)
    assert response.status_code == 403
    assert snapshot(world) == before
    with world.sessions() as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert [e.action for e in denied] == ["merge"]


def test_an_officer_of_the_area_may_merge_and_undo(world: World) -> None:
    with world.sessions() as session, session.begin():
        first, second = (add_person(session, "Lê", "Văn Tám", **HANOI).id for _ in range(2))
    merged = merge_via_api(world, first, second, who="district_officer")
    assert merged.status_code == 201, merged.text
    undone = world.client.post(
        f"/api/merges/{merged.json()['id']}/undo", headers=world.headers("province_officer")
    )
    assert undone.status_code == 200


def test_a_merge_that_fails_midway_changes_nothing(
    world: World, family: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: object) -> None:
        raise Conflict("the disk is full")

    before = snapshot(world)
    # Doses, observations, identifiers and guardianships have moved when the fields are filled.
    monkeypatch.setattr(merge, "_fill_in", fail)
    response = merge_via_api(world, family["survivor"], family["duplicate"])
    assert response.status_code == 409
    assert snapshot(world) == before
    with world.sessions() as session:
        assert session.scalars(select(PersonMerge)).all() == []
