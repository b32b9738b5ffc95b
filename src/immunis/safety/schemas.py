"""What the safety room takes in and gives out: AEFI reports, their review, signals, lot alerts."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from immunis.safety.workflow import Causality, Outcome, Seriousness, Status


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SuspectedDoseIn(_Strict):
    immunization_id: str = Field(min_length=1, max_length=36)
    time_administered: time | None = None


class EventIn(_Strict):
    code: str = Field(min_length=1, max_length=10, description="A term code (GET /api/aefi/terms)")
    text: str | None = Field(default=None, max_length=300, description="Needed for OTHER")


class AefiReportIn(_Strict):
    """A reaction after one or more recorded doses (WHO AEFI reporting form, core variables)."""

    person_id: str = Field(min_length=1, max_length=36)
    doses: list[SuspectedDoseIn] = Field(min_length=1, max_length=10)
    onset_date: date
    onset_time: time | None = None
    events: list[EventIn] = Field(min_length=1, max_length=20)
    description: str = Field(min_length=1, max_length=5000)
    treatment: str | None = Field(default=None, max_length=5000)
    seriousness: list[Seriousness] = Field(default_factory=list)
    outcome: Outcome = Outcome.UNKNOWN
    death_date: date | None = None
    reporter_designation: str | None = Field(
        default=None, max_length=100, description="e.g. mother, nurse, commune health worker"
    )
    reporter_phone: str | None = Field(default=None, pattern=r"^\+?\d{9,15}$")

    @model_validator(mode="after")
    def _consistent(self) -> AefiReportIn:
        codes = [e.code for e in self.events]
        if len(set(codes)) != len(codes):
            raise ValueError("an event term is listed twice")
        if len({d.immunization_id for d in self.doses}) != len(self.doses):
            raise ValueError("a dose is listed twice")
        if self.death_date is not None and self.outcome is not Outcome.DIED:
            raise ValueError("a death date needs the outcome 'died'")
        if self.outcome is Outcome.DIED and Seriousness.DEATH not in self.seriousness:
            # A death is serious by WHO's first criterion, whatever else was ticked.
            self.seriousness = [*self.seriousness, Seriousness.DEATH]
        return self


class EventOut(BaseModel):
    code: str
    name: str
    text: str | None


class SuspectedDoseOut(BaseModel):
    immunization_id: str
    cvx: str
    mvx: str | None
    product_name: str | None
    lot_number: str | None
    site_id: str | None
    date_administered: date
    time_administered: time | None
    days_to_onset: int


class NoteOut(BaseModel):
    kind: str
    text: str
    outcome: str | None
    noted_at: datetime
    author_user_id: str | None
    author_role: str | None


class CausalityOut(BaseModel):
    category: Causality
    meaning: str
    rationale: str
    assessed_by: str
    assessed_at: datetime


class LinkOut(BaseModel):
    other_report_id: str
    score: float | None
    reasons: list[str]
    state: Literal["suspected", "confirmed", "dismissed"]


class AefiReportOut(BaseModel):
    id: str
    person_id: str
    sex: str
    age_at_onset_days: int
    province_code: str | None
    district_code: str | None
    commune_code: str | None
    reporter_user_id: str
    reporter_role: str
    reporter_name: str
    reporter_designation: str | None
    reporter_phone: str | None
    reported_at: datetime
    onset_date: date
    onset_time: time | None
    events: list[EventOut]
    doses: list[SuspectedDoseOut]
    description: str
    treatment: str | None
    seriousness: list[Seriousness]
    serious: bool
    outcome: Outcome
    death_date: date | None
    status: Status
    causality: CausalityOut | None
    assessments: list[CausalityOut]
    notes: list[NoteOut]
    links: list[LinkOut]
    duplicate_of_id: str | None
    closed_at: datetime | None


class AefiQueueItem(BaseModel):
    """A line of the safety officer's queue."""

    id: str
    reported_at: datetime
    onset_date: date
    events: list[str]
    vaccines: list[str]
    serious: bool
    status: Status
    causality: Causality | None
    province_code: str | None
    possible_duplicates: int


class FollowUpIn(_Strict):
    text: str = Field(min_length=1, max_length=5000)
    outcome: Outcome | None = None


class InvestigationIn(_Strict):
    findings: str = Field(min_length=1, max_length=10000)


class CausalityIn(_Strict):
    category: Causality
    rationale: str = Field(min_length=1, max_length=5000)


class CloseIn(_Strict):
    note: str | None = Field(default=None, max_length=5000)


class MergeIn(_Strict):
    into: str = Field(min_length=1, max_length=36, description="The report this one duplicates")


class LinkIn(_Strict):
    other_report_id: str = Field(min_length=1, max_length=36)
    state: Literal["confirmed", "dismissed"]


class TermOut(BaseModel):
    code: str
    name: str
    definition: str
    meddra: str | None
    window_days: tuple[int, int]
    has_background_rate: bool


class AefiAggregate(BaseModel):
    """Counts of reports in an area: no person, no report, only numbers."""

    area_code: str | None
    onset_from: date | None
    onset_to: date | None
    reports: int
    serious: int
    by_event: dict[str, int]
    by_vaccine: dict[str, int]
    by_status: dict[str, int]
    by_causality: dict[str, int]
    by_outcome: dict[str, int]


class SignalRunIn(_Strict):
    period_start: date | None = Field(default=None, description="First vaccination date counted")
    period_end: date | None = Field(default=None, description="Last date counted (default today)")


class SignalResultOut(BaseModel):
    method: str
    cvx: str
    event_code: str
    stratum_kind: str
    stratum: str | None
    observed: int
    expected: float | None
    statistics: dict[str, Any]
    signal: bool


class SignalRunOut(BaseModel):
    id: str
    started_at: datetime
    started_by: str | None
    period_start: date | None
    period_end: date
    summary: dict[str, Any]
    results: list[SignalResultOut] | None = None


class LotAlertOut(BaseModel):
    id: str
    lot_number: str
    cvx: str
    event_code: str
    reason: str
    statistics: dict[str, Any]
    run_id: str
    raised_at: datetime
    status: Literal["open", "acknowledged", "dismissed"]
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


class LotAlertDecisionIn(_Strict):
    status: Literal["acknowledged", "dismissed"]
    note: str | None = Field(default=None, max_length=5000)
