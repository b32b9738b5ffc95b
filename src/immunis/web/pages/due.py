"""What is due, in plain language: the engine's forecast as sentences a parent can act on.

"Dose 2 of Diphtheria, tetanus, pertussis is due from 5 June 2026; overdue after 2 July 2026."
Each vaccine group with a next dose becomes one item, sorted by urgency: overdue, due now, due
within the next three months, later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum

from immunis.education import service as education
from immunis.education.catalog import shipped_vaccines
from immunis.forecast import Forecast, SeriesStatus
from immunis.schedule.catalog import load_schedule
from immunis.schedule.model import normalize_cvx
from immunis.web.i18n import N_, format_day

SOON = timedelta(days=90)

# The vaccine groups of the shipped schedules, named as a parent knows them.
GROUP_NAMES = {
    "BCG": N_("BCG (tuberculosis)"),
    "HepB": N_("Hepatitis B"),
    "DTP": N_("Diphtheria, tetanus, pertussis"),
    "Hib": N_("Hib (Haemophilus influenzae type b)"),
    "Polio": N_("Polio"),
    "Measles-Rubella": N_("Measles and rubella"),
    "MMR": N_("Measles, mumps, rubella"),
    "Mumps": N_("Mumps"),
    "Japanese Encephalitis": N_("Japanese encephalitis"),
    "Rotavirus": N_("Rotavirus"),
    "Pneumococcal": N_("Pneumococcal disease"),
    "HPV": N_("HPV (human papillomavirus)"),
    "Influenza": N_("Influenza"),
    "Varicella": N_("Chickenpox (varicella)"),
    "HepA": N_("Hepatitis A"),
    "Meningococcal": N_("Meningococcal disease (A, C, W, Y)"),
    "Meningococcal B": N_("Meningococcal disease (B)"),
    "Typhoid": N_("Typhoid"),
    "Rabies": N_("Rabies"),
    "Dengue": N_("Dengue"),
}

# The engine's reasons for a next dose's dates (CDSi forecast reasons), said plainly.
REASONS = {
    "Recommended based on age": N_("the schedule gives this dose at this age"),
    "Recommended based on minimum interval": N_("it is timed from the previous dose"),
}


class Urgency(IntEnum):
    OVERDUE = 0
    DUE = 1
    SOON = 2
    LATER = 3


@dataclass(frozen=True)
class DueItem:
    group: str
    name: str
    urgency: Urgency
    sentence: str
    why: str
    earliest: date
    about: str | None  # the education room's page on the vaccine, when it has one


@dataclass(frozen=True)
class DueSummary:
    items: list[DueItem]
    complete: list[str]  # names of the groups whose series is complete (or immune)

    @property
    def now(self) -> list[DueItem]:
        return [i for i in self.items if i.urgency <= Urgency.SOON]

    @property
    def later(self) -> list[DueItem]:
        return [i for i in self.items if i.urgency is Urgency.LATER]


def group_name(group: str, gettext: Callable[[str], str]) -> str:
    return gettext(GROUP_NAMES[group]) if group in GROUP_NAMES else group


def vaccine_name(cvx: str, product_name: str | None, schedule_id: str) -> str:
    """A dose's vaccine as recorded: its product name, else the schedule's name for its CVX."""
    if product_name:
        return product_name
    vaccine = load_schedule(schedule_id).vaccine(cvx)
    return vaccine.short_description if vaccine else f"CVX {cvx}"


def cvx_name(cvx: str, language: str, schedule_id: str) -> str:
    """A vaccine as parents know it: the education room's name, else the schedule's."""
    code = normalize_cvx(cvx)
    for info in shipped_vaccines().values():
        if code in info.cvx:
            return info.text(language).name
    return vaccine_name(code, None, schedule_id)


def summarize(
    answer: Forecast, today: date, language: str, gettext: Callable[[str], str]
) -> DueSummary:
    """The forecast's next doses as sentences in `language`, most urgent first."""
    items = []
    complete = []
    for group in answer.vaccine_groups.values():
        name = group_name(group.vaccine_group, gettext)
        if group.status in (SeriesStatus.COMPLETE, SeriesStatus.IMMUNE):
            complete.append(name)
        next_dose = group.next_dose
        if group.status is not SeriesStatus.NOT_COMPLETE or next_dose is None:
            continue
        values = {
            "number": next_dose.dose_number,
            "vaccine": name,
            "due": format_day(next_dose.recommended, language),
            "overdue": format_day(next_dose.past_due, language),
        }
        if next_dose.past_due is not None and today > next_dose.past_due:
            urgency = Urgency.OVERDUE
            sentence = gettext("Dose %(number)s of %(vaccine)s is overdue since %(overdue)s.")
        elif today >= next_dose.recommended:
            urgency = Urgency.DUE
            sentence = (
                gettext("Dose %(number)s of %(vaccine)s is due now; overdue after %(overdue)s.")
                if next_dose.past_due
                else gettext("Dose %(number)s of %(vaccine)s is due now.")
            )
        else:
            urgency = Urgency.SOON if next_dose.recommended - today <= SOON else Urgency.LATER
            sentence = (
                gettext(
                    "Dose %(number)s of %(vaccine)s is due from %(due)s; overdue after %(overdue)s."
                )
                if next_dose.past_due
                else gettext("Dose %(number)s of %(vaccine)s is due from %(due)s.")
            )
        reason = next_dose.reason
        items.append(
            DueItem(
                group=group.vaccine_group,
                name=name,
                urgency=urgency,
                sentence=sentence % values,
                why=gettext(REASONS[reason]) if reason in REASONS else reason,
                earliest=next_dose.earliest,
                about=education.vaccine_for_dose(
                    group.vaccine_group, next_dose.dose_number, schedule_id=answer.schedule_id
                ).key,
            )
        )
    items.sort(key=lambda i: (i.urgency, i.earliest, i.name))
    return DueSummary(items=items, complete=sorted(complete))
