"""Coverage from the registry database, on both databases: officers see their own area only,
and only counts leave the room."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from immunis.access.models import AuditEvent
from immunis.cli import app
from immunis.db import transaction
from immunis.registry.models import Immunization, Person
from tests.analytics.children import AS_OF, CHILDREN, DOSES, person_id
from tests.world import World, build_world


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    with transaction(built.sessions) as session:
        for label, (born, province, district, commune) in CHILDREN.items():
            session.add(
                Person(
                    id=person_id(label),
                    family_name="Trẻ",
                    given_name=label,
                    name_key=f"tre {label.lower()}",
                    birth_date=born,
                    province_code=province,
                    district_code=district,
                    commune_code=commune,
                )
            )
        session.flush()
        for label, given in DOSES.items():
            for day, cvx in given:
                session.add(
                    Immunization(
                        person_id=person_id(label),
                        date_administered=date.fromisoformat(day),
                        cvx=cvx,
                    )
                )
        # Neither a dose entered in error nor a merged duplicate record counts.
        session.add(
            Immunization(
                person_id=person_id("D"),
                date_administered=date(2024, 3, 15),
                cvx="198",
                status="entered-in-error",
            )
        )
        session.add(
            Person(
                family_name="Trẻ",
                given_name="A",
                name_key="tre a",
                birth_date=date(2024, 1, 15),
                province_code="01",
                district_code="001",
                active=False,
                merged_into_id=person_id("A"),
            )
        )
    yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def _get(world: World, who: str, expect: int = 200, **params: Any) -> Any:
    response = world.client.get(
        "/api/analytics/coverage",
        params={"cohort": 2024, "as_of": AS_OF.isoformat(), **params},
        headers=world.headers(who),
    )
    assert response.status_code == expect, response.text
    return response.json()


def _coverage(answer: dict[str, Any]) -> dict[tuple[str, str], float | None]:
    return {(r["area"], r["indicator"]): r["coverage_pct"] for r in answer["coverage"]}


def test_a_national_officer_sees_every_province_counted_as_by_hand(world: World) -> None:
    answer = _get(world, "national_officer")
    coverage = _coverage(answer)
    assert [coverage[("01", i)] for i in ("DTP1", "DTP3", "MCV1", "MCV2")] == [
        87.5,
        62.5,
        75.0,
        37.5,
    ]
    assert [coverage[("79", i)] for i in ("DTP1", "DTP3")] == [50.0, 25.0]
    summary = {s["area"]: s for s in answer["summary"]}
    assert (summary["01"]["registered"], summary["01"]["zero_dose"]) == (8, 2)
    assert summary["01"]["dropout_pct"] == {"DTP1-DTP3": 28.6, "MCV1-MCV2": 50.0}
    assert answer["denominators"] == "registry"


def test_a_district_officer_sees_their_district_only(world: World) -> None:
    answer = _get(world, "district_officer", by="district")
    assert {r["area"] for r in answer["coverage"]} == {"001"}
    assert _coverage(answer)[("001", "DTP3")] == 40.0
    communes = _get(world, "district_officer", by="commune")
    assert {r["area"] for r in communes["summary"]} == {"00001", "00004"}


def test_an_officer_cannot_look_beyond_their_area_and_the_attempt_is_audited(
    world: World,
) -> None:
    _get(world, "district_officer", expect=403, by="province")
    _get(world, "province_officer", expect=403, area="79")
    _get(world, "province_officer", expect=403, by="national")
    with world.sessions() as session:
        refusals = session.scalars(
            select(AuditEvent).where(
                AuditEvent.outcome == "denied", AuditEvent.entity_type == "coverage"
            )
        ).all()
    assert len(refusals) == 3


def test_a_province_officer_sees_their_province_and_may_narrow_to_a_district(
    world: World,
) -> None:
    saigon = _get(world, "province_officer_hcm")
    assert {r["area"] for r in saigon["summary"]} == {"79"}
    assert _coverage(saigon)[("79", "DTP1")] == 50.0
    district = _get(world, "province_officer", by="district", area="002")
    assert {r["area"] for r in district["summary"]} == {"002"}
    # A district of another province narrows the officer's own people to nobody.
    elsewhere = _get(world, "province_officer", by="district", area="760")
    assert elsewhere["summary"] == []


@pytest.mark.parametrize("who", ["citizen", "vaccinator", "lab", "safety_officer", "admin"])
def test_coverage_is_for_programme_officers(world: World, who: str) -> None:
    _get(world, who, expect=403)


def test_denominators_from_an_uploaded_population_estimate(world: World) -> None:
    response = world.client.post(
        "/api/analytics/coverage",
        params={"cohort": 2024, "as_of": AS_OF.isoformat()},
        content="area,cohort,population\n01,2024,10\n79,2024,5\n48,2024,7\n",
        headers={**world.headers("national_officer"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    coverage = _coverage(answer)
    assert [coverage[(a, "DTP3")] for a in ("01", "79", "48")] == [50.0, 20.0, 0.0]
    assert answer["denominators"] == "population estimate"
    bad = world.client.post(
        "/api/analytics/coverage",
        content="nonsense",
        headers={**world.headers("national_officer"), "Content-Type": "text/csv"},
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_coverage_as_csv_and_nothing_about_any_person(world: World) -> None:
    response = world.client.get(
        "/api/analytics/coverage",
        params={"cohort": 2024, "as_of": AS_OF.isoformat(), "format": "csv"},
        headers=world.headers("national_officer"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0].replace('"', "") == (
        "cohort,area,indicator,denominator,vaccinated,coverage_pct,timely,timely_pct"
    )
    json_answer = world.client.get(
        "/api/analytics/coverage",
        params={"cohort": 2024, "as_of": AS_OF.isoformat()},
        headers=world.headers("national_officer"),
    ).text
    for text in (response.text, json_answer):
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", text)
        assert "birth_date" not in text


def test_bad_query_parameters_are_refused(world: World) -> None:
    _get(world, "national_officer", expect=422, by="village")
    _get(world, "national_officer", expect=422, area="1")


def test_the_command_line_reads_the_registry_as_its_operator(
    world: World, database_url: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["coverage", "--source", "db", "--url", database_url, "--cohort", "2024",
         "--as-of", AS_OF.isoformat(), "--by", "national", "--format", "csv",
         "--charts", "none", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with (tmp_path / "coverage.csv").open(encoding="utf-8") as file:
        rows = {r["indicator"]: r for r in csv.DictReader(file)}
    assert (float(rows["DTP3"]["coverage_pct"]), int(rows["DTP3"]["denominator"])) == (50.0, 12)
    with world.sessions() as session:
        logged = session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "coverage")
        ).one()
    assert (logged.channel, logged.user_id.startswith("cli:")) == ("cli", True)
