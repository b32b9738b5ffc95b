"""`immunis forecast-all`: the whole population's forecast as a batch job on Dask."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

errors = Console(stderr=True)


@contextmanager
def dask_client(address: str | None) -> Iterator[Any]:
    """A client of the cluster at `address`, or of a local cluster of one worker process per
    core (one thread each: the engine is pure Python and holds the GIL)."""
    from dask.distributed import Client, LocalCluster

    if address:
        with Client(address) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: 8787 may be another cluster's
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


class Source(StrEnum):
    DB = "db"
    PARQUET = "parquet"


def forecast_all(
    source: Annotated[
        Source, typer.Option(help="db (IMMUNIS_DATABASE_URL), or parquet DIR.")
    ] = Source.DB,
    folder: Annotated[
        Path | None,
        typer.Argument(help="With --source parquet: a folder written by `immunis synth`."),
    ] = None,
    schedule: Annotated[str, typer.Option(help="Schedule id.")] = "vn",
    on: Annotated[
        str | None, typer.Option("--date", help="Assessment date, YYYY-MM-DD (default: today).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the results, a file per partition.")] = Path(
        "forecast"
    ),
    partitions: Annotated[
        int | None,
        typer.Option(min=1, help="Partitions (default: a row group each; 100,000 people each)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (default: IMMUNIS_DASK_SCHEDULER_ADDRESS, "
            "else a local cluster)."
        ),
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Discard the run in --out instead of resuming it.")
    ] = False,
) -> None:
    """Forecast every person: due and overdue doses per vaccine group, restartable."""
    from immunis.batch.forecast_all import RunMismatchError, RunRequest, run_forecast_all
    from immunis.schedule.catalog import SCHEDULE_IDS
    from immunis.settings import get_settings

    if schedule not in SCHEDULE_IDS:
        errors.print(f"[bold red]error:[/] unknown schedule {schedule!r}")
        raise typer.Exit(2)
    try:
        assessment = date.fromisoformat(on) if on else date.today()
    except ValueError as error:
        errors.print(f"[bold red]error:[/] --date: {on!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from error
    if (source is Source.PARQUET) != (folder is not None):
        errors.print("[bold red]error:[/] give a folder after --source parquet, none with db")
        raise typer.Exit(2)
    if folder is not None and not (folder / "persons.parquet").exists():
        errors.print(f"[bold red]error:[/] no persons.parquet in {folder}")
        raise typer.Exit(2)
    if fresh and out.exists():
        shutil.rmtree(out)
    settings = get_settings()
    request = RunRequest(
        source=str(folder) if folder is not None else "db",
        schedule_id=schedule,
        assessment_date=assessment,
        out=out,
        partitions=partitions,
        database_url=settings.database_url if source is Source.DB else None,
    )
    with (
        dask_client(scheduler or settings.dask_scheduler_address) as client,
        Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=errors,
        ) as progress,
    ):
        bar = progress.add_task("partitions", total=None)

        def planned(total: int, skipped: int) -> None:
            progress.update(bar, total=total, completed=skipped)

        try:
            report = run_forecast_all(request, client, lambda done: progress.advance(bar), planned)
        except RunMismatchError as error:
            errors.print(f"[bold red]error:[/] {error}")
            raise typer.Exit(2) from error
    errors.print(
        f"{report.persons:,} people forecast in {len(report.done)} partitions "
        f"({report.skipped} already done) into {out}"
    )
    for number, why in sorted(report.failed.items()):
        errors.print(f"[red]partition {number} failed:[/] {why}")
    if report.failed:
        errors.print("run the same command again to redo only the failed partitions")
        raise typer.Exit(1)
