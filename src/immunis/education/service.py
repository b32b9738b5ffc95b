"""The education room's use cases: public content about each vaccine, and which content goes
with a dose a forecast asks for. No personal data and no database: anyone may read it."""

from __future__ import annotations

from dataclasses import dataclass

from immunis.education.catalog import LANGUAGES, VaccineInfo, shipped_vaccines
from immunis.education.schedule_text import schedule_entries
from immunis.education.schemas import (
    ScheduleEntryOut,
    SourceOut,
    VaccineOut,
    VaccineSummaryOut,
)
from immunis.education.series import Programme, preferred_cvx, programme_of, series_dose
from immunis.errors import InvalidInput, NotFound
from immunis.schedule.catalog import load_schedule
from immunis.schedule.model import normalize_cvx

# The content describes Viet Nam's programme; its schedule texts come from this schedule.
SCHEDULE_ID = "vn"


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidInput(f"language {language!r}: choose one of {', '.join(LANGUAGES)}")
    return language


def _info(key: str) -> VaccineInfo:
    info = shipped_vaccines().get(key)
    if info is None:
        raise NotFound(f"no education content for vaccine {key!r}")
    return info


def list_vaccines(language: str) -> list[VaccineSummaryOut]:
    """Every vaccine with content, its name in `language`."""
    language = _language(language)
    return [
        VaccineSummaryOut(
            key=info.key,
            name=info.text(language).name,
            vaccine_groups=list(info.vaccine_groups),
            url=f"/api/education/vaccines/{info.key}?lang={language}",
        )
        for info in shipped_vaccines().values()
    ]


def get_vaccine(key: str, language: str) -> VaccineOut:
    """One vaccine's content in `language`, with its schedule read from the Vietnam schedule."""
    language = _language(language)
    info = _info(key)
    text = info.text(language)
    entries = schedule_entries(load_schedule(SCHEDULE_ID), info, language)
    return VaccineOut(
        key=info.key,
        language=language,  # type: ignore[arg-type]
        name=text.name,
        prevents=text.prevents,
        schedule=[
            ScheduleEntryOut(
                programme=entry.programme.value,
                programme_label=entry.programme_label,
                series=entry.series,
                doses=list(entry.doses),
            )
            for entry in entries
        ],
        reactions=text.reactions,
        seek_care=text.seek_care,
        reminder=text.reminder,
        vaccine_groups=list(info.vaccine_groups),
        cvx=list(info.cvx),
        sources=[SourceOut(title=s.title, url=s.url) for s in info.sources],
    )


@dataclass(frozen=True, slots=True)
class DoseVaccine:
    """What a forecast's next dose is, for people: its content's key and its programme."""

    key: str | None  # None: no content speaks for this vaccine
    programme: Programme


def vaccine_for_dose(
    vaccine_group: str,
    dose_number: int | None,
    series_name: str | None = None,
    schedule_id: str = SCHEDULE_ID,
) -> DoseVaccine:
    """The content for a due dose: by the vaccines its series dose calls for (a DTP dose at
    7 years is Td, at 2 months the 5-in-1), else by the vaccine group."""
    schedule = load_schedule(schedule_id)
    found = series_dose(schedule, vaccine_group, dose_number or 1, series_name)
    programme = programme_of(found[0]) if found else Programme.SERVICES
    vaccines = shipped_vaccines().values()
    for cvx in preferred_cvx(found[1]) if found else ():
        for info in vaccines:
            if normalize_cvx(cvx) in info.cvx:
                return DoseVaccine(info.key, programme)
    for info in vaccines:
        if vaccine_group in info.vaccine_groups:
            return DoseVaccine(info.key, programme)
    return DoseVaccine(None, programme)


def vaccine_name(key: str | None, language: str, fallback: str) -> str:
    """The vaccine's name in plain words; `fallback` (the vaccine group) when no content."""
    if key is None or key not in shipped_vaccines():
        return fallback
    return shipped_vaccines()[key].text(_language(language)).name


def reminder_line(key: str | None, language: str) -> str | None:
    """The one line a reminder carries about this vaccine, if there is content for it."""
    if key is None or key not in shipped_vaccines():
        return None
    return shipped_vaccines()[key].text(_language(language)).reminder
