"""`immunis reminders build` and `immunis outbox send|status` on both databases: reminders
queued once, delivered through the file adapter in the configured language."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from immunis.cli import app
from immunis.settings import get_settings
from tests.outreach.conftest import OutreachWorld, build_outreach_world

runner = CliRunner()


def immunis(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def configured(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[OutreachWorld, str]]:
    monkeypatch.setenv("IMMUNIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IMMUNIS_LANGUAGE", "vi")
    monkeypatch.setenv("IMMUNIS_PUBLIC_BASE_URL", "https://tiemchung.example.vn")
    get_settings.cache_clear()
    yield build_outreach_world(database_url), database_url
    get_settings.cache_clear()


def test_reminders_are_built_then_sent_to_the_file_under_the_data_dir(
    configured: tuple[OutreachWorld, str], tmp_path: Path
) -> None:
    _, url = configured
    built = immunis(
        "reminders", "build", "--site", "HN-BADINH-01", "--on", "2026-03-02",
        "--window", "30", "--url", url,
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    assert "2 reminders queued" in built.output and "1 people with no phone" in built.output
    again = immunis(
        "reminders", "build", "--site", "HN-BADINH-01", "--on", "2026-03-02", "--url", url
    )
    assert "0 reminders queued, 9 doses already reminded" in again.output
    sent = immunis("outbox", "send", "--url", url)
    assert sent.exit_code == 0, sent.output
    assert "2 sent, 0 to retry later, 0 failed (adapter file)" in sent.output
    lines = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert sorted(line["subject"] for line in lines) == [
        "Nhắc lịch tiêm chủng",
        "Nhắc tiêm chủng bị trễ",
    ]
    assert all("https://tiemchung.example.vn/book?person=" in line["body"] for line in lines)
    status = immunis("outbox", "status", "--url", url)
    assert "sent            2" in status.output and "queued          0" in status.output


def test_a_build_names_a_site_or_an_area_and_a_real_date(
    configured: tuple[OutreachWorld, str],
) -> None:
    _, url = configured
    both = immunis("reminders", "build", "--site", "HN-BADINH-01", "--area", "01", "--url", url)
    assert both.exit_code == 2 and "--site CODE or --area CODE" in both.output
    assert (
        immunis("reminders", "build", "--area", "01", "--on", "soon", "--url", url).exit_code == 2
    )
    unknown = immunis("reminders", "build", "--site", "NOWHERE", "--url", url)
    assert unknown.exit_code == 2 and "no site with code NOWHERE" in unknown.output


def test_an_adapter_without_its_settings_is_refused(configured: tuple[OutreachWorld, str]) -> None:
    _, url = configured
    result = immunis("outbox", "send", "--adapter", "sms", "--url", url)
    assert result.exit_code == 2 and "IMMUNIS_SMS_GATEWAY_URL" in result.output
