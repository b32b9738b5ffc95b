"""CDC's CDSi test cases, one test each; a per-vaccine-group tally is printed at the end.

Every case must pass: a case the engine is known to fail would be listed in docs/conformance.md
and marked here as a strict xfail, so that fixing it turns the run red until the list is updated.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from immunis.conformance import read_cases, run_case
from immunis.schedule.model import Schedule
from tests.conftest import cdsi_cases_path

KNOWN_FAILURES: dict[str, str] = {}

CASES_PATH = cdsi_cases_path()
if not CASES_PATH.is_file():
    raise FileNotFoundError(
        f"CDC test cases not found at {CASES_PATH}: put the shared folder beside the repository "
        "or set IMMUNIS_CDSI_TESTCASES"
    )
CASES = list(read_cases(CASES_PATH))

TALLY: dict[str, Counter[str]] = {}


def _param(case: dict[str, Any]) -> Any:
    marks = []
    if case["id"] in KNOWN_FAILURES:
        marks.append(pytest.mark.xfail(reason=KNOWN_FAILURES[case["id"]], strict=True))
    return pytest.param(case, id=case["id"], marks=marks)


def test_the_suite_is_the_whole_cdc_workbook() -> None:
    assert len(CASES) == 1013
    assert len({case["id"] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_cdc_case(case: dict[str, Any], us_schedule: Schedule) -> None:
    result = run_case(case, us_schedule)
    tally = TALLY.setdefault(result.vaccine_group, Counter())
    tally["total"] += 1
    tally["passed"] += int(result.passed)
    assert result.passed, f"{case['id']} {case['name']}:\n  " + "\n  ".join(result.mismatches)
