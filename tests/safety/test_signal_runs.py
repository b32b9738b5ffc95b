"""Signal runs against the registry's own dose counts, on both databases: a lot with a planted
excess of febrile seizures goes to the lab's queue, the others do not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from immunis.access.models import AuditEvent
from immunis.cli import app
from immunis.db import transaction
from immunis.registry import service as registry
from immunis.registry.models import Immunization, Person
from immunis.safety.models import LotSafetyAlert, SignalRun
from tests.world import World, build_world

LOTS = {"PV-GOOD-1": 3000, "PV-GOOD-2": 3000, "PV-BAD": 3000}
SEIZURES = {"PV-GOOD-1": 1, "PV-GOOD-2": 0, "PV-BAD": 8}
PERIOD = {"period_start": "2025-01-01", "period_end": "2025-06-30"}


def _infants(world: World) -> dict[str, list[tuple[str, str]]]:
    """Infants born on 1 January 2025, each given pentavalent vaccine from one lot on 1 March:
    (person id, dose id) per lot."""
    given: dict[str, list[tuple[str, str]]] = {}
    with transaction(world.sessions) as session:
        for lot, count in LOTS.items():
            people = [
                {
                    "id": f"{lot}-{n:05}",
                    "family_name": "Trẻ",
                    "given_name": f"{n}",
                    "name_key": f"tre {n}",
                    "birth_date": date(2025, 1, 1),
                    "sex": "female",
                    "province_code": "01",
                    "district_code": "001",
                    "commune_code": "00001",
                }
                for n in range(count)
            ]
            doses = [
                {
                    "id": f"dose-{p['id']}",
                    "person_id": p["id"],
                    "date_administered": date(2025, 3, 1),
                    "cvx": "198",
                    "lot_number": lot,
                }
                for p in people
            ]
            session.execute(insert(Person), people)
            session.execute(insert(Immunization), doses)
            given[lot] = [(p["id"], d["id"]) for p, d in zip(people, doses, strict=True)]
    return given


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    given = _infants(built)
    for lot, seizures in SEIZURES.items():
        for person, dose in given[lot][:seizures]:
            response = built.client.post(
                "/api/aefi",
                json={
                    "person_id": person,
                    "doses": [{"immunization_id": dose}],
                    "onset_date": "2025-03-03",
                    "events": [{"code": "FSEIZ"}, {"code": "FEVER"}],
                    "description": "Febrile seizure two days after the dose.",
                    "seriousness": ["hospitalization"],
                    "outcome": "recovered",
                },
                headers=built.headers("safety_officer"),
            )
            assert response.status_code == 201, response.text
    yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def _run(world: World, who: str = "safety_officer", expect: int = 201) -> Any:
    response = world.client.post("/api/safety/signals/run", json=PERIOD, headers=world.headers(who))
    assert response.status_code == expect, response.text
    return response.json()


def test_a_lot_with_a_planted_excess_is_raised_to_the_lab(world: World) -> None:
    run = _run(world)
    lots = {
        r["stratum"]: r
        for r in run["results"]
        if (r["method"], r["stratum_kind"], r["event_code"])
        == ("observed_expected", "lot", "FSEIZ")
    }
    assert set(lots) == {"PV-GOOD-1", "PV-BAD"}  # lots with an observed event
    bad = lots["PV-BAD"]
    # 3,000 infant doses x 300 per 100,000 person-years x 15 days.
    assert bad["expected"] == pytest.approx(3000 * 300e-5 * 15 / 365.25, rel=1e-4)
    assert (bad["observed"], bad["signal"]) == (8, True)
    assert lots["PV-GOOD-1"]["signal"] is False
    assert run["summary"]["lot_alerts_raised"] == 1

    alerts = world.client.get("/api/safety/lot-alerts", headers=world.headers("lab")).json()
    assert [(a["lot_number"], a["cvx"], a["event_code"], a["status"]) for a in alerts] == [
        ("PV-BAD", "198", "FSEIZ", "open")
    ]
    assert alerts[0]["statistics"]["observed"] == 8
    assert "PV-BAD" in alerts[0]["reason"]


def test_the_lab_decides_and_a_later_run_does_not_repeat_the_alert(world: World) -> None:
    _run(world)
    [alert] = world.client.get("/api/safety/lot-alerts", headers=world.headers("lab")).json()
    url = f"/api/safety/lot-alerts/{alert['id']}/decision"
    decision = {"status": "acknowledged", "note": "Samples sent for testing."}
    for who in ("safety_officer", "national_officer"):
        assert world.client.post(url, json=decision, headers=world.headers(who)).status_code == 403
    answer = world.client.post(url, json=decision, headers=world.headers("lab"))
    assert (answer.status_code, answer.json()["status"]) == (200, "acknowledged")
    assert world.client.post(url, json=decision, headers=world.headers("lab")).status_code == 409
    _run(world)
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LotSafetyAlert)) == 1
        assert session.scalar(select(LotSafetyAlert.status)) == "acknowledged"


def test_disproportionality_and_sequential_monitoring_are_in_the_run(world: World) -> None:
    run = _run(world)
    methods = {r["method"] for r in run["results"]}
    assert methods == {"disproportionality", "observed_expected", "maxsprt"}
    pentavalent = next(
        r
        for r in run["results"]
        if (r["method"], r["cvx"], r["event_code"]) == ("maxsprt", "198", "FSEIZ")
    )
    assert pentavalent["observed"] == 9
    detail = world.client.get(
        f"/api/safety/signals/runs/{run['id']}",
        params={"signals_only": True},
        headers=world.headers("national_officer"),
    ).json()
    assert detail["results"] and all(r["signal"] for r in detail["results"])
    runs = world.client.get("/api/safety/signals/runs", headers=world.headers("safety_officer"))
    assert [r["id"] for r in runs.json()] == [run["id"]]


@pytest.mark.parametrize("who", ["vaccinator", "lab", "district_officer", "national_officer"])
def test_only_safety_officers_run_signals_on_demand(world: World, who: str) -> None:
    _run(world, who, expect=403)


@pytest.mark.parametrize("who", ["citizen", "vaccinator", "district_officer"])
def test_lot_alerts_are_not_for_everyone(world: World, who: str) -> None:
    response = world.client.get("/api/safety/lot-alerts", headers=world.headers(who))
    assert response.status_code == 403


def test_a_period_that_ends_before_it_starts_is_refused(world: World) -> None:
    response = world.client.post(
        "/api/safety/signals/run",
        json={"period_start": "2025-06-30", "period_end": "2025-01-01"},
        headers=world.headers("safety_officer"),
    )
    assert response.status_code == 422


def test_the_command_line_runs_signals_as_its_operator(world: World, database_url: str) -> None:
    result = CliRunner().invoke(
        app,
        ["signals", "run", "--since", "2025-01-01", "--until", "2025-06-30", "--url", database_url],
    )
    assert result.exit_code == 0, result.output
    assert "PV-BAD" in result.output
    with world.sessions() as session:
        run = session.scalars(select(SignalRun)).one()
        logged = session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "signal_run")
        ).one()
    assert run.started_by.startswith("cli:")
    assert logged.channel == "cli"


def test_dose_counts_band_ages_on_the_day_of_the_dose(world: World) -> None:
    with transaction(world.sessions) as session:
        session.add(
            Person(
                id="older",
                family_name="Trẻ",
                given_name="Lớn",
                name_key="tre lon",
                birth_date=date(2024, 3, 1),
                province_code="79",
            )
        )
        session.flush()
        for day, lot in ((date(2025, 2, 28), "Y1"), (date(2025, 3, 1), "Y2")):
            session.add(
                Immunization(person_id="older", date_administered=day, cvx="05", lot_number=lot)
            )
    bands = [("0-11m", 0), ("1-4y", 365)]
    with world.sessions() as session:
        counts = registry.dose_counts(session, age_bands=bands, since=date(2025, 1, 1))
    measles = [(c.lot_number, c.age_band, c.province_code, c.doses) for c in counts if c.cvx == "5"]
    assert sorted(measles) == [("Y1", "0-11m", "79", 1), ("Y2", "1-4y", "79", 1)]
    pentavalent = {c.lot_number: c.doses for c in counts if c.cvx == "198"}
    assert pentavalent == LOTS
