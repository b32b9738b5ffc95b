"""The `immunis` command line."""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from immunis import admin_cli, conformance, dedup_cli
from immunis.allocation.commands import allocate_command
from immunis.analytics.commands import coverage as coverage_command
from immunis.batch import cli as batch_cli
from immunis.forecast import ForecastInputError, forecast
from immunis.forecast_report import forecast_to_dict, print_forecast
from immunis.interop.hl7v2.mllp import mllp_command
from immunis.outreach.commands import outbox_app, reminders_app
from immunis.patient_file import PatientFileError, read_patient
from immunis.safety.commands import app as signals_app
from immunis.schedule.catalog import SCHEDULE_IDS, UnknownScheduleError, load_schedule
from immunis.schedule.model import Schedule
from immunis.synth import cli as synth_cli

app = typer.Typer(help="immunis: lifelong immunization records and CDSi forecasting.")
schedule_app = typer.Typer(help="Schedules: list them, convert CDC's XML to the project format.")
app.add_typer(schedule_app, name="schedule")
app.add_typer(admin_cli.db_app, name="db")
app.add_typer(admin_cli.site_app, name="site")
app.add_typer(admin_cli.org_app, name="org")
app.add_typer(admin_cli.user_app, name="user")
app.add_typer(admin_cli.token_app, name="token")
app.add_typer(dedup_cli.app, name="dedup")
app.add_typer(signals_app, name="signals")
app.add_typer(reminders_app, name="reminders")
app.add_typer(outbox_app, name="outbox")

# Piped output gets room for the forecast table's columns instead of rich's default 80.
console = Console() if sys.stdout.isatty() else Console(width=130)
errors = Console(stderr=True)

EXAMPLES = Path(__file__).resolve().parent / "examples"

# What conformance.run_case reads from every case; a line without them is not a CDSi case.
CASE_KEYS = ("id", "name", "vaccine_group", "date_of_birth", "assessment_date", "doses", "expected")


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def _fail(message: str, code: int = 2) -> typer.Exit:
    # Messages quote user input ("[/x]" is not Rich markup) and paths (not to be cut in two).
    errors.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


def _schedule(schedule_id: str) -> Schedule:
    try:
        return load_schedule(schedule_id)
    except UnknownScheduleError as error:
        raise _fail(str(error.args[0])) from error


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise _fail(f"--date: {text!r} is not a date (YYYY-MM-DD)") from error


@app.command("forecast")
def forecast_command(
    patient_file: Annotated[Path, typer.Argument(help="Patient JSON file (see docs/cli.md).")],
    schedule: Annotated[str, typer.Option(help=f"One of: {', '.join(SCHEDULE_IDS)}.")] = "us-acip",
    on: Annotated[
        str | None, typer.Option("--date", help="Assessment date, YYYY-MM-DD (default: today).")
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TEXT,
) -> None:
    """Evaluate a patient's doses and forecast every vaccine group."""
    try:
        patient, doses, file_date = read_patient(patient_file)
    except PatientFileError as error:
        raise _fail(f"{patient_file}: {error}") from error
    assessment = _parse_date(on) or file_date or date.today()
    chosen = _schedule(schedule)
    try:
        answer = forecast(patient, doses, assessment, chosen)
    except ForecastInputError as error:
        raise _fail(str(error)) from error
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(forecast_to_dict(answer, only_relevant=True), ensure_ascii=False))
    else:
        print_forecast(answer, chosen, console)


