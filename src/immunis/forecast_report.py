"""A forecast as JSON-ready data and as a readable table."""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.console import Console
from rich.table import Table

from immunis.forecast import Forecast, SeriesStatus
from immunis.schedule.model import Schedule

_STATUS_STYLE = {
    SeriesStatus.NOT_COMPLETE: "yellow",
    SeriesStatus.COMPLETE: "green",
    SeriesStatus.IMMUNE: "green",
    SeriesStatus.AGED_OUT: "dim",
    SeriesStatus.NOT_RECOMMENDED: "dim",
    SeriesStatus.CONTRAINDICATED: "red",
}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def forecast_to_dict(answer: Forecast, only_relevant: bool = False) -> dict[str, Any]:
    """Every vaccine group's status, next dose and dose evaluations, as plain JSON data."""
    groups = []
    for group in answer.vaccine_groups.values():
        if only_relevant and group.status is SeriesStatus.NOT_RECOMMENDED and not group.doses:
            continue
        next_dose = group.next_dose
        groups.append(
            {
                "vaccine_group": group.vaccine_group,
                "status": group.status.value,
                "reason": group.reason,
                "next_dose": None
                if next_dose is None
                else {
                    "dose_number": next_dose.dose_number,
                    "earliest": _iso(next_dose.earliest),
                    "recommended": _iso(next_dose.recommended),
                    "past_due": _iso(next_dose.past_due),
                    "latest": _iso(next_dose.latest),
                    "reason": next_dose.reason,
                    "recommended_vaccines": list(next_dose.recommended_vaccines),
                },
                "doses": [
                    {
                        "date": _iso(dose.date_administered),
                        "cvx": dose.cvx,
                        "status": dose.status.value,
                        "reasons": list(dose.reasons),
                    }
                    for dose in group.doses
                ],
                "antigens": [
                    {"antigen": a.antigen, "series": a.series_name, "status": a.status.value}
                    for a in group.antigens
                ],
            }
        )
    return {
        "schedule": answer.schedule_id,
        "assessment_date": _iso(answer.assessment_date),
        "unknown_vaccines": list(answer.unknown_vaccines),
        "doses_after_assessment": [
            {"date": _iso(d.date_administered), "cvx": d.cvx} for d in answer.doses_after_assessment
        ],
        "vaccine_groups": groups,
    }


def print_forecast(answer: Forecast, schedule: Schedule, console: Console) -> None:
    """Two tables: what is due, and how each recorded dose was evaluated."""
    due = Table(title=f"Forecast on {answer.assessment_date.isoformat()} ({schedule.title})")
    for column in ("Vaccine group", "Status", "Dose", "Earliest", "Recommended", "Past due"):
        due.add_column(column, no_wrap=True)
    due.add_column("Why")
    for group in answer.vaccine_groups.values():
        if group.status is SeriesStatus.NOT_RECOMMENDED and not group.doses:
            continue
        style = _STATUS_STYLE.get(group.status, "")
        next_dose = group.next_dose
        due.add_row(
            group.vaccine_group,
            f"[{style}]{group.status.value}[/]" if style else group.status.value,
            str(next_dose.dose_number) if next_dose else "",
            _iso(next_dose.earliest) or "" if next_dose else "",
            _iso(next_dose.recommended) or "" if next_dose else "",
            (_iso(next_dose.past_due) or "") if next_dose else "",
            group.reason,
        )
    console.print(due)
    doses = Table(title="Doses")
    for column in ("Date", "CVX", "Vaccine group", "Status"):
        doses.add_column(column, no_wrap=True)
    doses.add_column("Reasons")
    for group in answer.vaccine_groups.values():
        for dose in group.doses:
            vaccine = schedule.vaccine(dose.cvx)
            doses.add_row(
                dose.date_administered.isoformat(),
                f"{dose.cvx} {vaccine.short_description if vaccine else ''}".strip(),
                group.vaccine_group,
                dose.status.value,
                ", ".join(dose.reasons),
            )
    if doses.row_count:
        console.print(doses)
    if answer.doses_after_assessment:
        console.print(
            "[yellow]Not counted, dated after the assessment date:[/] "
            + ", ".join(
                f"{d.date_administered.isoformat()} CVX {d.cvx}"
                for d in answer.doses_after_assessment
            )
        )
    if answer.unknown_vaccines:
        console.print(
            "[red]Not evaluated, CVX unknown to this schedule:[/] "
            + ", ".join(answer.unknown_vaccines)
        )
