"""`immunis coverage` from Parquet files: tables in CSV and Parquet, charts, and bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from immunis.cli import app
from tests.analytics.children import AS_OF, tables

runner = CliRunner()


@pytest.fixture
def parquet_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "synthetic"
    folder.mkdir()
    persons, doses = tables()
    pq.write_table(persons, folder / "persons.parquet")
    pq.write_table(doses, folder / "immunizations.parquet")
    return folder


def _coverage(*arguments: str) -> tuple[int, str]:
    result = runner.invoke(app, ["coverage", *arguments])
    return result.exit_code, result.output


def test_tables_and_charts_from_parquet(parquet_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output = _coverage(
        "--source", "parquet", str(parquet_folder), "--cohort", "2024", "--by", "province",
        "--as-of", AS_OF.isoformat(), "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    assert {p.name for p in out.iterdir()} == {
        "coverage.csv",
        "coverage.parquet",
        "summary.csv",
        "summary.parquet",
        "coverage-2024.png",
        "dropout-2024.png",
        "map-DTP3-2024.png",
    }
    with (out / "coverage.csv").open(encoding="utf-8") as file:
        rows = {(r["area"], r["indicator"]): r for r in csv.DictReader(file)}
    assert float(rows[("01", "DTP3")]["coverage_pct"]) == 62.5
    assert pq.read_table(out / "summary.parquet").num_rows == 2
    assert (out / "map-DTP3-2024.png").read_bytes().startswith(b"\x89PNG")
    assert "87.5" in output  # DTP1 in Hà Nội, in the printed table


def test_svg_charts_and_a_population_file(parquet_folder: Path, tmp_path: Path) -> None:
    population = tmp_path / "population.csv"
    population.write_text("area,cohort,population\n001,2024,10\n002,2024,3\n", encoding="utf-8")
    out = tmp_path / "out"
    code, output = _coverage(
        "--source", "parquet", str(parquet_folder), "--cohort", "2024", "--by", "district",
        "--area", "01", "--as-of", AS_OF.isoformat(), "--population", str(population),
        "--format", "csv", "--charts", "svg", "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    assert {p.suffix for p in out.iterdir()} == {".csv", ".svg"}
    assert not (out / "map-DTP3-2024.svg").exists()  # the map is of provinces
    with (out / "coverage.csv").open(encoding="utf-8") as file:
        rows = {(r["area"], r["indicator"]): r for r in csv.DictReader(file)}
    district = rows[("001", "DTP3")]
    assert (float(district["coverage_pct"]), int(district["denominator"])) == (20.0, 10)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--source", "parquet"], "give a folder"),
        (["--source", "parquet", "/no/such/folder"], "does not exist"),
        (["--as-of", "yesterday"], "not a date"),
        (["--format", "xlsx"], "--format"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(arguments: list[str], complaint: str) -> None:
    code, output = _coverage(*arguments)
    assert code == 2
    assert complaint in output
