"""What the education API answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Language = Literal["vi", "en"]


class SourceOut(BaseModel):
    title: str
    url: str | None = None


class ScheduleEntryOut(BaseModel):
    programme: Literal["tcmr", "services", "risk"]
    programme_label: str
    series: str
    doses: list[str]


class VaccineSummaryOut(BaseModel):
    key: str
    name: str
    vaccine_groups: list[str]
    url: str  # this vaccine's page in the same language


class VaccineOut(BaseModel):
    key: str
    language: Language
    name: str
    prevents: str
    schedule: list[ScheduleEntryOut]
    reactions: str
    seek_care: str
    reminder: str
    vaccine_groups: list[str]
    cvx: list[str]
    sources: list[SourceOut]
