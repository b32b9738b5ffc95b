"""The CDSi engine's answer in the CDC Z42 response profile: after each dose's ORC/RXA, one OBX
group per vaccine group the dose counts for (its evaluation); then one ORC/RXA with CVX 998 (no
vaccine administered) followed by one OBX group per vaccine group (its forecast). OBX-4 (the
sub-id) ties the observations of one group together; LOINC names each observation.
"""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import date

from immunis.forecast import EvaluationStatus, Forecast, SeriesStatus
from immunis.forecast.results import GroupDoseEvaluation, VaccineGroupForecast
from immunis.interop.hl7v2.ack import RECEIVER
from immunis.interop.hl7v2.datatypes import hl7_date
from immunis.interop.hl7v2.encoding import components, segment
from immunis.interop.hl7v2.rsp import dose_segments, vaccine_coding
from immunis.interop.hl7v2.vxu import NO_FILLER_ORDER_NUMBER, NO_VACCINE_ADMINISTERED
from immunis.registry.schemas import ImmunizationOut
from immunis.schedule.model import Schedule, VaccineGroup, normalize_cvx

VACCINE_TYPE = ("30956-7", "Vaccine type")
SCHEDULE_USED = ("59779-9", "Immunization schedule used")
SERIES_NAME = ("59780-7", "Immunization series name")
DOSE_VALIDITY = ("59781-5", "Dose validity")
DOSE_NUMBER = ("30973-2", "Dose number in series")
SERIES_STATUS = ("59783-1", "Status in immunization series")
EARLIEST_DATE = ("30981-5", "Earliest date to give")
DUE_DATE = ("30980-7", "Date vaccine due")
LATEST_DATE = ("59777-3", "Latest date to give immunization")
OVERDUE_DATE = ("59778-1", "Date when overdue for immunization")
REASON = ("30982-3", "Reason applied by forecast logic to project this vaccine")

# LOINC answer list LL940-8 for 59783-1.
COMPLETE = ("LA13421-5", "Complete")
ON_SCHEDULE = ("LA13422-3", "On schedule")
OVERDUE = ("LA13423-1", "Overdue")
STATUS_ANSWERS = {
    SeriesStatus.COMPLETE: COMPLETE,
    SeriesStatus.AGED_OUT: ("LA13424-9", "Too old"),
    SeriesStatus.IMMUNE: ("LA27183-5", "Immune"),
    SeriesStatus.CONTRAINDICATED: ("LA4216-3", "Contraindicated"),
    SeriesStatus.NOT_RECOMMENDED: ("LA4695-8", "Not Recommended"),
}
# The CDC guide's code for the ACIP schedule; other schedules are named by immunis's own ids.
ACIP = ("VXC16", "ACIP", "CDCPHINVS")
ACIP_SCHEDULE_ID = "us-acip"


def schedule_coding(schedule: Schedule) -> str:
    if schedule.id == ACIP_SCHEDULE_ID:
        return components(*ACIP)
    return components(schedule.id, schedule.title, "99IMMUNIS")


def group_vaccine(schedule: Schedule, group: VaccineGroup) -> str:
    """The vaccine that stands for a whole group in OBX 30956-7: among the schedule's vaccines
    carrying exactly the group's antigens, an "unspecified formulation" one, the plainest."""
    candidates = [
        v
        for v in schedule.vaccines.values()
        if {a.antigen for a in v.associations} == set(group.antigens)
    ]
    if not candidates:
        return components("", group.name)

    def plainness(cvx: str) -> tuple[bool, bool, int, str]:
        text = schedule.vaccines[cvx].short_description.lower()
        return ("unspecified formulation" not in text, "unspecified" not in text, len(text), cvx)

    best = min((v.cvx for v in candidates), key=plainness)
    return vaccine_coding(best)


class _Observations:
    """The OBX segments of one ORC/RXA group, numbered as they are added."""

    def __init__(self) -> None:
        self.segments: list[str] = []

    def add(self, kind: str, code: tuple[str, str], sub_id: int, value: str) -> None:
        if not value:
            return
        self.segments.append(
            segment(
                "OBX",
                str(len(self.segments) + 1),
                kind,
                components(*code, "LN"),
                str(sub_id),
                value,
                "",
                "",
                "",
                "",
                "",
                "F",
            )
        )

    def group_header(self, sub_id: int, vaccine: str, schedule: str, series: str) -> None:
        self.add("CE", VACCINE_TYPE, sub_id, vaccine)
        self.add("CE", SCHEDULE_USED, sub_id, schedule)
        self.add("ST", SERIES_NAME, sub_id, components(series))


