"""Which series and dose of a schedule a forecast points at, which vaccines that dose calls for,
and whether the national programme gives it (pure functions over a Schedule)."""

from __future__ import annotations

from enum import StrEnum

from immunis.schedule.model import Schedule, Series, SeriesDose, SeriesType


class Programme(StrEnum):
    TCMR = "tcmr"  # Tiêm chủng mở rộng: the Expanded Programme on Immunization, free
    SERVICES = "services"  # tiêm chủng dịch vụ: paid vaccination services
    RISK = "risk"  # given when indicated (pregnancy, an animal bite)


# The vn schedule says in a series' name whether the programme gives it ("... (TCMR)") or it is
# a services series ("... dịch vụ)"); the schedule model has no field for it.
TCMR_MARK = "TCMR"
SERVICES_MARK = "dịch vụ"


def programme_of(series: Series) -> Programme:
    if series.series_type is SeriesType.RISK:
        return Programme.RISK
    if TCMR_MARK in series.name and SERVICES_MARK not in series.name:
        return Programme.TCMR
    return Programme.SERVICES


def group_series(schedule: Schedule, vaccine_group: str) -> list[Series]:
    """The series of a vaccine group, the default series of each antigen first."""
    group = schedule.vaccine_groups.get(vaccine_group)
    if group is None:
        return []
    found = [
        series
        for antigen in group.antigens
        if antigen in schedule.antigens
        for series in schedule.antigens[antigen].series
        if series.vaccine_group == vaccine_group
    ]
    return sorted(found, key=lambda series: not series.selection.default_series)


def series_dose(
    schedule: Schedule, vaccine_group: str, dose_number: int, series_name: str | None = None
) -> tuple[Series, SeriesDose] | None:
    """The dose a forecast asks for: in the named series when the forecast says which (the
    engine's selected series), else in the group's default series."""
    for series in group_series(schedule, vaccine_group):
        if series_name is not None and series.name != series_name:
            continue
        for dose in series.doses:
            if dose.dose_number == dose_number:
                return series, dose
    if series_name is not None:
        return series_dose(schedule, vaccine_group, dose_number)
    return None


def preferred_cvx(dose: SeriesDose) -> tuple[str, ...]:
    """The CVX codes the dose is meant to be given with, in the schedule's order."""
    return tuple(dict.fromkeys(vaccine.cvx for vaccine in dose.preferable_vaccines))
