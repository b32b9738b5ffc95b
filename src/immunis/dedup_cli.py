"""`immunis dedup`: find people recorded twice in the configured database."""

from __future__ import annotations

import csv
import getpass
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(help="Duplicates: find people recorded twice.")
errors = Console(stderr=True)

CSV_COLUMNS = ("first_id", "second_id", "score", "likelihood", "reasons")


@app.command("scan")
def scan(
    province: Annotated[
        str | None,
        typer.Option(help="Only people living in this province (2-digit code)."),
    ] = None,
    min_score: Annotated[
        float, typer.Option(help="Report pairs scoring at least this (0..1).", min=0.0, max=1.0)
    ] = 0.7,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="CSV file to write (default: stdout).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Rows read per query.", min=100)] = 5000,
) -> None:
    """Scan the registry for pairs of records that may be one person, and write them as CSV
    (record ids, score, likelihood, reasons: no names). Runs as the system actor (see
    `immunis.access.system`) on IMMUNIS_DATABASE_URL; the scan is written to the audit log."""
    from immunis.access.system import system_actor
    from immunis.db import make_engine, make_sessionmaker, transaction
    from immunis.registry.dedup import likelihood
    from immunis.registry.duplicates import count_scan_rows, scan_duplicates
    from immunis.settings import get_settings

    if province is not None and not (len(province) == 2 and province.isdigit()):
        errors.print(f"[bold red]error:[/] --province {province!r} is not a 2-digit code")
        raise typer.Exit(2)
    actor = system_actor(getpass.getuser())
    engine = make_engine(get_settings().database_url)
    found = {"likely": 0, "possible": 0, "other": 0}
    target: nullcontext[TextIO] | TextIO = (
        nullcontext(sys.stdout) if out is None else out.open("w", newline="", encoding="utf-8")
    )
    try:
        with (
            target as stream,
            transaction(make_sessionmaker(engine)) as session,
            Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=errors,
            ) as progress,
        ):
            task = progress.add_task(
                "records read", total=count_scan_rows(session, actor, province_code=province)
            )
            writer = csv.writer(stream)
            writer.writerow(CSV_COLUMNS)
            for pair in scan_duplicates(
                session,
                actor,
                province_code=province,
                min_score=min_score,
                batch_size=batch_size,
                progress=lambda rows: progress.advance(task, rows),
            ):
                kind = likelihood(pair.score)
                found[kind or "other"] += 1
                writer.writerow(
                    (
                        pair.first_id,
                        pair.second_id,
                        f"{pair.score:.3f}",
                        kind or "",
                        "; ".join(pair.reasons),
                    )
                )
    finally:
        engine.dispose()
    where = f" to {out}" if out else ""
    errors.print(
        f"{sum(found.values())} pairs{where}: {found['likely']} likely, "
        f"{found['possible']} possible, {found['other']} below the possible threshold"
    )
