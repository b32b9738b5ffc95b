"""The AEFI event terms a report is coded with, their risk windows and background rates.

Pure: `load_terms` takes the YAML file's bytes and returns frozen dataclasses; the shipped list is
`data/aefi_terms.yaml` (its sources are in the file and in docs/safety.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

TERMS_FORMAT = "immunis-aefi-terms/1"
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True, slots=True)
class AgeBand:
    """Ages from `from_days` (age in days) up to the next band's start."""

    label: str
    from_days: int


@dataclass(frozen=True, slots=True)
class RiskWindow:
    """Days after vaccination (day 0 is the day of the dose) in which an event is counted."""

    first_day: int
    last_day: int

    @property
    def days(self) -> int:
        """How many days the window spans, both ends counted."""
        return self.last_day - self.first_day + 1

    def contains(self, days_after: int) -> bool:
        """Whether an onset this many days after the dose falls in the window."""
        return self.first_day <= days_after <= self.last_day


@dataclass(frozen=True, slots=True)
class AefiTerm:
    code: str
    name: str
    definition: str
    window: RiskWindow
    meddra: str | None = None
    # Incidence per 100,000 person-years by age band label; empty: no observed-vs-expected.
    background: Mapping[str, float] | None = None
    background_source: str | None = None
    background_verified: bool = False

    def expected_per_dose(self, age_band: str) -> float:
        """Events expected by chance in the risk window after one dose at this age."""
        rate = (self.background or {}).get(age_band, 0.0)
        return rate / 100_000 * self.window.days / DAYS_PER_YEAR


@dataclass(frozen=True, slots=True)
class TermList:
    age_bands: tuple[AgeBand, ...]
    terms: Mapping[str, AefiTerm]

    def age_band(self, age_days: int) -> str:
        """The label of the band an age (in days) falls in."""
        label = self.age_bands[0].label
        for band in self.age_bands:
            if age_days >= band.from_days:
                label = band.label
        return label

    def term(self, code: str) -> AefiTerm | None:
        """The term with this code, if the list has one."""
        return self.terms.get(code)


def _term(raw: Mapping[str, Any], bands: set[str]) -> AefiTerm:
    first, last = raw["window"]
    if not 0 <= int(first) <= int(last):
        raise ValueError(f"term {raw['code']}: window {raw['window']} is not [first, last] days")
    background = raw.get("background") or {}
    rates = {str(k): float(v) for k, v in (background.get("rates") or {}).items()}
    unknown = set(rates) - bands
    if unknown:
        raise ValueError(f"term {raw['code']}: unknown age bands {sorted(unknown)}")
    return AefiTerm(
        code=str(raw["code"]),
        name=str(raw["name"]),
        definition=str(raw["definition"]),
        window=RiskWindow(int(first), int(last)),
        meddra=raw.get("meddra"),
        background=rates or None,
        background_source=background.get("source"),
        background_verified=bool(background.get("verified", False)),
    )


def load_terms(data: bytes) -> TermList:
    """Parse an AEFI term list (the format of data/aefi_terms.yaml)."""
    raw = yaml.safe_load(data)
    if not isinstance(raw, dict) or raw.get("format") != TERMS_FORMAT:
        raise ValueError(f"not an AEFI term list (format {TERMS_FORMAT})")
    bands = tuple(AgeBand(str(b["label"]), int(b["from_days"])) for b in raw["age_bands"])
    if [b.from_days for b in bands] != sorted({b.from_days for b in bands}) or (
        bands and bands[0].from_days != 0
    ):
        raise ValueError("age bands must start at 0 days and increase")
    labels = {b.label for b in bands}
    terms = [_term(t, labels) for t in raw["terms"]]
    codes = [t.code for t in terms]
    if len(set(codes)) != len(codes):
        raise ValueError("duplicate term codes")
    return TermList(bands, {t.code: t for t in terms})


@cache
def shipped_terms() -> TermList:
    """The term list that ships with immunis."""
    return load_terms((resources.files("immunis.safety") / "data" / "aefi_terms.yaml").read_bytes())
