"""The project's own schedules (Viet Nam, WHO) load, cite their sources and use known vaccines."""

from __future__ import annotations

from importlib import resources

import pytest

from immunis.schedule.model import Schedule
from immunis.schedule.project_format import dump_yaml, load_yaml

PROJECT_SCHEDULES = ("vn.yaml", "who.yaml")


def _load(name: str) -> Schedule:
    return load_yaml((resources.files("immunis.schedule") / "data" / name).read_bytes())


@pytest.fixture(scope="module", params=PROJECT_SCHEDULES)
def schedule(request: pytest.FixtureRequest) -> Schedule:
    return _load(request.param)


def test_every_series_dose_has_a_source(schedule: Schedule) -> None:
    unsourced = [
        f"{antigen.name} / {series.name} / dose {dose.dose_number}"
        for antigen in schedule.antigens.values()
        for series in antigen.series
        for dose in series.doses
        if not dose.sources
    ]
    assert unsourced == []


def test_every_vaccine_in_a_series_is_in_the_vaccine_map(schedule: Schedule) -> None:
    used = {
        vaccine.cvx
        for antigen in schedule.antigens.values()
        for series in antigen.series
        for dose in series.doses
        for vaccine in (*dose.preferable_vaccines, *dose.allowable_vaccines)
    }
    assert used - set(schedule.vaccines) == set()


def test_every_vaccine_in_a_series_carries_that_antigen(schedule: Schedule) -> None:
    wrong = {
        (antigen.name, vaccine.cvx)
        for antigen in schedule.antigens.values()
        for series in antigen.series
        for dose in series.doses
        for vaccine in (*dose.preferable_vaccines, *dose.allowable_vaccines)
        if antigen.name not in {a.antigen for a in schedule.vaccines[vaccine.cvx].associations}
    }
    assert wrong == set()


def test_series_groups_and_antigens_agree(schedule: Schedule) -> None:
    grouped = {name for group in schedule.vaccine_groups.values() for name in group.antigens}
    assert grouped == set(schedule.antigens)
    for antigen in schedule.antigens.values():
        for series in antigen.series:
            assert antigen.name in schedule.vaccine_groups[series.vaccine_group].antigens


def test_doses_are_numbered_in_order(schedule: Schedule) -> None:
    for antigen in schedule.antigens.values():
        for series in antigen.series:
            assert [d.dose_number for d in series.doses] == list(range(1, len(series.doses) + 1))


def test_live_virus_conflicts_name_known_vaccines(schedule: Schedule) -> None:
    for conflict in schedule.live_virus_conflicts:
        assert {conflict.previous_cvx, conflict.current_cvx} <= set(schedule.vaccines)


def test_dumping_and_reloading_keeps_the_schedule(schedule: Schedule) -> None:
    assert load_yaml(dump_yaml(schedule).encode()) == schedule


def test_vietnam_epi_core() -> None:
    vn = _load("vn.yaml")
    hepb = vn.antigens["HepB"].series[0]
    assert str(hepb.doses[0].ages[0].latest_recommended_age) == "1 day"
    assert [str(d.ages[0].earliest_recommended_age) for d in hepb.doses[1:]] == [
        "2 months",
        "3 months",
        "4 months",
    ]
    assert vn.vaccine("198") is not None
    assert {a.antigen for a in vn.vaccines["19"].associations} == {"Tuberculosis"}
    polio = vn.antigens["Polio"].series[0]
    assert [d.preferable_vaccines[0].cvx for d in polio.doses] == ["178", "178", "178", "10", "10"]
