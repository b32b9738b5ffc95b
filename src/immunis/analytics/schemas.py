"""Coverage figures as the API gives them: counts and percentages, never a person."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class IndicatorOut(BaseModel):
    id: str
    name: str


class CoverageRow(BaseModel):
    cohort: int
    area: str
    indicator: str
    denominator: int | None
    vaccinated: int
    coverage_pct: float | None
    timely: int | None
    timely_pct: float | None  # of the vaccinated, the share given in the schedule's window


class SummaryRow(BaseModel):
    cohort: int
    area: str
    registered: int
    denominator: int | None
    zero_dose_base: int | None  # children who reached the zero-dose age (or the population)
    zero_dose: int | None
    zero_dose_pct: float | None
    dropout_pct: dict[str, float | None]  # "DTP1-DTP3" -> percentage


class CoverageOut(BaseModel):
    as_of: date
    by: str
    cohorts: list[int]
    area_code: str | None
    denominators: str  # "registry" or "population estimate"
    indicators: list[IndicatorOut]
    coverage: list[CoverageRow]
    summary: list[SummaryRow]
