"""CDC's CDSi test cases as a conformance check of the engine.

A case passes when every dose's expected evaluation status matches the engine's status for the
case's vaccine group, and the group forecast matches: series status, forecast dose number, and
the earliest, recommended and past-due dates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from immunis.forecast import AdministeredDose, Gender, Patient, forecast
from immunis.forecast.results import VaccineGroupForecast
from immunis.schedule.model import Schedule


@dataclass(frozen=True, slots=True)
class CaseResult:
    case_id: str
    name: str
    vaccine_group: str
    passed: bool
    mismatches: tuple[str, ...] = field(default=())


def read_cases(path: Path | str) -> Iterator[dict[str, Any]]:
    """The cases of a testcases.jsonl file, one JSON object per line."""
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}:{number}: not JSON: {error.msg}") from error


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _status_text(value: str | None) -> str:
    return (value or "").strip().lower()


def case_inputs(case: dict[str, Any]) -> tuple[Patient, tuple[AdministeredDose, ...], date]:
    """The engine's inputs for one case."""
    patient = Patient(
        birth_date=date.fromisoformat(case["date_of_birth"]),
        gender=Gender.parse(case.get("gender")),
    )
    doses = tuple(
        AdministeredDose(
            date_administered=date.fromisoformat(d["date_administered"]),
            cvx=d["cvx"],
            mvx=d.get("mvx"),
            id=str(d["dose_number"]),
        )
        for d in sorted(case["doses"], key=lambda d: d["dose_number"])
    )
    return patient, doses, date.fromisoformat(case["assessment_date"])


def compare(
    case: dict[str, Any], result: VaccineGroupForecast, others: Iterable[VaccineGroupForecast] = ()
) -> list[str]:
    """What differs between the case's expectations and the engine's answer for the group.

    A dose of another vaccine group (a varicella dose in an MMR case, there for the live-virus
    rule) is compared with its evaluation in its own group.
    """
    mismatches: list[str] = []
    by_id = {}
    for other in others:
        for dose in other.doses:
            by_id.setdefault(dose.dose_index, dose)
    for dose in result.doses:
        by_id[dose.dose_index] = dose
    ordered = sorted(case["doses"], key=lambda d: (d["date_administered"], d["dose_number"]))
    for position, expected_dose in enumerate(ordered):
        expected = _status_text(expected_dose["expected_evaluation_status"])
        found = by_id.get(position)
        actual = _status_text(found.status.value) if found else "not evaluated"
        if expected and expected != actual:
            mismatches.append(
                f"dose {expected_dose['dose_number']} ({expected_dose['date_administered']}, "
                f"CVX {expected_dose['cvx']}): expected {expected}, got {actual}"
                + (f" {list(found.reasons)}" if found and found.reasons else "")
            )
    want = case["expected"]
    status = result.status.value
    if _status_text(want["series_status"]) != _status_text(status):
        mismatches.append(f"series status: expected {want['series_status']}, got {status}")
    next_dose = result.next_dose
    got_number = next_dose.dose_number if next_dose else None
    if want["forecast_dose_number"] != got_number:
        mismatches.append(
            f"forecast dose number: expected {want['forecast_dose_number']}, got {got_number}"
        )
    for label, key, actual_date in (
        ("earliest", "earliest_date", next_dose.earliest if next_dose else None),
        ("recommended", "recommended_date", next_dose.recommended if next_dose else None),
        ("past due", "past_due_date", next_dose.past_due if next_dose else None),
    ):
        expected_date = _date(want[key])
        if expected_date != actual_date:
            mismatches.append(
                f"{label}: expected {want[key]}, got "
                f"{actual_date.isoformat() if actual_date else None}"
            )
    return mismatches


def run_case(case: dict[str, Any], schedule: Schedule) -> CaseResult:
    """Run one case through the engine and compare."""
    group = case.get("vaccine_group_name") or case["vaccine_group"]
    patient, doses, assessment = case_inputs(case)
    try:
        answer = forecast(patient, doses, assessment, schedule)
    except ValueError as error:
        return CaseResult(case["id"], case["name"], group, False, (f"engine refused: {error}",))
    others = [g for name, g in answer.vaccine_groups.items() if name != group]
    mismatches = compare(case, answer.vaccine_groups[group], others)
    return CaseResult(case["id"], case["name"], group, not mismatches, tuple(mismatches))


def run_cases(cases: Iterable[dict[str, Any]], schedule: Schedule) -> list[CaseResult]:
    return [run_case(case, schedule) for case in cases]


def summary(results: Iterable[CaseResult]) -> dict[str, Any]:
    """Totals and per-group counts, the shape `immunis conformance --json` prints."""
    listed = list(results)
    by_group: dict[str, dict[str, int]] = {}
    for result in listed:
        counts = by_group.setdefault(result.vaccine_group, {"total": 0, "passed": 0})
        counts["total"] += 1
        counts["passed"] += int(result.passed)
    return {
        "total": len(listed),
        "passed": sum(1 for r in listed if r.passed),
        "by_group": dict(sorted(by_group.items())),
        "failures": [
            {"id": r.case_id, "name": r.name, "group": r.vaccine_group, "why": list(r.mismatches)}
            for r in listed
            if not r.passed
        ],
    }
