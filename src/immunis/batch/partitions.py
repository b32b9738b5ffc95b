"""Partitions of the population and the people in each, read as the engine's inputs.

Parquet (what `immunis synth` writes): a partition is a run of whole row groups; row group k of
immunizations.parquet holds the doses of the people in row group k of persons.parquet.
Database: a partition is a range of person ids. Ids are random UUIDs written as lower-case hex, so
equal slices of the UUID space hold about equal numbers of people; the first and last ranges are
open, so an id of any other shape still falls in one of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute

from immunis.forecast import AdministeredDose, DoseCondition, Gender, Patient, PatientObservation
from immunis.synth.parquet import IMMUNIZATIONS_FILE, PERSONS_FILE

GENDERS = {"female": Gender.FEMALE, "male": Gender.MALE}
UUID_SPACE = 2**128


@dataclass(frozen=True)
class ParquetPartition:
    number: int
    folder: str
    row_groups: tuple[int, ...]


@dataclass(frozen=True)
class DatabasePartition:
    number: int
    database_url: str
    low: str | None  # ids from this one on (None: from the first)
    high: str | None  # up to, not including, this one (None: to the last)


Partition = ParquetPartition | DatabasePartition
# What the engine needs for one person: id, the patient, the doses.
PersonInputs = tuple[str, Patient, list[AdministeredDose]]


def parquet_partitions(folder: Path, count: int | None) -> list[ParquetPartition]:
    """`count` partitions (default: one per row group) of the population in `folder`."""
    groups = pq.ParquetFile(folder / PERSONS_FILE).num_row_groups
    dose_groups = pq.ParquetFile(folder / IMMUNIZATIONS_FILE).num_row_groups
    if groups != dose_groups:
        raise ValueError(
            f"{folder}: {groups} row groups of persons but {dose_groups} of immunizations"
        )
    count = min(count or groups, groups)
    bounds = [round(groups * k / count) for k in range(count + 1)]
    return [
        ParquetPartition(k, str(folder), tuple(range(bounds[k], bounds[k + 1])))
        for k in range(count)
    ]


def _uuid_text(value: int) -> str:
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def database_partitions(database_url: str, count: int) -> list[DatabasePartition]:
    """`count` ranges of person ids that together cover every id."""
    cuts = [_uuid_text(UUID_SPACE * k // count) for k in range(1, count)]
    lows: list[str | None] = [None, *cuts]
    highs: list[str | None] = [*cuts, None]
    return [
        DatabasePartition(k, database_url, low, high)
        for k, (low, high) in enumerate(zip(lows, highs, strict=True))
    ]


def read_partition(partition: Partition) -> Iterator[PersonInputs]:
    """Each person of the partition with their doses, in a stable order."""
    if isinstance(partition, ParquetPartition):
        return _read_parquet(partition)
    return _read_database(partition)


def _read_parquet(partition: ParquetPartition) -> Iterator[PersonInputs]:
    folder = Path(partition.folder)
    for group in partition.row_groups:
        persons = pq.ParquetFile(folder / PERSONS_FILE).read_row_group(
            group, columns=["person_id", "birth_date", "sex"]
        )
        doses = pq.ParquetFile(folder / IMMUNIZATIONS_FILE).read_row_group(
            group, columns=["person_id", "date_administered", "cvx"]
        )
        by_person: defaultdict[str, list[AdministeredDose]] = defaultdict(list)
        for person_id, given, cvx in zip(
            doses["person_id"].to_pylist(),
            doses["date_administered"].to_pylist(),
            doses["cvx"].to_pylist(),
            strict=True,
        ):
            by_person[person_id].append(AdministeredDose(given, cvx))
        for person_id, birth_date, sex in zip(
            persons["person_id"].to_pylist(),
            persons["birth_date"].to_pylist(),
            persons["sex"].to_pylist(),
            strict=True,
        ):
            patient = Patient(birth_date, GENDERS.get(sex, Gender.UNKNOWN))
            yield person_id, patient, by_person.get(person_id, [])


def _in_range(
    column: InstrumentedAttribute[str], partition: DatabasePartition
) -> list[ColumnElement[bool]]:
    conditions = []
    if partition.low is not None:
        conditions.append(column >= partition.low)
    if partition.high is not None:
        conditions.append(column < partition.high)
    return conditions


def _read_database(partition: DatabasePartition) -> Iterator[PersonInputs]:
    # The batch room reads the registry's tables directly: a whole-population scan by id range is
    # not a use case of the registry's per-person service.
    from immunis.db import make_engine
    from immunis.registry.models import Immunization, Person, PersonObservation

    engine = make_engine(partition.database_url)
    try:
        with engine.connect() as connection:
            people = connection.execute(
                select(Person.id, Person.birth_date, Person.sex)
                .where(Person.active, Person.merged_into_id.is_(None))
                .where(*_in_range(Person.id, partition))
                .order_by(Person.id)
            ).all()
            doses: defaultdict[str, list[AdministeredDose]] = defaultdict(list)
            for row in connection.execute(
                select(
                    Immunization.person_id,
                    Immunization.id,
                    Immunization.date_administered,
                    Immunization.cvx,
                    Immunization.mvx,
                    Immunization.dose_volume_ml,
                    Immunization.recall_action,
                )
                .where(Immunization.status == "completed")
                .where(*_in_range(Immunization.person_id, partition))
                .order_by(Immunization.person_id, Immunization.date_administered)
            ):
                doses[row.person_id].append(
                    AdministeredDose(
                        date_administered=row.date_administered,
                        cvx=row.cvx,
                        mvx=row.mvx,
                        volume_ml=row.dose_volume_ml,
                        condition=DoseCondition.RECALLED
                        if row.recall_action == "revaccinate"
                        else None,
                        id=row.id,
                    )
                )
            observations: defaultdict[str, list[PatientObservation]] = defaultdict(list)
            for seen in connection.execute(
                select(
                    PersonObservation.person_id,
                    PersonObservation.code,
                    PersonObservation.start_date,
                    PersonObservation.end_date,
                ).where(*_in_range(PersonObservation.person_id, partition))
            ):
                observations[seen.person_id].append(
                    PatientObservation(seen.code, seen.start_date, seen.end_date)
                )
    finally:
        engine.dispose()
    for person_id, birth_date, sex in people:
        patient = Patient(
            birth_date, GENDERS.get(sex, Gender.UNKNOWN), tuple(observations.get(person_id, ()))
        )
        yield person_id, patient, doses.get(person_id, [])
