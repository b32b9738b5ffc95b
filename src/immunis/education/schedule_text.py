"""A vaccine's schedule in plain words, read from the schedule data (pure): when each dose is
given, by age or after the dose before, in Vietnamese or English."""

from __future__ import annotations

from dataclasses import dataclass

from immunis.education.catalog import VaccineInfo
from immunis.education.series import Programme, preferred_cvx, programme_of
from immunis.schedule.model import Duration, Schedule, SeriesDose

_UNITS = {
    "vi": {"years": "năm", "months": "tháng", "weeks": "tuần", "days": "ngày"},
    "en": {"years": "year", "months": "month", "weeks": "week", "days": "day"},
}
_PHRASES = {
    "vi": {
        "birth": "ngay sau sinh",
        "age_months": "lúc {n} tháng tuổi",
        "age_years": "lúc {n} tuổi",
        "age": "lúc {d} tuổi",
        "after_previous": "{d} sau mũi trước",
        "after_dose": "{d} sau mũi {k}",
        "indicated": "khi có chỉ định",
        "repeated": " (nhắc lại định kỳ)",
        "dose": "Mũi {n}: {when}",
    },
    "en": {
        "birth": "at birth",
        "age_months": "at {n} months of age",
        "age_years": "at {n} years of age",
        "age": "at {d} of age",
        "after_previous": "{d} after the previous dose",
        "after_dose": "{d} after dose {k}",
        "indicated": "when indicated",
        "repeated": " (repeated)",
        "dose": "Dose {n}: {when}",
    },
}
PROGRAMME_LABELS = {
    "vi": {
        Programme.TCMR: "Tiêm chủng mở rộng (miễn phí)",
        Programme.SERVICES: "Tiêm chủng dịch vụ",
        Programme.RISK: "Khi có chỉ định",
    },
    "en": {
        Programme.TCMR: "Expanded Programme on Immunization (free)",
        Programme.SERVICES: "Vaccination services (paid)",
        Programme.RISK: "When indicated",
    },
}


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    """One series of the schedule as a person reads it."""

    programme: Programme
    programme_label: str
    series: str  # the schedule's own name for the series
    doses: tuple[str, ...]


def duration_words(duration: Duration, language: str) -> str:
    """``Duration(months=2)`` as "2 tháng" or "2 months"."""
    units = _UNITS[language]
    words = []
    for field in ("years", "months", "weeks", "days"):
        amount = getattr(duration, field)
        if amount:
            unit = units[field]
            if language == "en" and amount != 1:
                unit += "s"
            words.append(f"{amount} {unit}")
    return " ".join(words) or f"0 {units['days']}"


def _age_words(age: Duration, language: str) -> str:
    phrases = _PHRASES[language]
    if not any(age):
        return phrases["birth"]
    if age == Duration(months=age.months):
        return phrases["age_months"].format(n=age.months)
    if age == Duration(years=age.years):
        return phrases["age_years"].format(n=age.years)
    return phrases["age"].format(d=duration_words(age, language))


def when_words(dose: SeriesDose, language: str) -> str:
    """When a dose is given: the programme's age for it, else its interval from a dose before."""
    phrases = _PHRASES[language]
    suffix = phrases["repeated"] if dose.recurring else ""
    for age in dose.ages:
        if age.earliest_recommended_age is not None:
            return _age_words(age.earliest_recommended_age, language) + suffix
    # The recommended interval says when; the minimum only when no recommendation is given.
    timed = [(i, i.earliest_recommended_interval) for i in dose.intervals]
    timed += [(i, i.min_interval) for i in dose.intervals]
    for interval, gap in timed:
        if gap is None:
            continue
        words = duration_words(gap, language)
        if interval.from_target_dose is not None:
            return phrases["after_dose"].format(d=words, k=interval.from_target_dose) + suffix
        return phrases["after_previous"].format(d=words) + suffix
    return phrases["indicated"]


def schedule_entries(schedule: Schedule, info: VaccineInfo, language: str) -> list[ScheduleEntry]:
    """Every series of the schedule with a dose meant for one of this content's vaccines, and
    those doses; a series whose visits another series of the programme already lists is left
    out (diphtheria, tetanus, pertussis, Hib and hepatitis B share the 5-in-1's visits)."""
    wanted = set(info.cvx)
    found: list[tuple[Programme, str, tuple[tuple[int, str], ...]]] = []
    for antigen in schedule.antigens.values():
        for series in antigen.series:
            doses = tuple(
                (dose.dose_number, when_words(dose, language))
                for dose in series.doses
                if wanted.intersection(preferred_cvx(dose))
            )
            if doses:
                found.append((programme_of(series), series.name, doses))
    kept = [entry for index, entry in enumerate(found) if not _said_before(index, found)]
    dose_phrase = _PHRASES[language]["dose"]
    return [
        ScheduleEntry(
            programme,
            PROGRAMME_LABELS[language][programme],
            name,
            tuple(dose_phrase.format(n=number, when=when) for number, when in doses),
        )
        for programme, name, doses in kept
    ]


def _said_before(
    index: int, found: list[tuple[Programme, str, tuple[tuple[int, str], ...]]]
) -> bool:
    programme, _, doses = found[index]
    visits = {when for _, when in doses}
    for other_index, (other_programme, _, other_doses) in enumerate(found):
        other_visits = {when for _, when in other_doses}
        if other_index == index or other_programme is not programme:
            continue
        if visits < other_visits or (visits == other_visits and other_index < index):
            return True
    return False
