"""What the outreach API answers: the reminder and recall lists of a site or an area."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel

ListSource = Literal["live", "batch"]
ProgrammeFilter = Literal["tcmr", "services", "all"]


class DueDoseOut(BaseModel):
    vaccine_group: str
    dose_number: int | None
    recommended: date
    past_due: date | None
    vaccine: str | None  # the education content's key (GET /api/education/vaccines/{key})
    programme: Literal["tcmr", "services", "risk"]


class DuePersonOut(BaseModel):
    person_id: str
    family_name: str
    given_name: str
    birth_date: date
    managing_site_id: str | None
    commune_code: str | None
    reachable: bool  # a phone number to send a reminder to (theirs or a guardian's)
    doses: list[DueDoseOut]


class DueTotals(BaseModel):
    people: int  # the people of the site or area that the lists were made from
    due_soon_people: int
    overdue_people: int
    due_soon_by_group: dict[str, int]
    overdue_by_group: dict[str, int]


class SiteRef(BaseModel):
    id: str
    code: str
    name: str


class DueListOut(BaseModel):
    on: date
    window_days: int
    site: SiteRef | None
    area: str | None
    source: ListSource
    batch_run_id: str | None  # the forecast-all run read, for source=batch
    programme: ProgrammeFilter
    totals: DueTotals
    due_soon: list[DuePersonOut]
    overdue: list[DuePersonOut]
    truncated: bool  # the person lists stop at the limit asked for; totals count everyone
