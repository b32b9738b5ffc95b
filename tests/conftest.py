"""Shared fixtures: the shipped schedules, loaded once, and CDC's test cases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from immunis.schedule.catalog import load_schedule
from immunis.schedule.model import Schedule

REPO = Path(__file__).resolve().parents[1]


def cdsi_cases_path() -> Path:
    """CDC's test cases: IMMUNIS_CDSI_TESTCASES, else the shared folder beside the repository."""
    configured = os.environ.get("IMMUNIS_CDSI_TESTCASES")
    return Path(configured) if configured else REPO.parent / "shared" / "cdsi" / "testcases.jsonl"


@pytest.fixture(scope="session")
def us_schedule() -> Schedule:
    return load_schedule("us-acip")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The CDSi conformance tally per vaccine group, when the conformance tests ran."""
    from tests.forecast.test_conformance import TALLY

    if not TALLY:
        return
    terminalreporter.section("CDSi conformance by vaccine group")
    total = passed = 0
    for group, counts in sorted(TALLY.items()):
        terminalreporter.write_line(f"  {group:<16} {counts['passed']:>4}/{counts['total']}")
        total += counts["total"]
        passed += counts["passed"]
    terminalreporter.write_line(f"  {'all':<16} {passed:>4}/{total}")


# --- Databases: every database test runs on SQLite and on PostgreSQL -----------------------------

import shutil  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from immunis.migrate import upgrade  # noqa: E402

BACKENDS = ("sqlite", "postgresql")


def postgres_url() -> str:
    """IMMUNIS_TEST_POSTGRES_URL; without it the PostgreSQL tests fail, they never skip."""
    url = os.environ.get("IMMUNIS_TEST_POSTGRES_URL")
    if not url:
        pytest.fail("IMMUNIS_TEST_POSTGRES_URL is not set (scripts/test and .ci/run set it)")
    return url


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(postgres_url(), isolation_level="AUTOCOMMIT")


@contextmanager
def scratch_postgres_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """The URL of a new database on the test server, empty or a copy of `template`, dropped
    (with whatever is still connected to it) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield make_url(postgres_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "immunis.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    name = f"immunis_tpl_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        pytest.fail(f"cannot reach PostgreSQL at IMMUNIS_TEST_POSTGRES_URL: {error}")
    upgrade(make_url(postgres_url()).set(database=name).render_as_string(hide_password=False))
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "immunis.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    with scratch_postgres_database("immunis_t", template) as url:
        yield url