@app.command("conformance")
def conformance_command(
    cases_file: Annotated[Path, typer.Argument(help="CDC test cases as JSON lines.")],
    as_json: Annotated[bool, typer.Option("--json", help="End with a JSON summary line.")] = False,
    schedule: Annotated[str, typer.Option(help="Schedule to run the cases on.")] = "us-acip",
) -> None:
    """Run CDC's CDSi test cases and report pass/fail per vaccine group."""
    try:
        cases = list(conformance.read_cases(cases_file))
    except (OSError, ValueError) as error:
        raise _fail(f"{cases_file}: {error}") from error
    for number, case in enumerate(cases, start=1):
        missing = [key for key in CASE_KEYS if key not in case] if isinstance(case, dict) else []
        if not isinstance(case, dict) or missing:
            problem = f"missing {', '.join(missing)}" if missing else "not a JSON object"
            raise _fail(f"{cases_file}: case {number} is not a CDSi test case ({problem})")
    chosen = _schedule(schedule)
    results = []
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    ) as progress:
        task = progress.add_task("CDC test cases", total=len(cases))
        for case in cases:
            results.append(conformance.run_case(case, chosen))
            progress.advance(task)
    summary = conformance.summary(results)
    table = Table(title=f"CDSi conformance: {summary['passed']}/{summary['total']} passed")
    table.add_column("Vaccine group")
    table.add_column("Passed", justify="right")
    table.add_column("Total", justify="right")
    for group, counts in summary["by_group"].items():
        style = "green" if counts["passed"] == counts["total"] else "red"
        table.add_row(group, f"[{style}]{counts['passed']}[/]", str(counts["total"]))
    (errors if as_json else console).print(table)
    for failure in summary["failures"]:
        label = escape(f"{failure['id']} [{failure['group']}] {failure['name']}")
        errors.print(f"[red]FAIL[/] {label}")
        for why in failure["why"]:
            errors.print(f"      {escape(why)}")
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    if summary["passed"] != summary["total"]:
        raise typer.Exit(1)


@schedule_app.command("list")
def schedule_list() -> None:
    """The schedules shipped with immunis."""
    table = Table()
    for column in ("Id", "Title", "Version", "Antigens", "Vaccine groups"):
        table.add_column(column)
    for schedule_id in SCHEDULE_IDS:
        loaded = load_schedule(schedule_id)
        table.add_row(
            schedule_id,
            loaded.title,
            loaded.version,
            str(len(loaded.antigens)),
            str(len(loaded.vaccine_groups)),
        )
    console.print(table)


@schedule_app.command("convert")
def schedule_convert(
    folder: Annotated[Path, typer.Argument(help="Folder of CDC CDSi supporting-data XML files.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of standard output.")
    ] = None,
    version: Annotated[
        str, typer.Option(help="The supporting data's release, e.g. 4.64 (the XML has none).")
    ] = "",
) -> None:
    """Convert CDC's CDSi supporting data XML to the project's YAML schedule format."""
    from immunis.schedule.convert import cdc_xml_to_yaml

    try:
        text = cdc_xml_to_yaml(folder, version=version)
    except (OSError, ValueError) as error:
        raise _fail(f"{folder}: {error}") from error
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        errors.print(f"wrote {out}")


@app.command("demo")
def demo(
    on: Annotated[str | None, typer.Option("--date", help="Assessment date, YYYY-MM-DD.")] = None,
    serve: Annotated[
        bool, typer.Option("--serve", help="Run the registry and its API on a demo database.")
    ] = False,
    host: Annotated[str, typer.Option(help="With --serve: address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="With --serve: port to listen on.")] = 8000,
    url: Annotated[
        str, typer.Option("--url", help="With --serve: the demo database.")
    ] = "sqlite:///./immunis-demo.db",
) -> None:
    """Show the engine at work on the example patients with the Vietnam and US schedules.

    With --serve, run the product instead: seed a demo database (sites, people, doses, users)
    and serve the API on it.
    """
    if serve:
        admin_cli.serve_demo(url, host, port)
        return
    assessment = _parse_date(on) or date.today()
    for example, schedule_id in (("vn-infant.json", "vn"), ("us-toddler.json", "us-acip")):
        patient, doses, _ = read_patient(EXAMPLES / example)
        chosen = load_schedule(schedule_id)
        console.rule(f"{example} on the {chosen.title}")
        print_forecast(forecast(patient, doses, assessment, chosen), chosen, console)


app.command("serve")(admin_cli.serve)
app.command("import")(admin_cli.import_files)
app.command("synth")(synth_cli.synth)
app.command("coverage")(coverage_command)
app.command("allocate")(allocate_command)
app.command("forecast-all")(batch_cli.forecast_all)
app.command("mllp")(mllp_command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
