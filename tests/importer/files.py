"""What the importer tests import: FHIR NDJSON files of families (a patient and two doses),
and how to run an import and look at what it did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from immunis.access.policy import Actor
from immunis.access.service import actor_for, find_user
from immunis.importer.service import ImportResult, import_file
from tests.world import World

EMR = "urn:emr:vnvc"
CVX = "http://hl7.org/fhir/sid/cvx"


def patient(number: int) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": f"p{number}",
        "identifier": [{"system": EMR, "value": f"P-{number}"}],
        "name": [{"family": "Trần", "given": ["Bé", str(number)]}],
        "birthDate": "2025-03-03",
        "gender": "female",
    }


def dose(
    number: int, dose_number: int, on: str = "2025-05-05", **patient_ref: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Immunization",
        "status": "completed",
        "identifier": [{"system": f"{EMR}:dose", "value": f"D-{number}-{dose_number}"}],
        "patient": patient_ref or {"reference": f"Patient/p{number}"},
        "vaccineCode": {"coding": [{"system": CVX, "code": "08"}]},
        "occurrenceDateTime": on,
    }


def family(number: int) -> list[dict[str, Any]]:
    """A patient line followed by two dose lines."""
    return [patient(number), dose(number, 1), dose(number, 2)]


def ndjson(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


def actor(world: World, username: str = "vaccinator") -> Actor:
    with world.sessions() as session:
        user = find_user(session, username)
        assert user is not None
        return actor_for(session, user, channel="cli")


def run(world: World, path: Path, rejects: Path, **options: Any) -> ImportResult:
    return import_file(
        world.sessions, actor(world), path, "fhir-ndjson", rejects=rejects, **options
    )


def count(world: World, model: type) -> int:
    with world.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def rejected_lines(rejects: Path) -> list[tuple[int, str]]:
    if not rejects.exists():
        return []
    rows = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    return [(row["line"], row["reason"]) for row in rows]
