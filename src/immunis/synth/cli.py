"""`immunis synth`: generate the synthetic population."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

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

# The population's "today" unless --as-of says otherwise: a fixed date keeps a seed reproducible.
DEFAULT_AS_OF = "2026-11-01"

errors = Console(stderr=True)


def synth(
    persons: Annotated[
        int, typer.Option(min=1_000, max=100_000_000, help="People in the population.")
    ] = 10_000,
    seed: Annotated[int, typer.Option(help="The same seed gives the same population.")] = 1,
    out: Annotated[Path, typer.Option(help="Folder for the Parquet files.")] = Path("synthetic"),
    db: Annotated[
        bool, typer.Option("--db/--no-db", help="Also load it into IMMUNIS_DATABASE_URL.")
    ] = False,
    chunk_size: Annotated[
        int, typer.Option(min=500, help="People per chunk (Parquet row group); a multiple of 500.")
    ] = 100_000,
    as_of: Annotated[
        str, typer.Option(help="The date the population is drawn on, YYYY-MM-DD.")
    ] = DEFAULT_AS_OF,
) -> None:
    """Generate a synthetic Viet Nam: areas, sites, people and their vaccination records."""
    from immunis.synth.parquet import write_population
    from immunis.synth.population import BLOCK, Chunk, Population
    from immunis.synth.service import load_chunk

    if chunk_size % BLOCK:
        errors.print(f"[bold red]error:[/] --chunk-size must be a multiple of {BLOCK}")
        raise typer.Exit(2)
    try:
        as_of_date = date.fromisoformat(as_of)
    except ValueError as error:
        errors.print(f"[bold red]error:[/] --as-of: {as_of!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from error
    population = Population(persons, seed, as_of_date)
    engine = None
    if db:
        from sqlalchemy.exc import IntegrityError

        from immunis.db import make_engine
        from immunis.settings import get_settings
        from immunis.synth.service import load_sites

        engine = make_engine(get_settings().database_url)
        try:
            load_sites(engine, population.geography.sites)
        except IntegrityError as error:
            errors.print("[bold red]error:[/] the database already holds a synthetic population")
            raise typer.Exit(1) from error
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors,
    ) as progress:
        task = progress.add_task("people", total=persons)

        def advance(chunk: Chunk) -> None:
            if engine is not None:
                load_chunk(engine, chunk)
            originals = chunk.persons.num_rows - chunk.persons["duplicate_of"].drop_null().length()
            progress.advance(task, originals)

        counts = write_population(population, out, chunk_size, advance)
    errors.print(
        f"wrote {counts['persons']:,} person records ({counts['duplicates']:,} duplicates) and "
        f"{counts['immunizations']:,} doses to {out}" + (", and loaded them" if db else "")
    )
