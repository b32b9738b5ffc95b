"""`immunis reminders build` and `immunis outbox send|status`: outreach from the server's
command line, as the system actor (`access/system.py`) on IMMUNIS_DATABASE_URL or --url."""

from __future__ import annotations

import getpass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from immunis.outreach.due import LOOKBACK_DAYS

reminders_app = typer.Typer(help="Reminder and recall messages from the forecasts.")
outbox_app = typer.Typer(help="The outbox: messages waiting to be delivered.")
out = Console()
errors = Console(stderr=True)

Url = Annotated[
    str | None,
    typer.Option("--url", help="Database URL (default: IMMUNIS_DATABASE_URL, else ./immunis.db)."),
]


class Source(StrEnum):
    LIVE = "live"
    BATCH = "batch"


class Programmes(StrEnum):
    TCMR = "tcmr"
    SERVICES = "services"
    ALL = "all"


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(2)


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
    )


@reminders_app.command("build")
def build(
    site: Annotated[str | None, typer.Option(help="A site's code: the people it manages.")] = None,
    area: Annotated[
        str | None, typer.Option(help="A province, district or commune code: its residents.")
    ] = None,
    on: Annotated[str | None, typer.Option(help="The day, YYYY-MM-DD (default today).")] = None,
    window: Annotated[
        int, typer.Option(min=0, max=366, help="Days ahead that count as due soon.")
    ] = 30,
    lookback: Annotated[
        int, typer.Option(min=0, help="Days back a due date may lie (default 5 years).")
    ] = LOOKBACK_DAYS,
    source: Annotated[
        Source,
        typer.Option(help="live: forecast each person now; batch: the last forecast-all run."),
    ] = Source.LIVE,
    programme: Annotated[
        Programmes, typer.Option(help="tcmr (the free programme's doses), services, or all.")
    ] = Programmes.TCMR,
    language: Annotated[
        str | None, typer.Option(help="vi or en (default: IMMUNIS_LANGUAGE).")
    ] = None,
    url: Url = None,
) -> None:
    """Queue a reminder for everyone due soon and everyone late (to a guardian for a child);
    nobody is told twice about the same dose, however often this runs."""
    from immunis.access.system import system_actor
    from immunis.db import make_engine, make_sessionmaker, transaction
    from immunis.errors import DomainError
    from immunis.outreach import service
    from immunis.settings import get_settings

    if (site is None) == (area is None):
        raise _fail("give --site CODE or --area CODE")
    try:
        day = date.fromisoformat(on) if on else date.today()
    except ValueError as error:
        raise _fail(f"--on: {on!r} is not a date (YYYY-MM-DD)") from error
    settings = get_settings()
    request = service.ListRequest(
        on=day,
        window_days=window,
        lookback_days=lookback,
        source=source.value,
        programme=programme.value,
    )
    engine = make_engine(url or settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session, _progress() as progress:
            task = progress.add_task("people", total=None)
            report = service.build_reminders(
                session,
                system_actor(getpass.getuser()),
                request,
                site_code=site,
                area_code=area,
                language=language or settings.language,
                base_url=settings.public_base_url,
                progress=lambda people: progress.advance(task, people),
            )
    except DomainError as error:
        raise _fail(str(error)) from error
    finally:
        engine.dispose()
    out.print(
        f"{report.people:,} people looked at, {report.due_people:,} due; "
        f"{report.queued:,} reminders queued, {report.already_told:,} doses already reminded, "
        f"{len(report.unreachable):,} people with no phone to write to",
        soft_wrap=True,
    )


@outbox_app.command("send")
def send(
    adapter: Annotated[
        str, typer.Option(help="file (JSON lines under IMMUNIS_DATA_DIR), sms, email or webhook.")
    ] = "file",
    limit: Annotated[
        int | None, typer.Option(min=1, help="Try at most this many messages.")
    ] = None,
    url: Url = None,
) -> None:
    """Deliver the queued messages that are due. Safe to run twice at once: a message is only
    ever sent by one of them, and never again once sent."""
    from immunis.access.system import system_actor
    from immunis.db import make_engine, make_sessionmaker, transaction
    from immunis.outreach import service
    from immunis.outreach.delivery import adapter_named
    from immunis.outreach.flows import send_outbox
    from immunis.settings import get_settings

    settings = get_settings()
    try:
        chosen = adapter_named(adapter, settings)
    except ValueError as error:
        raise _fail(str(error)) from error
    engine = make_engine(url or settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as session:
            due = service.sendable_count(session, datetime.now(UTC))
        with _progress() as progress:
            task = progress.add_task(f"messages via {chosen.name}", total=min(due, limit or due))
            report = send_outbox(
                sessions,
                chosen,
                system_actor(getpass.getuser()),
                language=settings.language,
                max_attempts=settings.outbox_max_attempts,
                retry_seconds=settings.outbox_retry_seconds,
                limit=limit,
                progress=lambda outcome: progress.advance(task),
            )
    finally:
        engine.dispose()
    out.print(
        f"{report.sent:,} sent, {report.retry:,} to retry later, {report.failed:,} failed "
        f"(adapter {chosen.name})",
        soft_wrap=True,
    )
    if report.failed:
        raise typer.Exit(1)


@outbox_app.command("status")
def status(url: Url = None) -> None:
    """How many messages are queued, being sent, sent and failed."""
    from immunis.db import make_engine, make_sessionmaker, transaction
    from immunis.outreach import service
    from immunis.settings import get_settings

    engine = make_engine(url or get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            counts = service.outbox_counts(session)
    finally:
        engine.dispose()
    for name in ("queued", "sending", "sent", "failed"):
        out.print(f"{name:<8} {counts.get(name, 0):>8,}")
