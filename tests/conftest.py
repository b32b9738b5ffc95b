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
