"""`immunis coverage`: coverage tables and charts from the registry or from Parquet files."""

from __future__ import annotations

import getpass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from immunis.errors import DomainError

if TYPE_CHECKING:
    from immunis.analytics.coverage import CoverageQuery, CoverageResult

out = Console()
errors = Console(stderr=True)


class Source(StrEnum):
    DB = "db"
    PARQUET = "parquet"


class Level(StrEnum):
    NATIONAL = "national"
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


class FileFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


class ChartFormat(StrEnum):
    PNG = "png"
    SVG = "svg"
    NONE = "none"


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(2)


def _from_database(
    url: str | None, query: CoverageQuery, population: bytes | None
) -> CoverageResult:
    from immunis.access.system import system_actor
    from immunis.analytics import service
    from immunis.db import make_engine, make_sessionmaker, transaction
    from immunis.settings import get_settings

    engine = make_engine(url or get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            return service.registry_coverage(
                session,
                system_actor(getpass.getuser()),
                as_of=query.as_of,
                by=query.by,
                cohorts=query.cohorts,
                area_code=query.area_code,
                population_csv=population,
            )
    finally:
        engine.dispose()


def _from_parquet(folder: Path, query: CoverageQuery, population: bytes | None) -> CoverageResult:
    from immunis.analytics import inputs
    from immunis.analytics.coverage import compute_coverage, connect
    from immunis.analytics.indicators import shipped_indicators

    con = connect()
    try:
        inputs.use_parquet(con, folder)
        estimates = inputs.read_population_csv(population) if population is not None else None
        return compute_coverage(con, shipped_indicators(), query, estimates)
    finally:
        con.close()


def _charts(result: CoverageResult, folder: Path, chart_format: str) -> list[Path]:
    from immunis.analytics import charts

    written = []
    for cohort in sorted(set(result.coverage.column("cohort").to_pylist())):
        written.append(
            charts.coverage_bars(
                result.coverage,
                cohort,
                ("DTP3", "MCV1"),
                folder / f"coverage-{cohort}.{chart_format}",
            )
        )
        written.append(
            charts.dropout_chart(
                result.summary, cohort, folder / f"dropout-{cohort}.{chart_format}"
            )
        )
        if result.query.by == "province":
            written.append(
                charts.province_map(
                    result.coverage, cohort, "DTP3", folder / f"map-DTP3-{cohort}.{chart_format}"
                )
            )
    return written


def _print(result: CoverageResult) -> None:
    wanted = ("DTP1", "DTP3", "MCV1", "MCV2")
    coverage = {
        (r["cohort"], r["area"], r["indicator"]): r["coverage_pct"]
        for r in result.coverage.to_pylist()
    }
    table = Table(title=f"Coverage (%) as of {result.query.as_of}, by {result.query.by}")
    for column in ("Cohort", "Area", "Children", *wanted, "Zero-dose", "DTP1-3 drop-out"):
        table.add_column(column, justify="right")
    for row in result.summary.to_pylist():
        cells = [coverage.get((row["cohort"], row["area"], i)) for i in wanted]
        table.add_row(
            str(row["cohort"]),
            row["area"],
            str(row["denominator"] if row["denominator"] is not None else "?"),
            *("-" if c is None else f"{c:.1f}" for c in cells),
            "-" if row["zero_dose_pct"] is None else f"{row['zero_dose_pct']:.1f}",
            "-" if row["dropout_DTP1_DTP3_pct"] is None else f"{row['dropout_DTP1_DTP3_pct']:.1f}",
        )
    out.print(table)


def coverage(
    source: Annotated[
        Source, typer.Option("--source", help="db (IMMUNIS_DATABASE_URL or --url), or parquet DIR.")
    ] = Source.DB,
    folder: Annotated[
        Path | None,
        typer.Argument(
            help="With --source parquet: the folder of persons.parquet and immunizations.parquet."
        ),
    ] = None,
    cohort: Annotated[
        list[int] | None, typer.Option("--cohort", help="Birth year (repeatable; default: all).")
    ] = None,
    by: Annotated[Level, typer.Option("--by", help="Area level of the rows.")] = Level.PROVINCE,
    area: Annotated[
        str | None, typer.Option(help="Only this province, district or commune code.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Assessment date, YYYY-MM-DD (default: today).")
    ] = None,
    population: Annotated[
        Path | None,
        typer.Option(help="Population estimates CSV (area,cohort,population) as denominators."),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for tables and charts.")] = Path(
        "coverage"
    ),
    file_format: Annotated[
        list[FileFormat] | None,
        typer.Option("--format", help="Table format, repeatable (default: csv and parquet)."),
    ] = None,
    chart_format: Annotated[ChartFormat, typer.Option("--charts")] = ChartFormat.PNG,
    url: Annotated[
        str | None, typer.Option("--url", help="Database URL (default: IMMUNIS_DATABASE_URL).")
    ] = None,
) -> None:
    """Coverage by antigen and dose, timeliness, drop-out and zero-dose children, by birth
    cohort and area; writes coverage and summary tables and charts to --out."""
    formats = tuple(f.value for f in file_format or FileFormat)
    if (source is Source.PARQUET) != (folder is not None):
        raise _fail("give a folder after --source parquet, and none with --source db")
    try:
        day = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError as error:
        raise _fail(f"--as-of: {as_of!r} is not a date (YYYY-MM-DD)") from error
    try:
        estimates = population.read_bytes() if population else None
    except OSError as error:
        raise _fail(f"{population}: {error.strerror}") from error
    # DuckDB, Arrow and matplotlib load here, not whenever any `immunis` command starts.
    from immunis.analytics.coverage import CoverageQuery
    from immunis.analytics.export import write_result

    query = CoverageQuery(as_of=day, by=by.value, cohorts=tuple(cohort or ()), area_code=area)
    try:
        if folder is not None:
            result = _from_parquet(folder, query, estimates)
        else:
            result = _from_database(url, query, estimates)
    except DomainError as error:
        raise _fail(str(error)) from error
    written = write_result(result, out_dir, formats)
    if chart_format is not ChartFormat.NONE:
        written += _charts(result, out_dir, chart_format.value)
    _print(result)
    for path in written:
        errors.print(f"wrote {path}")
