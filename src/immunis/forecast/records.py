"""What the engine is given: the patient and the doses they received."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Gender(StrEnum):
    FEMALE = "Female"
    MALE = "Male"
    UNKNOWN = "Unknown"

    @classmethod
    def parse(cls, text: str | None) -> Gender:
        """Accepts ``F``/``M``/``U`` and the full words, any case."""
        if not text:
            return cls.UNKNOWN
        key = text.strip().upper()[:1]
        return {"F": cls.FEMALE, "M": cls.MALE}.get(key, cls.UNKNOWN)


class DoseCondition(StrEnum):
    """A known problem with a dose that makes it not count (CDSi 'dose condition')."""

    SUB_STANDARD = "Sub-standard"
    EXPIRED = "Expired"
    RECALLED = "Recalled"


@dataclass(frozen=True, slots=True)
class PatientObservation:
    """A coded CDSi observation about the patient (indication, contraindication, immunity)."""

    code: str
    start_date: date | None = None
    end_date: date | None = None


@dataclass(frozen=True, slots=True)
class Patient:
    birth_date: date
    gender: Gender = Gender.UNKNOWN
    observations: tuple[PatientObservation, ...] = ()


@dataclass(frozen=True, slots=True)
class AdministeredDose:
    """One dose as recorded: when, which vaccine (CVX, optionally MVX), and any known problem."""

    date_administered: date
    cvx: str
    mvx: str | None = None
    volume_ml: float | None = None
    condition: DoseCondition | None = None
    id: str | None = None
