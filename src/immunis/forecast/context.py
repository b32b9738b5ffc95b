"""Per-patient working context shared by the engine's steps: birth date arithmetic, the whole
history, and the schedule's live-virus conflicts indexed for lookup."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from immunis.forecast.dates import add
from immunis.forecast.organize import History
from immunis.forecast.records import Patient
from immunis.schedule.model import Duration, LiveVirusConflict, Schedule

_CONFLICT_INDEX: dict[int, tuple[Schedule, dict[tuple[str, str], LiveVirusConflict]]] = {}


def conflicts_by_pair(schedule: Schedule) -> dict[tuple[str, str], LiveVirusConflict]:
    """Live-virus conflicts keyed by (previous CVX, current CVX), built once per schedule."""
    cached = _CONFLICT_INDEX.get(id(schedule))
    if cached is not None and cached[0] is schedule:
        return cached[1]
    index = {(c.previous_cvx, c.current_cvx): c for c in schedule.live_virus_conflicts}
    _CONFLICT_INDEX[id(schedule)] = (schedule, index)
    return index


@dataclass(slots=True)
class PatientContext:
    patient: Patient
    assessment_date: date
    history: History
    schedule: Schedule
    conflicts: dict[tuple[str, str], LiveVirusConflict]
    _age_dates: dict[Duration, date] = field(default_factory=dict)

    @property
    def birth_date(self) -> date:
        return self.patient.birth_date

    def age_date(self, age: Duration) -> date:
        """The date the patient reaches `age` (memoised: the same ages recur in every series)."""
        found = self._age_dates.get(age)
        if found is None:
            found = add(self.patient.birth_date, age)
            self._age_dates[age] = found
        return found

    def has_observation(self, code: str, on: date | None = None) -> bool:
        """Whether the patient has observation `code` (active on `on`, when given)."""
        for observation in self.patient.observations:
            if observation.code != code:
                continue
            if on is None:
                return True
            if observation.start_date and on < observation.start_date:
                continue
            if observation.end_date and on > observation.end_date:
                continue
            return True
        return False
