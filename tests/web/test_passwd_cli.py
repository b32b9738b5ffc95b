"""`immunis user passwd`: the password a user then signs in to the pages with."""

from __future__ import annotations

from typer.testing import CliRunner

from immunis.cli import app
from tests.web.site import WebWorld, csrf_of

runner = CliRunner()


def test_a_password_set_on_the_command_line_signs_the_user_in(web: WebWorld) -> None:
    result = runner.invoke(
        app,
        ["user", "passwd", "lab", "--password-stdin", "--url", web.database_url],
        input="a new lab password\n",
    )
    assert result.exit_code == 0, result.output
    browser = web.client()
    answer = browser.post(
        "/login",
        data={"username": "lab", "password": "a new lab password", "csrf_token": csrf_of(browser)},
    )
    assert answer.headers["location"] == "/"


def test_a_short_password_is_refused_on_the_command_line(web: WebWorld) -> None:
    result = runner.invoke(
        app, ["user", "passwd", "lab", "--password-stdin", "--url", web.database_url], input="abc\n"
    )
    assert result.exit_code == 2
    assert "at least 10 characters" in result.output
