"""Running immunis from the command line: the database, sites and organisations, users and
tokens, the HTTP server, bulk imports. `cli.py` mounts these on `immunis`.

Every command works on IMMUNIS_DATABASE_URL (or --url), in one transaction, and answers bad input
with a message and exit code 2.
"""

from __future__ import annotations

import getpass
import secrets
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from immunis.access.models import User
from immunis.access.passwords import set_password
from immunis.access.policy import Actor, Role
from immunis.access.service import actor_for, create_user, find_user, issue_token, revoke_tokens
from immunis.access.system import system_actor
from immunis.db import make_engine, make_sessionmaker, transaction
from immunis.errors import DomainError
from immunis.registry import sites
from immunis.registry.schemas import OrganizationIn, SiteIn
from immunis.settings import get_settings

if TYPE_CHECKING:
    from immunis.importer.service import ImportResult

# Alembic, the web app with all its rooms, and the importer are imported where they are used:
# `immunis forecast` and the other engine commands should not wait seconds for them to load.

db_app = typer.Typer(help="The database: bring it to the newest revision, show its revision.")
site_app = typer.Typer(help="Vaccination sites.")
org_app = typer.Typer(help="Health organisations.")
user_app = typer.Typer(help="User accounts.")
token_app = typer.Typer(help="API bearer tokens.")

out = Console()
errors = Console(stderr=True)

Url = Annotated[
    str | None,
    typer.Option("--url", help="Database URL (default: IMMUNIS_DATABASE_URL, else ./immunis.db)."),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


def _database_url(url: str | None) -> str:
    return url or get_settings().database_url


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _revisions(url: str) -> tuple[set[str], set[str]]:
    """The revisions the database is at (one per migration branch), and the code's revisions
    it has not had yet."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from immunis.migrate import alembic_config

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except OperationalError as error:
        raise _fail(f"cannot open the database at {_shown(url)}: {error.orig}") from error
    finally:
        engine.dispose()
    script = ScriptDirectory.from_config(alembic_config(url))

    def with_ancestors(revisions: Iterable[str]) -> set[str]:
        # A revision brings its parents and what it depends on (Alembic stores neither).
        found: set[str] = set()
        pending = list(revisions)
        while pending:
            revision = script.get_revision(pending.pop())
            if revision is None or revision.revision in found:
                continue
            found.add(revision.revision)
            for parents in (revision.down_revision, revision.dependencies):
                pending.extend((parents,) if isinstance(parents, str) else parents or ())
        return found

    return current, with_ancestors(script.get_heads()) - with_ancestors(current)


def _revision_text(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions)) or "none (empty database)"


def _upgrade(url: str) -> str:
    """Bring the database to the newest revision; what it is now, to print."""
    from immunis.migrate import upgrade

    _revisions(url)  # a clear error, rather than Alembic's traceback, when it cannot connect
    upgrade(url)
    current, _ = _revisions(url)
    return f"database {_shown(url)} at revision {_revision_text(current)} (up to date)"


@contextmanager
def _session(url: str | None) -> Iterator[Session]:
    """One transaction on a database at the newest revision; domain errors exit 2."""
    url = _database_url(url)
    current, missing = _revisions(url)
    if missing:
        raise _fail(
            f"database {_shown(url)} is at revision {_revision_text(current)}, without "
            f"{_revision_text(missing)}: run `immunis db upgrade`"
        )
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            yield session
    except DomainError as error:
        raise _fail(str(error)) from error
    except ValidationError as error:
        raise _fail(_validation_message(error)) from error
    finally:
        engine.dispose()


def _validation_message(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in error.errors()
    )


def operator() -> Actor:
    """The command line's actor (`access/system.py`) as an administrator, which managing sites
    and organisations needs: whoever runs these commands holds the database anyway."""
    return replace(system_actor(getpass.getuser()), role=Role.ADMIN)


def _site_id(session: Session, code: str) -> str:
    found = sites.search_sites(session, operator(), code=code)
    if not found:
        raise _fail(f"no site with code {code}")
    return found[0].id


def _organization_id(session: Session, code: str) -> str:
    found = sites.search_organizations(session, operator(), code=code)
    if not found:
        raise _fail(f"no organization with code {code}")
    return found[0].id


@db_app.command("upgrade")
def db_upgrade(url: Url = None) -> None:
    """Bring the database to the newest revision (creating a SQLite file if there is none)."""
    out.print(_upgrade(_database_url(url)), soft_wrap=True)


@db_app.command("current")
def db_current(url: Url = None) -> None:
    """Show the database's revision; exit 1 when the code has revisions it has not had."""
    current, missing = _revisions(_database_url(url))
    if not missing:
        out.print(f"{_revision_text(current)} (up to date)")
        return
    out.print(f"{_revision_text(current)}; not applied yet: {_revision_text(missing)}")
    errors.print("run `immunis db upgrade`")
    raise typer.Exit(1)


@site_app.command("add")
def site_add(
    code: Annotated[str, typer.Option(help="The site's code, unique (e.g. HN-BADINH-01).")],
    name: Annotated[str, typer.Option(help="The site's name.")],
    province: Annotated[str, typer.Option(help="2-digit GSO province code.")],
    district: Annotated[str, typer.Option(help="3-digit GSO district code.")],
    commune: Annotated[str, typer.Option(help="5-digit GSO commune code.")],
    kind: Annotated[str, typer.Option(help="e.g. commune-health-station, private-centre.")] = (
        "commune-health-station"
    ),
    org: Annotated[str | None, typer.Option(help="Code of the organisation it belongs to.")] = None,
    url: Url = None,
) -> None:
    """Register a vaccination site."""
    with _session(url) as session:
        created = sites.create_site(
            session,
            operator(),
            SiteIn.model_validate(
                {
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "organization_id": _organization_id(session, org) if org else None,
                    "address": {
                        "province_code": province,
                        "district_code": district,
                        "commune_code": commune,
                    },
                }
            ),
        )
    out.print(f"site {escape(created.code)} added: {created.id}")


@org_app.command("add")
def org_add(
    code: Annotated[str, typer.Option(help="The organisation's code, unique (e.g. HN-CDC).")],
    name: Annotated[str, typer.Option(help="The organisation's name.")],
    kind: Annotated[str, typer.Option(help="public or private.")] = "public",
    parent: Annotated[str | None, typer.Option(help="Code of the parent organisation.")] = None,
    url: Url = None,
) -> None:
    """Register a health organisation."""
    with _session(url) as session:
        created = sites.create_organization(
            session,
            operator(),
            OrganizationIn.model_validate(
                {
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "parent_id": _organization_id(session, parent) if parent else None,
                }
            ),
        )
    out.print(f"organization {escape(created.code)} added: {created.id}")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="The login name, unique.")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    site: Annotated[str | None, typer.Option(help="Site code (vaccinators, integrations).")] = None,
    area: Annotated[
        str | None, typer.Option(help="Province (2 digits) or district (3) code (officers).")
    ] = None,
    person: Annotated[str | None, typer.Option(help="The citizen's own person id.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name (default: the username).")] = None,
    url: Url = None,
) -> None:
    """Create a user account (then `immunis token issue` gives it a token)."""
    with _session(url) as session:
        created = create_user(
            session,
            username=username,
            role=role,
            display_name=name,
            site_id=_site_id(session, site) if site else None,
            area_code=area,
            person_id=person,
        )
    out.print(f"user {escape(created.username)} ({created.role}) added: {created.id}")


