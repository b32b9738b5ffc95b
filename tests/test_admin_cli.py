"""Running immunis from the command line on both databases: migrate, add sites and users, issue
tokens that then work on the API, serve, and the demo as the embedded default product."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from immunis.app import create_app
from immunis.cli import app
from immunis.migrate import alembic_config
from immunis.settings import Settings
from tests.conftest import BACKENDS, scratch_postgres_database

runner = CliRunner()


def immunis(*args: str) -> Result:
    return runner.invoke(app, list(args))


def succeeded(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, on each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with scratch_postgres_database("immunis_e") as url:
        yield url


def add_site(url: str, code: str = "HN-BADINH-01") -> None:
    succeeded(
        immunis(
            "site", "add", "--code", code, "--name", "Trạm Y tế phường Phúc Xá",
            "--province", "01", "--district", "001", "--commune", "00001", "--url", url,
        )
    )  # fmt: skip


def client_on(url: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=url)))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


BABY = {"family_name": "Trần", "given_name": "Minh Khôi", "birth_date": "2025-03-03"}


def test_db_upgrade_brings_an_empty_database_to_the_newest_revision(
    empty_database_url: str,
) -> None:
    behind = immunis("db", "current", "--url", empty_database_url)
    assert behind.exit_code == 1
    assert "none (empty database)" in behind.stdout

    upgraded = succeeded(immunis("db", "upgrade", "--url", empty_database_url))
    assert "(up to date)" in upgraded.stdout

    current = succeeded(immunis("db", "current", "--url", empty_database_url))
    assert current.stdout.strip().endswith("(up to date)")
    revisions = ScriptDirectory.from_config(alembic_config(empty_database_url)).walk_revisions()
    newest = max(revision.revision for revision in revisions)
    assert newest in current.stdout


def test_admin_commands_refuse_a_database_that_is_not_upgraded(empty_database_url: str) -> None:
    result = immunis("org", "add", "--code", "HN-CDC", "--name", "CDC", "--url", empty_database_url)
    assert result.exit_code == 2
    assert "run `immunis db upgrade`" in result.stderr


def test_a_token_issued_on_the_command_line_works_on_the_api_until_revoked(
    database_url: str,
) -> None:
    succeeded(
        immunis("org", "add", "--code", "HN-CDC", "--name", "CDC Hà Nội", "--url", database_url)
    )
    add_site(database_url)
    succeeded(
        immunis(
            "user", "add", "lan", "--role", "vaccinator", "--site", "HN-BADINH-01",
            "--url", database_url,
        )
    )  # fmt: skip
    issued = succeeded(immunis("token", "issue", "lan", "--days", "7", "--url", database_url))
    token = issued.stdout.strip()
    assert "not shown again" in issued.stderr
    client = client_on(database_url)

    registered = client.post("/api/persons", json=BABY, headers=bearer(token))
    assert registered.status_code == 201, registered.text
    assert registered.json()["managing_site_id"] is not None

    succeeded(immunis("token", "revoke", "lan", "--url", database_url))
    assert client.get("/api/persons?name=tran", headers=bearer(token)).status_code == 401
    client.app.state.engine.dispose()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["user", "add", "kim", "--role", "nurse"], "Invalid value for '--role'"),
        (["user", "add", "kim", "--role", "vaccinator", "--site", "NOWHERE"], "no site"),
        (["user", "add", "kim", "--role", "vaccinator"], "a vaccinator needs a site"),
        (["user", "add", "kim", "--role", "citizen", "--person", "nobody"], "no person"),
        (["user", "add", "kim", "--role", "province_officer", "--area", "1"], "area code"),
        (["user", "add", "lan", "--role", "lab"], "user lan already exists"),
        (["token", "issue", "nobody"], "no user nobody"),
        (["token", "revoke", "lan", "--token", "not-a-token"], "not an active token"),
        (["site", "add", "--code", "HN-BADINH-01", "--name", "Again", "--province", "01",
          "--district", "001", "--commune", "00001"], "site code HN-BADINH-01 is in use"),
        (["site", "add", "--code", "X", "--name", "X", "--province", "1", "--district", "001",
          "--commune", "00001"], "province_code"),
        (["site", "add", "--code", "X", "--name", "X", "--province", "01", "--district", "001",
          "--commune", "00001", "--org", "NONE"], "no organization with code NONE"),
    ],
    ids=[
        "unknown role", "unknown site code", "vaccinator without a site", "unknown person",
        "bad area code", "duplicate username", "unknown user", "unknown token",
        "duplicate site code", "bad province code", "unknown organisation",
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_a_message_and_writes_nothing(
    database_url: str, command: list[str], message: str
) -> None:
    add_site(database_url)
    succeeded(immunis("user", "add", "lan", "--role", "lab", "--url", database_url))

    result = immunis(*command, "--url", database_url)

    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert immunis("token", "issue", "kim", "--url", database_url).exit_code == 2


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """uvicorn.run, recording what it was asked to serve instead of serving it."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: calls.append({"app": app, **options}))
    return calls


def test_serve_upgrades_the_database_then_serves_the_app(
    empty_database_url: str, served: list[dict[str, Any]]
) -> None:
    succeeded(immunis("serve", "--port", "8123", "--url", empty_database_url))

    succeeded(immunis("db", "current", "--url", empty_database_url))
    [call] = served
    assert isinstance(call["app"], FastAPI)
    assert (call["host"], call["port"]) == ("127.0.0.1", 8123)


def test_the_demo_serves_a_seeded_world_whose_printed_tokens_work(
    empty_database_url: str, served: list[dict[str, Any]]
) -> None:
    first = succeeded(immunis("demo", "--serve", "--url", empty_database_url))
    again = succeeded(immunis("demo", "--serve", "--url", empty_database_url))

    assert "http://127.0.0.1:8000/docs" in again.stdout
    vaccinator = re.search(r"demo-vaccinator\s+(\S+)", again.stdout)
    citizen = re.search(r"demo-citizen\s+(\S+)", again.stdout)
    forecast_url = re.search(
        r'"http://127.0.0.1:8000(/api/persons/[^"]+/forecast[^"]*)"', again.stdout
    )
    assert vaccinator and citizen and forecast_url, again.stdout
    assert forecast_url.group(1) in first.stdout  # seeding twice made no second world
    client = TestClient(served[-1]["app"])

    forecast = client.get(forecast_url.group(1), headers=bearer(vaccinator.group(1)))
    assert forecast.status_code == 200, forecast.text
    assert forecast.json()["vaccine_groups"]
    infant = forecast_url.group(1).split("/")[3]
    doses = client.get(f"/api/persons/{infant}/immunizations", headers=bearer(citizen.group(1)))
    assert doses.status_code == 200
    assert len(doses.json()) == 6  # the vn-infant example's doses, recorded once
    for call in served:
        call["app"].state.engine.dispose()
