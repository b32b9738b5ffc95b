"""Gather and organise the immunization history: each dose, split into the antigens it carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from immunis.forecast.dates import add
from immunis.forecast.records import AdministeredDose, Patient
from immunis.schedule.model import Schedule, normalize_cvx


@dataclass(frozen=True, slots=True)
class AntigenDose:
    """One administered dose as it counts towards one antigen."""

    index: int  # position in the patient's whole history, sorted by date
    date_administered: date
    cvx: str
    mvx: str | None
    antigen: str
    dose: AdministeredDose


@dataclass(frozen=True, slots=True)
class History:
    """The patient's doses sorted by date, and the same doses per antigen."""

    doses: tuple[AdministeredDose, ...]
    by_antigen: dict[str, tuple[AntigenDose, ...]]
    unknown_cvx: tuple[str, ...]


def _order(dose: AdministeredDose) -> tuple[date, str, str, float, str, str]:
    return (
        dose.date_administered,
        normalize_cvx(dose.cvx).zfill(4),
        dose.mvx or "",
        dose.volume_ml or 0.0,
        dose.condition.value if dose.condition else "",
        dose.id or "",
    )


def organize(patient: Patient, doses: tuple[AdministeredDose, ...], schedule: Schedule) -> History:
    """Sort the history and map every dose to its antigens through the schedule's CVX map."""
    # Same-day doses are ordered by vaccine too, so the answer never depends on input order.
    ordered = tuple(sorted(doses, key=_order))
    by_antigen: dict[str, list[AntigenDose]] = {}
    unknown: list[str] = []
    for index, dose in enumerate(ordered):
        cvx = normalize_cvx(dose.cvx)
        vaccine = schedule.vaccines.get(cvx)
        if vaccine is None:
            unknown.append(dose.cvx)
            continue
        for association in vaccine.associations:
            # Some vaccines count for an antigen only at certain ages (CVX map association ages).
            if association.begin_age and dose.date_administered < add(
                patient.birth_date, association.begin_age
            ):
                continue
            if association.end_age and dose.date_administered >= add(
                patient.birth_date, association.end_age
            ):
                continue
            by_antigen.setdefault(association.antigen, []).append(
                AntigenDose(
                    index=index,
                    date_administered=dose.date_administered,
                    cvx=cvx,
                    mvx=dose.mvx,
                    antigen=association.antigen,
                    dose=dose,
                )
            )
    return History(
        doses=ordered,
        by_antigen={antigen: tuple(items) for antigen, items in by_antigen.items()},
        unknown_cvx=tuple(unknown),
    )
