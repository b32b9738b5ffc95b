"""AEFI reports on both databases: who may report for whom, the safety officer's review,
aggregates for programme officers, duplicates, and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from immunis.access.models import AuditEvent
from immunis.safety.models import AefiReport
from tests.world import World, build_world

HANOI_BABY = {
    "family_name": "Trần",
    "given_name": "Minh Khôi",
    "birth_date": "2025-03-03",
    "sex": "male",
    "address": {"province_code": "01", "district_code": "001", "commune_code": "00001"},
}
SAIGON_BABY = {
    "family_name": "Lê",
    "given_name": "Bảo Anh",
    "birth_date": "2025-02-10",
    "sex": "female",
    "address": {"province_code": "79", "district_code": "760", "commune_code": "26734"},
}


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def _post(world: World, who: str, url: str, body: dict[str, Any], expect: int = 200) -> Any:
    response = world.client.post(url, json=body, headers=world.headers(who))
    assert response.status_code == expect, response.text
    return response.json()


def _child_with_dose(
    world: World, who: str, person: dict[str, Any], cvx: str = "198", lot: str = "PV1"
) -> tuple[str, str]:
    """A child registered and given a dose by the vaccinator `who`: (person id, dose id)."""
    child = _post(world, who, "/api/persons", person, expect=201)
    dose = _post(
        world,
        who,
        f"/api/persons/{child['id']}/immunizations",
        {"date_administered": "2025-05-05", "cvx": cvx, "lot_number": lot},
        expect=201,
    )
    return child["id"], dose["id"]


def _report(person_id: str, dose_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "doses": [{"immunization_id": dose_id, "time_administered": "09:30:00"}],
        "onset_date": "2025-05-06",
        "onset_time": "02:00:00",
        "events": [{"code": "FSEIZ"}, {"code": "FEVER"}],
        "description": "Generalized seizure with 39.5 °C fever the night after the dose.",
        "treatment": "Paracetamol; observed overnight at the district hospital.",
        "seriousness": ["hospitalization"],
        "outcome": "recovered",
        "reporter_designation": "mother",
        **changes,
    }


@pytest.fixture
def own_child(world: World) -> tuple[str, str]:
    guarded = {**HANOI_BABY, "guardians": [{"guardian_id": world.people["mother"]}]}
    return _child_with_dose(world, "vaccinator", guarded)


@pytest.fixture
def stranger(world: World) -> tuple[str, str]:
    return _child_with_dose(world, "vaccinator_hcm", SAIGON_BABY, cvx="5", lot="MV9")


def test_a_parent_reports_a_reaction_after_their_childs_dose(
    world: World, own_child: tuple[str, str]
) -> None:
    child, dose = own_child
    report = _post(world, "citizen", "/api/aefi", _report(child, dose), expect=201)
    assert report["status"] == "received"
    assert report["serious"] is True
    assert [e["code"] for e in report["events"]] == ["FEVER", "FSEIZ"]
    [suspected] = report["doses"]
    assert (suspected["immunization_id"], suspected["cvx"], suspected["lot_number"]) == (
        dose,
        "198",
        "PV1",
    )
    assert suspected["days_to_onset"] == 1
    assert report["age_at_onset_days"] == 64
    assert (report["province_code"], report["district_code"]) == ("01", "001")
    with world.sessions() as session:
        created = session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "aefi_report", AuditEvent.action == "create"
            )
        ).one()
    assert (created.person_id, created.outcome) == (child, "allowed")


def test_a_parent_cannot_report_for_a_stranger_and_the_attempt_is_audited(
    world: World, stranger: tuple[str, str]
) -> None:
    child, dose = stranger
    response = world.client.post(
        "/api/aefi", json=_report(child, dose), headers=world.headers("citizen")
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    with world.sessions() as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
        assert session.scalar(select(func.count()).select_from(AefiReport)) == 0
    assert [(e.action, e.entity_type, e.person_id) for e in denied] == [
        ("report_aefi", "aefi_report", child)
    ]


def test_vaccinators_report_for_the_people_of_their_site_only(
    world: World, own_child: tuple[str, str]
) -> None:
    child, dose = own_child
    _post(world, "vaccinator", "/api/aefi", _report(child, dose), expect=201)
    response = world.client.post(
        "/api/aefi", json=_report(child, dose), headers=world.headers("vaccinator_hcm")
    )
    assert response.status_code == 403


@pytest.mark.parametrize("who", ["lab", "district_officer", "admin"])
def test_roles_outside_care_and_safety_do_not_report(
    world: World, own_child: tuple[str, str], who: str
) -> None:
    child, dose = own_child
    response = world.client.post("/api/aefi", json=_report(child, dose), headers=world.headers(who))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"events": [{"code": "NOSUCH"}]}, "unknown AEFI term"),
        ({"events": [{"code": "OTHER"}]}, "needs its text"),
        ({"onset_date": "2025-05-01"}, "before dose"),
        ({"onset_date": "2099-01-01"}, "in the future"),
        ({"seriousness": ["boredom"]}, "seriousness"),
        ({"death_date": "2025-05-07"}, "death date"),
        ({"events": []}, "events"),
        ({"doses": [{"immunization_id": "no-such-dose"}]}, "no immunization"),
    ],
)
def test_bad_reports_are_refused_with_a_problem_document(
    world: World, own_child: tuple[str, str], changes: dict[str, Any], complaint: str
) -> None:
    child, dose = own_child
    response = world.client.post(
        "/api/aefi", json=_report(child, dose, **changes), headers=world.headers("citizen")
    )
    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert complaint in response.json()["detail"]
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AefiReport)) == 0


def test_a_dose_of_someone_else_cannot_be_named_in_a_report(
    world: World, own_child: tuple[str, str]
) -> None:
    child, _ = own_child
    sibling = _post(world, "vaccinator", "/api/persons", {**HANOI_BABY, "given_name": "Em"}, 201)
    sibling_dose = _post(
        world,
        "vaccinator",
        f"/api/persons/{sibling['id']}/immunizations",
        {"date_administered": "2025-05-05", "cvx": "198"},
        expect=201,
    )
    response = world.client.post(
        "/api/aefi", json=_report(child, sibling_dose["id"]), headers=world.headers("vaccinator")
    )
    assert response.status_code == 422
    assert "is not a dose of person" in response.json()["detail"]


def test_the_safety_officer_investigates_classifies_and_closes(
    world: World, own_child: tuple[str, str]
) -> None:
    child, dose = own_child
    report = _post(world, "citizen", "/api/aefi", _report(child, dose), expect=201)
    url = f"/api/aefi/{report['id']}"

    queue = world.client.get("/api/aefi", headers=world.headers("safety_officer")).json()
    assert [(q["id"], q["serious"], q["vaccines"]) for q in queue] == [
        (report["id"], True, ["198"])
    ]

    closing_early = world.client.post(
        f"{url}/close", json={}, headers=world.headers("safety_officer")
    )
    assert closing_early.status_code == 409

    investigating = _post(
        world, "safety_officer", f"{url}/investigation", {"findings": "Cold chain log normal."}
    )
    assert investigating["status"] == "under_investigation"
    _post(
        world, "citizen", f"{url}/follow-ups", {"text": "Well again today.", "outcome": "recovered"}
    )
    classified = _post(
        world,
        "safety_officer",
        f"{url}/causality",
        {
            "category": "A1",
            "rationale": "Febrile seizure a day after whole-cell pertussis vaccine.",
        },
    )
    assert classified["status"] == "causality_assessed"
    assert classified["causality"]["category"] == "A1"
    assert classified["causality"]["meaning"] == "vaccine product-related reaction"
    assert [n["kind"] for n in classified["notes"]] == ["investigation", "follow_up"]
    closed = _post(world, "safety_officer", f"{url}/close", {"note": "Parents counselled."})
    assert closed["status"] == "closed"
    late = world.client.post(
        f"{url}/follow-ups", json={"text": "again"}, headers=world.headers("citizen")
    )
    assert late.status_code == 409


@pytest.mark.parametrize("who", ["citizen", "vaccinator", "district_officer", "lab"])
def test_only_safety_officers_classify(world: World, own_child: tuple[str, str], who: str) -> None:
    child, dose = own_child
    report = _post(world, "citizen", "/api/aefi", _report(child, dose), expect=201)
    response = world.client.post(
        f"/api/aefi/{report['id']}/causality",
        json={"category": "C", "rationale": "coincidental"},
        headers=world.headers(who),
    )
    assert response.status_code == 403


def test_an_unknown_causality_category_is_refused(world: World, own_child: tuple[str, str]) -> None:
    child, dose = own_child
    report = _post(world, "citizen", "/api/aefi", _report(child, dose), expect=201)
    response = world.client.post(
        f"/api/aefi/{report['id']}/causality",
        json={"category": "E", "rationale": "?"},
        headers=world.headers("safety_officer"),
    )
    assert response.status_code == 422


def test_officers_see_aggregates_of_their_area_only(
    world: World, own_child: tuple[str, str], stranger: tuple[str, str]
) -> None:
    child, dose = own_child
    report = _post(world, "vaccinator", "/api/aefi", _report(child, dose), expect=201)
    other, other_dose = stranger
    _post(
        world,
        "vaccinator_hcm",
        "/api/aefi",
        _report(other, other_dose, events=[{"code": "ANAPH"}], onset_date="2025-05-05"),
        expect=201,
    )

    district = world.client.get("/api/aefi/aggregates", headers=world.headers("district_officer"))
    assert district.status_code == 200
    assert district.json()["area_code"] == "001"
    assert (district.json()["reports"], district.json()["by_event"]) == (
        1,
        {"FEVER": 1, "FSEIZ": 1},
    )
    saigon = world.client.get(
        "/api/aefi/aggregates", headers=world.headers("province_officer_hcm")
    ).json()
    assert (saigon["reports"], saigon["by_vaccine"]) == (1, {"5": 1})
    national = world.client.get(
        "/api/aefi/aggregates", headers=world.headers("national_officer")
    ).json()
    assert national["reports"] == 2

    elsewhere = world.client.get(
        "/api/aefi/aggregates", params={"area": "79"}, headers=world.headers("district_officer")
    )
    assert elsewhere.status_code == 403
    for who in ("district_officer", "national_officer"):
        detail = world.client.get(f"/api/aefi/{report['id']}", headers=world.headers(who))
        assert detail.status_code == 403
    assert (
        world.client.get("/api/aefi", headers=world.headers("district_officer")).status_code == 403
    )


def test_a_second_report_of_the_same_reaction_is_flagged_and_can_be_merged(
    world: World, own_child: tuple[str, str]
) -> None:
    child, dose = own_child
    first = _post(world, "citizen", "/api/aefi", _report(child, dose), expect=201)
    second = _post(
        world,
        "vaccinator",
        "/api/aefi",
        _report(
            child,
            dose,
            onset_date="2025-05-07",
            events=[{"code": "FSEIZ"}, {"code": "HHE"}],
            seriousness=["life_threatening"],
        ),
        expect=201,
    )
    [link] = second["links"]
    assert link["other_report_id"] == first["id"]
    assert link["state"] == "suspected"
    # One of three terms shared, onsets a day apart, the same dose.
    assert link["score"] == pytest.approx(0.4 / 3 + 0.3 * (1 - 1 / 8) + 0.3, abs=1e-3)
    assert "same dose" in link["reasons"]
    queue = world.client.get("/api/aefi", headers=world.headers("safety_officer")).json()
    assert {q["id"]: q["possible_duplicates"] for q in queue} == {first["id"]: 1, second["id"]: 1}

    survivor = _post(
        world, "safety_officer", f"/api/aefi/{second['id']}/merge", {"into": first["id"]}
    )
    assert survivor["id"] == first["id"]
    assert [e["code"] for e in survivor["events"]] == ["FEVER", "FSEIZ", "HHE"]
    assert survivor["seriousness"] == ["hospitalization", "life_threatening"]
    assert survivor["links"][0]["state"] == "confirmed"
    merged = world.client.get(
        f"/api/aefi/{second['id']}", headers=world.headers("safety_officer")
    ).json()
    assert (merged["status"], merged["duplicate_of_id"]) == ("closed", first["id"])
    counts = world.client.get("/api/aefi/aggregates", headers=world.headers("national_officer"))
    assert counts.json()["reports"] == 1


def test_a_different_reaction_of_the_same_child_is_not_a_duplicate(
    world: World, own_child: tuple[str, str]
) -> None:
    child, dose = own_child
    _post(world, "citizen", "/api/aefi", _report(child, dose), expect=201)
    other = _post(
        world,
        "citizen",
        "/api/aefi",
        _report(child, dose, events=[{"code": "LOCAL"}], onset_date="2025-05-06"),
        expect=201,
    )
    late = _post(
        world, "citizen", "/api/aefi", _report(child, dose, onset_date="2025-05-20"), expect=201
    )
    assert other["links"] == [] and late["links"] == []


def test_staff_dismiss_a_suspected_duplicate(world: World, own_child: tuple[str, str]) -> None:
    child, dose = own_child
    first = _post(world, "citizen", "/api/aefi", _report(child, dose), expect=201)
    second = _post(world, "vaccinator", "/api/aefi", _report(child, dose), expect=201)
    answer = _post(
        world,
        "safety_officer",
        f"/api/aefi/{first['id']}/links",
        {"other_report_id": second["id"], "state": "dismissed"},
    )
    assert [(k["other_report_id"], k["state"]) for k in answer["links"]] == [
        (second["id"], "dismissed")
    ]


def test_a_reporter_reads_their_own_report_but_not_anothers(
    world: World, own_child: tuple[str, str]
) -> None:
    child, dose = own_child
    mine = _post(world, "vaccinator", "/api/aefi", _report(child, dose), expect=201)
    assert (
        world.client.get(f"/api/aefi/{mine['id']}", headers=world.headers("vaccinator")).status_code
        == 200
    )
    assert (
        world.client.get(f"/api/aefi/{mine['id']}", headers=world.headers("citizen")).status_code
        == 403
    )
    assert world.client.get("/api/aefi", headers=world.headers("citizen")).json() == []


def test_the_term_list_is_published(world: World) -> None:
    terms = {t["code"]: t for t in world.client.get("/api/aefi/terms").json()}
    assert terms["ITP"]["window_days"] == [0, 42]
    assert terms["ANAPH"]["has_background_rate"] is True
    assert terms["HHE"]["has_background_rate"] is False