def _user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise _fail(f"no user {username}")
    return user


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="Whose password.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input (scripts)."),
    ] = False,
    url: Url = None,
) -> None:
    """Set the password a user signs in to the web pages with (asked twice, not echoed)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with _session(url) as session:
        set_password(session, _user(session, username), password)
    out.print(f"password of {escape(username)} set")


@token_app.command("issue")
def token_issue(
    username: Annotated[str, typer.Argument(help="Whose token.")],
    days: Annotated[int, typer.Option(min=1, max=3650, help="Days until it expires.")] = 365,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    url: Url = None,
) -> None:
    """Issue a bearer token and print it: it is shown this once, only its hash is kept."""
    with _session(url) as session:
        token = issue_token(session, _user(session, username), label=label, days=days)
    typer.echo(token)
    errors.print(f"token for {escape(username)}, valid {days} days; it is not shown again")


@token_app.command("revoke")
def token_revoke(
    username: Annotated[str, typer.Argument(help="Whose tokens.")],
    token: Annotated[
        str | None, typer.Option(help="Revoke only this token (default: all of the user's).")
    ] = None,
    url: Url = None,
) -> None:
    """Revoke a user's tokens, or one of them."""
    with _session(url) as session:
        count = revoke_tokens(session, _user(session, username), token)
    if token is not None and count == 0:
        raise _fail(f"that token is not an active token of {username}")
    out.print(f"revoked {count} token{'s' * (count != 1)} of {escape(username)}")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    url: Url = None,
) -> None:
    """Bring the database to the newest revision, then serve the HTTP API (OpenAPI at /docs)."""
    url = _database_url(url)
    errors.print(_upgrade(url), soft_wrap=True)
    run_server(url, host, port)


def run_server(url: str, host: str, port: int) -> None:
    """Serve the app on the database at `url` until interrupted."""
    import uvicorn

    from immunis.app import create_app

    errors.print(f"serving http://{host}:{port}/ (API docs at http://{host}:{port}/docs)")
    app = create_app(get_settings().model_copy(update={"database_url": url}))
    try:
        uvicorn.run(app, host=host, port=port)
    finally:
        app.state.engine.dispose()  # closed connections let SQLite fold its WAL back in


