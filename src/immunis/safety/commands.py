"""`immunis signals run`: signal detection from the server's command line (e.g. nightly)."""

from __future__ import annotations

import getpass
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from immunis.access.system import system_actor
from immunis.db import make_engine, make_sessionmaker, transaction
from immunis.errors import DomainError
from immunis.safety import service
from immunis.settings import get_settings

app = typer.Typer(help="Vaccine safety signal detection over the AEFI reports.")
out = Console()
errors = Console(stderr=True)


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        errors.print(f"[bold red]error:[/] {option}: {escape(text)!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from error


@app.command("run")
def run(
    since: Annotated[
        str | None, typer.Option(help="First vaccination date counted, YYYY-MM-DD (default: all).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Last date counted (default: today).")] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Database URL (default: IMMUNIS_DATABASE_URL).")
    ] = None,
) -> None:
    """Run every signal detection method, store the run, raise lot alerts to the lab."""
    start, end = _day(since, "--since"), _day(until, "--until")
    engine = make_engine(url or get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            result = service.run_signals(
                session, system_actor(getpass.getuser()), period_start=start, period_end=end
            )
    except DomainError as error:
        errors.print(f"[bold red]error:[/] {escape(str(error))}")
        raise typer.Exit(2) from error
    finally:
        engine.dispose()
    table = Table(title=f"Signal run {result.id}: {result.summary['reports']} reports")
    for column in ("Method", "Vaccine", "Event", "Stratum", "Observed", "Expected"):
        table.add_column(column)
    for found in result.results or []:
        if found.signal:
            stratum = (
                found.stratum_kind
                if found.stratum is None
                else f"{found.stratum_kind} {found.stratum}"
            )
            expected = "" if found.expected is None else f"{found.expected:.2f}"
            table.add_row(
                found.method, found.cvx, found.event_code, stratum, str(found.observed), expected
            )
    out.print(table)
    out.print(
        f"signals: {result.summary['signals'] or 'none'}; "
        f"lot alerts raised: {result.summary['lot_alerts_raised']}"
    )
