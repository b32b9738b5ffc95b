"""The patient file the CLI reads: a person, their doses and, optionally, the assessment date.

{"birth_date": "2025-01-15", "gender": "F",
 "observations": [{"code": "055"}],
 "doses": [{"date": "2025-03-15", "cvx": "198", "mvx": "SII"}],
 "assessment_date": "2025-11-24"}
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from immunis.forecast import AdministeredDose, DoseCondition, Gender, Patient, PatientObservation


class PatientFileError(ValueError):
    """The patient file cannot be read; the message says where and why."""


def _date_as_text(value: Any) -> Any:
    # Pydantic would read a number as a Unix timestamp: 0 would be a 1970 birth date.
    if value is not None and not isinstance(value, str | date):
        raise ValueError("a date must be a string YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_date_as_text)]

# What Gender.parse understands; anything else ("X", "Frog") would be read by its first letter.
_GENDERS = {"f", "m", "u", "female", "male", "unknown"}


def _known_gender(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() not in _GENDERS:
        raise ValueError("gender must be F, M or U (or Female, Male, Unknown)")
    return value


class _Observation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1)
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None


class _Dose(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: IsoDate
    cvx: str = Field(min_length=1, pattern=r"^\s*[0-9A-Za-z-]+\s*$")
    mvx: str | None = None
    volume_ml: float | None = Field(default=None, gt=0, strict=True)
    condition: DoseCondition | None = None
    id: str | None = None


class _PatientFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    birth_date: IsoDate
    gender: Annotated[str | None, BeforeValidator(_known_gender)] = None
    observations: list[_Observation] = []
    doses: list[_Dose] = []
    assessment_date: IsoDate | None = None


def _check_dates_after_birth(parsed: _PatientFile) -> None:
    for index, dose in enumerate(parsed.doses):
        if dose.date < parsed.birth_date:
            raise PatientFileError(
                f"doses.{index}.date: {dose.date} is before the birth date {parsed.birth_date}"
            )
    if parsed.assessment_date and parsed.assessment_date < parsed.birth_date:
        raise PatientFileError(
            f"assessment_date: {parsed.assessment_date} is before the birth date "
            f"{parsed.birth_date}"
        )


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(file)"
        lines.append(f"{where}: {problem['msg'].removeprefix('Value error, ')}")
    return "; ".join(lines)


def parse_patient(data: bytes | str) -> tuple[Patient, tuple[AdministeredDose, ...], date | None]:
    """Patient, doses and assessment date (None when the file has none) from JSON text."""
    try:
        raw = json.loads(data)
    except json.JSONDecodeError as error:
        raise PatientFileError(f"not JSON: {error.msg} (line {error.lineno})") from error
    except UnicodeDecodeError as error:
        raise PatientFileError(f"not UTF-8 text: {error.reason} at byte {error.start}") from error
    if not isinstance(raw, dict):
        raise PatientFileError(f"the file must be a JSON object, not a {type(raw).__name__}")
    try:
        parsed = _PatientFile.model_validate(raw)
    except ValidationError as error:
        raise PatientFileError(_describe(error)) from error
    _check_dates_after_birth(parsed)
    patient = Patient(
        birth_date=parsed.birth_date,
        gender=Gender.parse(parsed.gender),
        observations=tuple(
            PatientObservation(o.code, o.start_date, o.end_date) for o in parsed.observations
        ),
    )
    doses = tuple(
        AdministeredDose(
            date_administered=d.date,
            cvx=d.cvx.strip(),
            mvx=d.mvx,
            volume_ml=d.volume_ml,
            condition=d.condition,
            id=d.id or str(index + 1),
        )
        for index, d in enumerate(parsed.doses)
    )
    return patient, doses, parsed.assessment_date


def read_patient(path: Path) -> tuple[Patient, tuple[AdministeredDose, ...], date | None]:
    """`parse_patient` on a file; a missing file is a PatientFileError too."""
    try:
        return parse_patient(path.read_bytes())
    except OSError as error:
        raise PatientFileError(f"cannot read {path}: {error.strerror}") from error