def import_files(
    files: Annotated[list[Path], typer.Argument(help="FHIR NDJSON or HL7 v2 batch files.")],
    as_user: Annotated[
        str,
        typer.Option(
            "--as",
            help="The account the import acts as (an integration or vaccinator of the site "
            "the records come from): its rights apply and the audit log names it.",
        ),
    ],
    file_format: Annotated[
        str, typer.Option("--format", help="auto, fhir-ndjson or hl7.")
    ] = "auto",
    batch_size: Annotated[
        int, typer.Option(min=1, help="Records per transaction (and per resume point).")
    ] = 500,
    rejects: Annotated[
        Path, typer.Option(help="Rejected records are appended here (JSON lines).")
    ] = Path("rejects.jsonl"),
    url: Url = None,
) -> None:
    """Import FHIR NDJSON or HL7 v2 batch files into the registry.

    Resumable: run the same command again after an interruption and it continues after the last
    committed batch; a file imported before is skipped. Exits 1 when a record was rejected.
    """
    from immunis.importer.service import FORMATS, detect_format, import_file

    if file_format not in ("auto", *FORMATS):
        raise _fail(f"--format {file_format}: one of auto, {', '.join(FORMATS)}")
    formats = {}
    for path in files:
        if not path.is_file():
            raise _fail(f"{path}: no such file")
        try:
            formats[path] = detect_format(path) if file_format == "auto" else file_format
        except ValueError as error:
            raise _fail(str(error)) from error
    url = _database_url(url)
    with _session(url) as session:
        actor = actor_for(session, _user(session, as_user), channel="cli")
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    summary: list[str] = []
    rejected = 0
    try:
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=errors,
        ) as progress:
            for path, chosen in formats.items():
                task = progress.add_task(escape(path.name), total=path.stat().st_size)

                def committed(offset: int, task: TaskID = task) -> None:
                    progress.update(task, completed=offset)

                result = import_file(
                    sessions,
                    actor,
                    path,
                    chosen,
                    rejects=rejects,
                    batch_size=batch_size,
                    on_batch=committed,
                )
                summary.append(f"{path} ({chosen}): {_outcome(result)}")
                rejected += result.rejected
    except (KeyboardInterrupt, OperationalError) as error:
        stopped = "interrupted" if isinstance(error, KeyboardInterrupt) else f"stopped: {error}"
        raise _fail(
            f"{stopped}. The batches committed so far are kept: run the same command again to "
            "continue after them.",
            code=130 if isinstance(error, KeyboardInterrupt) else 1,
        ) from error
    finally:
        engine.dispose()
    for line in summary:
        typer.echo(line)
    if rejected:
        errors.print(f"{rejected} rejected record(s) appended to {escape(str(rejects))}")
        raise typer.Exit(1)


def _outcome(result: ImportResult) -> str:
    if result.already_imported:
        return "imported before, nothing to do"
    counts = f"{result.created} created, {result.unchanged} unchanged, {result.rejected} rejected"
    if result.resumed_after_line:
        return f"{counts} (resumed after line {result.resumed_after_line})"
    return counts


def serve_demo(url: str, host: str, port: int) -> None:
    """The product on its embedded default: a demo database (made or brought up to date),
    seeded with a small world whose users get new tokens, served until interrupted."""
    from immunis.demo_world import seed_demo_world

    errors.print(_upgrade(url), soft_wrap=True)
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            world = seed_demo_world(session, operator())
            # New each start, like the tokens: a demo database holds no password worth keeping.
            passwords = {name: secrets.token_urlsafe(9) for name in world.tokens}
            for name, password in passwords.items():
                set_password(session, _user(session, name), password)
    finally:
        engine.dispose()
    base = f"http://{host}:{port}"
    vaccinator, citizen = world.tokens["demo-vaccinator"], world.tokens["demo-citizen"]
    infant = world.people["vn-infant"]
    # Plain lines, never wrapped: the tokens and commands are there to be copied.
    for line in (
        "",
        "immunis demo: a province's CDC, two sites, a mother and her two children with their doses",
        f"  API docs (OpenAPI)  {base}/docs",
        f"  health              {base}/health",
        "",
        "Tokens, shown this once (valid 30 days; in /docs put 'Bearer TOKEN' in authorization):",
        f"  demo-vaccinator  {vaccinator}",
        f"  demo-citizen     {citizen}",
        "",
        f"Web pages at {base}/ : sign in as demo-vaccinator with password "
        f"{passwords['demo-vaccinator']}, or demo-citizen with {passwords['demo-citizen']}",
        "",
        "Try: the infant's forecast on the Vietnam schedule, as the vaccinator of his commune",
        f'  curl -H "Authorization: Bearer {vaccinator}" '
        f'"{base}/api/persons/{infant}/forecast?schedule=vn"',
        "and his doses, as his mother",
        f'  curl -H "Authorization: Bearer {citizen}" "{base}/api/persons/{infant}/immunizations"',
        "",
    ):
        typer.echo(line)
    run_server(url, host, port)
