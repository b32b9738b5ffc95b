"""`immunis synth` then `immunis forecast-all` from the command line, on worker processes."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from immunis.cli import app

runner = CliRunner()


def test_synth_then_forecast_all_on_a_local_cluster(tmp_path: Path) -> None:
    population, out = tmp_path / "population", tmp_path / "forecast"
    made = runner.invoke(
        app,
        [
            "synth",
            "--persons",
            "1000",
            "--seed",
            "2",
            "--out",
            str(population),
            "--chunk-size",
            "500",
        ],
    )
    assert made.exit_code == 0, made.output
    people = pq.read_metadata(population / "persons.parquet").num_rows

    ran = runner.invoke(
        app,
        [
            "forecast-all",
            "--source",
            "parquet",
            str(population),
            "--out",
            str(out),
            "--date",
            "2026-12-01",
        ],
    )
    assert ran.exit_code == 0, ran.output
    assert f"{people:,} people forecast in 2 partitions (0 already done)" in ran.output
    forecast = pq.read_table(out)
    assert set(forecast["person_id"].to_pylist()) == set(
        pq.read_table(population / "persons.parquet")["person_id"].to_pylist()
    )

    again = runner.invoke(
        app,
        [
            "forecast-all",
            "--source",
            "parquet",
            str(population),
            "--out",
            str(out),
            "--date",
            "2026-12-01",
        ],
    )
    assert again.exit_code == 0, again.output
    assert "0 people forecast in 0 partitions (2 already done)" in again.output


def test_forecast_all_refuses_a_folder_without_a_population(tmp_path: Path) -> None:
    ran = runner.invoke(app, ["forecast-all", "--source", "parquet", str(tmp_path)])
    assert ran.exit_code == 2
    assert "no persons.parquet" in ran.output


def test_forecast_all_wants_a_folder_with_parquet_and_none_with_db(tmp_path: Path) -> None:
    assert runner.invoke(app, ["forecast-all", "--source", "parquet"]).exit_code == 2
    assert runner.invoke(app, ["forecast-all", "--source", "db", str(tmp_path)]).exit_code == 2


def test_synth_refuses_a_chunk_size_that_splits_a_block(tmp_path: Path) -> None:
    ran = runner.invoke(
        app, ["synth", "--persons", "1000", "--chunk-size", "700", "--out", str(tmp_path)]
    )
    assert ran.exit_code == 2
    assert "multiple of 500" in ran.output
