"""forecast-all: the engine's answer for every person, a partition per task, resumable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dask.distributed import Client, LocalCluster
from sqlalchemy import delete, func, select

import immunis.batch.forecast_all as forecast_all
from immunis.batch.forecast_all import (
    RunMismatchError,
    RunRequest,
    partition_file,
    run_forecast_all,
)
from immunis.batch.models import ForecastPartition, ForecastResult, ForecastRun
from immunis.batch.partitions import GENDERS
from immunis.batch.results import result_rows
from immunis.db import make_engine
from immunis.forecast import AdministeredDose, Gender, Patient, forecast
from immunis.schedule.catalog import load_schedule
from immunis.synth.parquet import write_population
from immunis.synth.population import Population
from immunis.synth.service import load_chunk, load_sites

AS_OF = date(2026, 11, 1)
ASSESSED = date(2026, 12, 1)


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 people in four row groups."""
    folder = tmp_path_factory.mktemp("population")
    write_population(Population(2_000, 21, AS_OF), folder, chunk_size=500)
    return folder


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """Workers as threads of this process, so that a test can break one partition."""
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as connected,
    ):
        yield connected


def results(out: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(path) for path in sorted(out.glob("part-*.parquet")))


@pytest.fixture(scope="module")
def expected(population: Path) -> list[tuple[object, ...]]:
    """What the engine answers when called directly, person by person."""
    persons = pq.read_table(population / "persons.parquet").to_pylist()
    doses: dict[str, list[AdministeredDose]] = {}
    for dose in pq.read_table(population / "immunizations.parquet").to_pylist():
        doses.setdefault(dose["person_id"], []).append(
            AdministeredDose(dose["date_administered"], dose["cvx"])
        )
    schedule = load_schedule("vn")
    rows = []
    for person in persons:
        patient = Patient(person["birth_date"], GENDERS.get(person["sex"], Gender.UNKNOWN))
        answer = forecast(patient, doses.get(person["person_id"], []), ASSESSED, schedule)
        rows.extend(result_rows(person["person_id"], answer))
    return sorted(rows)


def as_rows(table: pa.Table) -> list[tuple[object, ...]]:
    return [tuple(row.values()) for row in table.to_pylist()]


def test_every_person_gets_what_the_engine_answers(
    population: Path, expected: list[tuple[object, ...]], client: Client, tmp_path: Path
) -> None:
    request = RunRequest(str(population), "vn", ASSESSED, tmp_path / "out")
    report = run_forecast_all(request, client)
    assert report.partitions == 4
    assert not report.failed
    assert report.persons == pq.read_metadata(population / "persons.parquet").num_rows
    assert sorted(as_rows(results(tmp_path / "out"))) == expected


def test_fewer_partitions_group_whole_row_groups(
    population: Path, client: Client, tmp_path: Path
) -> None:
    request = RunRequest(str(population), "vn", ASSESSED, tmp_path / "out", partitions=2)
    report = run_forecast_all(request, client)
    groups = pq.read_metadata(population / "persons.parquet")
    sizes = [groups.row_group(k).num_rows for k in range(4)]
    by_partition = {done.number: done.persons for done in report.done}
    assert by_partition == {0: sizes[0] + sizes[1], 1: sizes[2] + sizes[3]}


def test_a_run_resumes_without_redoing_finished_partitions(
    population: Path, client: Client, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    request = RunRequest(str(population), "vn", ASSESSED, out)
    run_forecast_all(request, client)
    complete = results(out)
    partition_file(out, 2).unlink()
    kept = {n: partition_file(out, n).stat().st_mtime_ns for n in (0, 1, 3)}

    report = run_forecast_all(request, client)

    assert report.skipped == 3
    assert [done.number for done in report.done] == [2]
    assert {n: partition_file(out, n).stat().st_mtime_ns for n in (0, 1, 3)} == kept
    assert results(out).equals(complete)


def test_a_partition_that_fails_is_reported_and_redone_by_the_next_run(
    population: Path,
    expected: list[tuple[object, ...]],
    client: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out"
    request = RunRequest(str(population), "vn", ASSESSED, out)
    reader = forecast_all.read_partition

    def breaks_on_partition_one(partition):  # type: ignore[no-untyped-def]
        if partition.number == 1:
            raise OSError("disk went away")
        return reader(partition)

    monkeypatch.setattr(forecast_all, "read_partition", breaks_on_partition_one)
    report = run_forecast_all(request, client)
    assert report.failed == {1: "OSError: disk went away"}
    assert not partition_file(out, 1).exists()
    assert not list(out.glob(".*.tmp"))

    monkeypatch.setattr(forecast_all, "read_partition", reader)
    again = run_forecast_all(request, client)
    assert (again.skipped, [done.number for done in again.done]) == (3, [1])
    assert sorted(as_rows(results(out))) == expected


def test_an_output_folder_of_another_run_is_not_mixed_in(
    population: Path, client: Client, tmp_path: Path
) -> None:
    run_forecast_all(RunRequest(str(population), "vn", ASSESSED, tmp_path / "out"), client)
    with pytest.raises(RunMismatchError):
        run_forecast_all(RunRequest(str(population), "vn", AS_OF, tmp_path / "out"), client)


def test_a_database_population_gets_results_in_the_table_and_resumes(
    database_url: str, client: Client, tmp_path: Path
) -> None:
    population = Population(1_000, 8, AS_OF)
    engine = make_engine(database_url)
    load_sites(engine, population.geography.sites)
    for chunk in population.chunks(1_000):
        load_chunk(engine, chunk)
    request = RunRequest("db", "vn", ASSESSED, tmp_path / "out", 3, database_url)

    report = run_forecast_all(request, client)

    assert (report.partitions, report.persons, report.failed) == (3, chunk.persons.num_rows, {})
    with engine.connect() as connection:
        run = connection.execute(select(ForecastRun)).one()
        stored = connection.execute(
            select(
                ForecastResult.person_id,
                ForecastResult.vaccine_group,
                ForecastResult.status,
                ForecastResult.dose_number,
                ForecastResult.earliest,
                ForecastResult.recommended,
                ForecastResult.past_due,
                ForecastResult.overdue,
            )
        ).all()
    assert run.status == "finished"
    assert sorted(tuple(row) for row in stored) == sorted(as_rows(results(tmp_path / "out")))

    with engine.begin() as connection:
        connection.execute(delete(ForecastPartition).where(ForecastPartition.partition == 1))
    again = run_forecast_all(request, client)
    assert (again.skipped, [done.number for done in again.done]) == (2, [1])
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ForecastResult)) == len(stored)
        assert connection.scalar(select(func.count()).select_from(ForecastRun)) == 1
    engine.dispose()
