"""Coverage indicators as data: which doses each counts, and its timeliness window, resolved
against a schedule (the vaccine-to-antigen map and the antigen's recommended ages).

Pure: `load_indicators` takes the YAML file's bytes and a schedule and returns frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from immunis.schedule.catalog import load_schedule
from immunis.schedule.model import Duration, Schedule, Series, normalize_cvx

INDICATORS_FORMAT = "immunis-coverage-indicators/1"


@dataclass(frozen=True, slots=True)
class AgeLimit:
    """An age as whole calendar months plus days (CDSi: months first, then days)."""

    months: int
    days: int

    @classmethod
    def of(cls, duration: Duration | None) -> AgeLimit:
        """A schedule age (years, months, weeks, days) as months and days; none is birth."""
        if duration is None:
            return cls(0, 0)
        return cls(duration.years * 12 + duration.months, duration.weeks * 7 + duration.days)


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    name: str
    stream: str  # the doses it counts: one antigen, maybe narrowed to some vaccines
    dose: int
    earliest: AgeLimit  # timeliness window: from this age (the dose counts) ...
    latest: AgeLimit | None  # ... to this age (past due after it); None: no window
    only_timely: bool = False


@dataclass(frozen=True, slots=True)
class CoveragePlan:
    indicators: tuple[Indicator, ...]
    # stream -> the normalized CVX codes whose doses it counts
    streams: dict[str, frozenset[str]]
    dropouts: tuple[tuple[str, str], ...]
    zero_dose_indicator: str
    zero_dose_months: int

    def indicator(self, indicator_id: str) -> Indicator:
        """The indicator with this id."""
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise KeyError(indicator_id)


def _default_series(schedule: Schedule, antigen: str) -> Series:
    series = schedule.antigens[antigen].series
    return next((s for s in series if s.selection.default_series), series[0])


def _indicator(
    raw: dict[str, Any], schedule: Schedule, streams: dict[str, frozenset[str]]
) -> Indicator:
    antigen = str(raw["antigen"])
    if antigen not in schedule.antigens:
        raise ValueError(f"indicator {raw['id']}: schedule {schedule.id} has no antigen {antigen}")
    carrying = frozenset(
        cvx
        for cvx, vaccine in schedule.vaccines.items()
        if any(a.antigen == antigen for a in vaccine.associations)
    )
    narrowed = raw.get("vaccines")
    if narrowed:
        wanted = {normalize_cvx(str(c)) for c in narrowed}
        if not wanted <= carrying:
            raise ValueError(f"indicator {raw['id']}: {sorted(wanted - carrying)} lack {antigen}")
        carrying = frozenset(wanted)
        stream = f"{antigen}[{','.join(sorted(carrying))}]"
    else:
        stream = antigen
    streams[stream] = carrying
    window_dose = int(raw.get("window_dose", raw["dose"]))
    doses = _default_series(schedule, antigen).doses
    if not 1 <= window_dose <= len(doses):
        raise ValueError(f"indicator {raw['id']}: no dose {window_dose} in the {antigen} series")
    ages = doses[window_dose - 1].ages[0] if doses[window_dose - 1].ages else None
    earliest = (ages.absolute_min_age or ages.min_age) if ages else None
    latest = ages.latest_recommended_age if ages else None
    return Indicator(
        id=str(raw["id"]),
        name=str(raw["name"]),
        stream=stream,
        dose=int(raw["dose"]),
        earliest=AgeLimit.of(earliest),
        latest=AgeLimit.of(latest) if latest is not None else None,
        only_timely=bool(raw.get("only_timely", False)),
    )


def load_indicators(data: bytes, schedule: Schedule | None = None) -> CoveragePlan:
    """Parse an indicator file (the format of data/indicators.yaml) against `schedule` (default:
    the shipped schedule the file names)."""
    raw = yaml.safe_load(data)
    if not isinstance(raw, dict) or raw.get("format") != INDICATORS_FORMAT:
        raise ValueError(f"not a coverage indicator file (format {INDICATORS_FORMAT})")
    chosen = schedule or load_schedule(str(raw["schedule"]))
    streams: dict[str, frozenset[str]] = {}
    indicators = tuple(_indicator(i, chosen, streams) for i in raw["indicators"])
    ids = {i.id for i in indicators}
    if len(ids) != len(indicators):
        raise ValueError("duplicate indicator ids")
    dropouts = tuple((str(a), str(b)) for a, b in raw.get("dropouts") or [])
    zero = raw["zero_dose"]
    for name in [*(x for pair in dropouts for x in pair), zero["indicator"]]:
        if name not in ids:
            raise ValueError(f"unknown indicator {name}")
    return CoveragePlan(
        indicators, streams, dropouts, str(zero["indicator"]), int(zero["by_age_months"])
    )


@cache
def shipped_indicators() -> CoveragePlan:
    """The indicators that ship with immunis, on the Vietnam schedule."""
    path = resources.files("immunis.analytics") / "data" / "indicators.yaml"
    return load_indicators(path.read_bytes())
