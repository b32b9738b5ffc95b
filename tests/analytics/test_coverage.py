"""Coverage, timeliness, drop-out and zero-dose on twelve children counted by hand
(tests/analytics/children.py), from Arrow tables and from Parquet files."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from immunis.analytics.coverage import CoverageQuery, CoverageResult, compute_coverage, connect
from immunis.analytics.indicators import shipped_indicators
from immunis.analytics.inputs import read_population_csv, use_arrow, use_parquet
from immunis.errors import InvalidInput
from tests.analytics.children import AS_OF, tables

PLAN = shipped_indicators()


def _coverage(
    by: str = "province", area: str | None = None, population: str | None = None
) -> CoverageResult:
    con = connect()
    use_arrow(con, *tables())
    estimates = read_population_csv(population) if population else None
    query = CoverageQuery(as_of=AS_OF, by=by, cohorts=(2024,), area_code=area)
    return compute_coverage(con, PLAN, query, estimates)


def _cell(
    result: CoverageResult, area: str, indicator: str, column: str = "coverage_pct"
) -> object:
    [row] = [
        r for r in result.coverage.to_pylist() if (r["area"], r["indicator"]) == (area, indicator)
    ]
    return row[column]


def _summary(result: CoverageResult) -> dict[str, dict[str, object]]:
    return {r["area"]: r for r in result.summary.to_pylist()}


def test_coverage_by_province_matches_the_hand_count() -> None:
    result = _coverage()
    expected = {
        # province: DTP1, DTP3, MCV1, MCV2, BCG, HepB birth dose (percent of registered children)
        "01": (87.5, 62.5, 75.0, 37.5, 37.5, 37.5),
        "79": (50.0, 25.0, 25.0, 25.0, 25.0, 25.0),
    }
    for area, figures in expected.items():
        found = tuple(
            _cell(result, area, i) for i in ("DTP1", "DTP3", "MCV1", "MCV2", "BCG", "HepB-BD")
        )
        assert found == figures, area
    assert _cell(result, "01", "DTP3", "vaccinated") == 5
    assert _cell(result, "01", "DTP3", "denominator") == 8


def test_timeliness_follows_the_schedule_windows_and_the_cdsi_month_end_rule() -> None:
    result = _coverage()
    # DTP3 on time: A, G and H of A, B, F, G, H; B and F were late.
    assert (_cell(result, "01", "DTP3", "timely"), _cell(result, "01", "DTP3", "timely_pct")) == (
        3,
        60.0,
    )
    # DTP1 on time for all but E; F's 1 July dose is on time only by the CDSi month-end rule.
    assert (_cell(result, "01", "DTP1", "timely"), _cell(result, "01", "DTP1", "timely_pct")) == (
        6,
        85.7,
    )
    assert _cell(result, "01", "MCV1", "timely") == 5


def test_drop_out_and_zero_dose_by_province() -> None:
    summary = _summary(_coverage())
    hanoi, saigon = summary["01"], summary["79"]
    assert (hanoi["registered"], hanoi["zero_dose"], hanoi["zero_dose_pct"]) == (8, 2, 25.0)
    assert (hanoi["dropout_DTP1_DTP3_pct"], hanoi["dropout_MCV1_MCV2_pct"]) == (28.6, 50.0)
    assert (saigon["registered"], saigon["zero_dose"], saigon["zero_dose_pct"]) == (4, 2, 50.0)
    assert (saigon["dropout_DTP1_DTP3_pct"], saigon["dropout_MCV1_MCV2_pct"]) == (50.0, 0.0)


def test_the_national_figures_add_the_provinces_up() -> None:
    result = _coverage(by="national")
    assert [_cell(result, "VN", i) for i in ("DTP1", "DTP3", "MCV1", "MCV2")] == [
        75.0,
        50.0,
        58.3,
        33.3,
    ]
    national = _summary(result)["VN"]
    assert (national["zero_dose"], national["zero_dose_pct"]) == (4, 33.3)
    assert (national["dropout_DTP1_DTP3_pct"], national["dropout_MCV1_MCV2_pct"]) == (33.3, 42.9)


def test_districts_of_one_province() -> None:
    result = _coverage(by="district", area="01")
    summary = _summary(result)
    assert set(summary) == {"001", "002"}
    assert (_cell(result, "001", "DTP1"), _cell(result, "001", "DTP3")) == (80.0, 40.0)
    assert (summary["001"]["zero_dose"], summary["001"]["zero_dose_pct"]) == (2, 40.0)
    assert (_cell(result, "002", "DTP3"), summary["002"]["zero_dose"]) == (100.0, 0)


def test_denominators_from_a_population_estimate() -> None:
    population = "area,cohort,population\n01,2024,10\n79,2024,5\n48,2024,7\n79,2023,9\n001,2024,6\n"
    result = _coverage(population=population)
    assert [_cell(result, a, "DTP3") for a in ("01", "79", "48")] == [50.0, 20.0, 0.0]
    assert _cell(result, "48", "DTP3", "denominator") == 7
    summary = _summary(result)
    # Zero-dose: the population less the children with a first DTP dose by 12 months.
    assert [(summary[a]["zero_dose"], summary[a]["zero_dose_pct"]) for a in ("01", "79", "48")] == [
        (4, 40.0),
        (3, 60.0),
        (7, 100.0),
    ]
    assert summary["48"]["registered"] == 0


@pytest.mark.parametrize(
    "text",
    [
        "province,year,children\n01,2024,10\n",
        "area,cohort,population\n01,twenty,10\n",
        "area,cohort,population\nHN,2024,10\n",
        "area,cohort,population\n01,2024,10\n01,2024,11\n",
        "area,cohort,population\n01,2024,-1\n",
    ],
)
def test_a_malformed_population_file_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        read_population_csv(text)


def test_the_same_figures_from_parquet_files(tmp_path: Path) -> None:
    persons, doses = tables()
    # Files as `immunis synth` writes them may carry more columns than analytics reads.
    pq.write_table(
        persons.append_column("family_name", [["x"] * persons.num_rows][0]),
        tmp_path / "persons.parquet",
    )
    pq.write_table(doses, tmp_path / "immunizations.parquet")
    con = connect()
    use_parquet(con, tmp_path)
    from_files = compute_coverage(con, PLAN, CoverageQuery(as_of=AS_OF, cohorts=(2024,)))
    assert from_files.coverage.to_pylist() == _coverage().coverage.to_pylist()
    assert from_files.summary.to_pylist() == _coverage().summary.to_pylist()


def test_every_cohort_when_none_is_named() -> None:
    con = connect()
    use_arrow(con, *tables())
    result = compute_coverage(con, PLAN, CoverageQuery(as_of=AS_OF, by="national"))
    assert {r["cohort"]: r["registered"] for r in result.summary.to_pylist()} == {2023: 1, 2024: 12}


def test_doses_after_the_assessment_date_do_not_count() -> None:
    con = connect()
    use_arrow(con, *tables())
    earlier = compute_coverage(
        con, PLAN, CoverageQuery(as_of=AS_OF.replace(year=2024), by="national", cohorts=(2024,))
    )
    # By 31 December 2024 H had only birth doses; E's DTP came in 2025.
    assert _cell(earlier, "VN", "DTP1", "vaccinated") == 7


def test_an_unknown_level_is_refused() -> None:
    con = connect()
    use_arrow(con, *tables())
    with pytest.raises(InvalidInput):
        compute_coverage(con, PLAN, CoverageQuery(as_of=AS_OF, by="village"))