def _series(group: VaccineGroupForecast) -> str:
    names = dict.fromkeys(a.series_name for a in group.antigens if a.series_name)
    return " / ".join(names)


def _relevant(answer: Forecast) -> list[VaccineGroupForecast]:
    """The groups worth telling about: any with doses, or one the person is not ruled out of."""
    return [
        g
        for g in answer.vaccine_groups.values()
        if g.doses or g.status is not SeriesStatus.NOT_RECOMMENDED
    ]


def _status(group: VaccineGroupForecast, assessment_date: date) -> tuple[str, str]:
    if group.status is SeriesStatus.NOT_COMPLETE:
        past_due = group.next_dose.past_due if group.next_dose else None
        return OVERDUE if past_due is not None and assessment_date >= past_due else ON_SCHEDULE
    return STATUS_ANSWERS[group.status]


def _evaluations(
    answer: Forecast,
) -> dict[str, dict[tuple[date, str], deque[GroupDoseEvaluation]]]:
    """Each group's dose evaluations by (date, CVX), in the engine's order."""
    found: dict[str, dict[tuple[date, str], deque[GroupDoseEvaluation]]] = {}
    for group in answer.vaccine_groups.values():
        by_dose: dict[tuple[date, str], deque[GroupDoseEvaluation]] = defaultdict(deque)
        for evaluation in group.doses:
            by_dose[(evaluation.date_administered, normalize_cvx(evaluation.cvx))].append(
                evaluation
            )
        found[group.vaccine_group] = by_dose
    return found


def evaluated_history(
    doses: list[ImmunizationOut], answer: Forecast, schedule: Schedule
) -> list[str]:
    """Z42's body after the PID: every dose with its evaluations, then the forecast."""
    schedule_code = schedule_coding(schedule)
    evaluations = _evaluations(answer)
    body: list[str] = []
    for dose in sorted(doses, key=lambda d: (d.date_administered, d.id)):
        body += dose_segments(dose)
        observations = _Observations()
        key = (dose.date_administered, normalize_cvx(dose.cvx))
        sub_id = 0
        for group in _relevant(answer):
            queue = evaluations[group.vaccine_group].get(key)
            if not queue:
                continue
            evaluation = queue.popleft()
            sub_id += 1
            observations.group_header(
                sub_id,
                group_vaccine(schedule, schedule.vaccine_groups[group.vaccine_group]),
                schedule_code,
                _series(group),
            )
            valid = evaluation.status is EvaluationStatus.VALID
            numbers = [a.target_dose_number for a in evaluation.antigens if a.target_dose_number]
            if valid and numbers:
                observations.add("NM", DOSE_NUMBER, sub_id, str(numbers[0]))
            observations.add("ID", DOSE_VALIDITY, sub_id, "Y" if valid else "N")
            if not valid:
                observations.add("ST", REASON, sub_id, components("; ".join(evaluation.reasons)))
        body += observations.segments
    return body + _forecast(answer, schedule, schedule_code)


def _forecast(answer: Forecast, schedule: Schedule, schedule_code: str) -> list[str]:
    day = hl7_date(answer.assessment_date)
    observations = _Observations()
    for sub_id, group in enumerate(_relevant(answer), start=1):
        observations.group_header(
            sub_id,
            group_vaccine(schedule, schedule.vaccine_groups[group.vaccine_group]),
            schedule_code,
            _series(group),
        )
        observations.add(
            "CE",
            SERIES_STATUS,
            sub_id,
            components(*_status(group, answer.assessment_date), "LN"),
        )
        following = group.next_dose
        if following is not None:
            observations.add("NM", DOSE_NUMBER, sub_id, str(following.dose_number))
            observations.add("DT", EARLIEST_DATE, sub_id, hl7_date(following.earliest))
            observations.add("DT", DUE_DATE, sub_id, hl7_date(following.recommended))
            observations.add("DT", LATEST_DATE, sub_id, hl7_date(following.latest))
            observations.add("DT", OVERDUE_DATE, sub_id, hl7_date(following.past_due))
        observations.add("ST", REASON, sub_id, components(group.reason))
    return [
        segment("ORC", "RE", "", components(NO_FILLER_ORDER_NUMBER, RECEIVER)),
        segment(
            "RXA",
            "0",
            "1",
            day,
            day,
            components(NO_VACCINE_ADMINISTERED, "No vaccine administered", "CVX"),
            "999",
            *[""] * 13,
            "NA",
        ),
        *observations.segments,
    ]
