"""The synthetic model's sources: the data files shipped in `data/`, read into plain structures."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name: str
    region: str
    population: int
    birth_rate: float  # per 1,000 people a year
    coverage: float  # multiplier on programme (TCMR) coverage
    services: float  # multiplier on private (dịch vụ) uptake
    southern_names: bool


@dataclass(frozen=True, slots=True)
class CourseDose:
    antigen: str
    dose: int
    cvx: str
    product: str
    coverage: float
    delay_days: float
    introduced: date | None


@dataclass(frozen=True, slots=True)
class Course:
    name: str
    site: str  # birth | public | private
    services: bool
    replaces: tuple[str, ...]
    sex: str | None
    doses: tuple[CourseDose, ...]


@dataclass(frozen=True, slots=True)
class Programme:
    records_from: date
    back_entered_born_from: date
    missing_before_records: float
    missing: float
    delay_sigma: float
    courses: tuple[Course, ...]


def _text(name: str) -> str:
    return (resources.files("immunis.synth") / "data" / name).read_text(encoding="utf-8")


@cache
def provinces() -> tuple[Province, ...]:
    """The 63 provinces, in GSO code order."""
    lines = (line for line in io.StringIO(_text("provinces.csv")) if not line.startswith("#"))
    return tuple(
        Province(
            code=row["code"],
            name=row["name"],
            region=row["region"],
            population=int(row["population"]),
            birth_rate=float(row["birth_rate"]),
            coverage=float(row["coverage"]),
            services=float(row["services"]),
            southern_names=row["names"] == "S",
        )
        for row in csv.DictReader(lines)
    )


@cache
def names() -> dict[str, Any]:
    """Family, middle and given names with their weights (see data/names.yaml)."""
    loaded: dict[str, Any] = yaml.safe_load(_text("names.yaml"))
    return loaded


@cache
def population() -> dict[str, Any]:
    """Ages, sex, identifiers, contacts and the registry's flaws (see data/population.yaml)."""
    loaded: dict[str, Any] = yaml.safe_load(_text("population.yaml"))
    return loaded


@cache
def programme() -> Programme:
    """The courses of vaccination the population received (see data/programme.yaml)."""
    raw = yaml.safe_load(_text("programme.yaml"))
    courses = tuple(
        Course(
            name=course["name"],
            site=course["site"],
            services=bool(course.get("services", False)),
            replaces=tuple(course.get("replaces", ())),
            sex=course.get("sex"),
            doses=tuple(
                CourseDose(
                    antigen=dose["antigen"],
                    dose=int(dose["dose"]),
                    cvx=str(dose["cvx"]),
                    product=dose["product"],
                    coverage=float(dose["coverage"]),
                    delay_days=float(dose["delay_days"]),
                    introduced=dose.get("introduced"),
                )
                for dose in course["doses"]
            ),
        )
        for course in raw["courses"]
    )
    known = {course.name for course in courses}
    for course in courses:
        if unknown := set(course.replaces) - known:
            raise ValueError(f"programme.yaml: {course.name} replaces unknown {sorted(unknown)}")
    return Programme(
        records_from=raw["records_from"],
        back_entered_born_from=raw["back_entered_born_from"],
        missing_before_records=float(raw["missing_before_records"]),
        missing=float(raw["missing"]),
        delay_sigma=float(raw["delay_sigma"]),
        courses=courses,
    )
