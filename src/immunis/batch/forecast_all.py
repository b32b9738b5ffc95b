"""The whole population's forecast: one task per partition, on Dask, restartable.

Each task reads its partition's people, runs the pure engine on each (the schedule is loaded once
per worker process), and writes its results to one Parquet file, under a temporary name renamed
when complete, and, for a database source, to forecast_result in one transaction that also
records the partition as done. A partition whose outputs are complete is not run again, so a run
that crashed or was stopped resumes where it was: `_run.json` in the output folder says which run
the folder holds.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import delete, insert, select, update

from immunis.batch.models import ForecastPartition, ForecastResult, ForecastRun
from immunis.batch.partitions import (
    DatabasePartition,
    Partition,
    PersonInputs,
    database_partitions,
    parquet_partitions,
    read_partition,
)
from immunis.batch.results import (
    RESULT_SCHEMA,
    ResultRow,
    input_error_row,
    result_rows,
    rows_to_table,
)
from immunis.db import make_engine, new_id
from immunis.forecast import ForecastInputError, forecast
from immunis.schedule.catalog import load_schedule

# The underscore (and the dot of temporary files) keep Parquet readers of the folder off them.
RUN_FILE = "_run.json"
BATCH_PEOPLE = 10_000  # people forecast between two writes: bounds a task's memory
DATABASE_PARTITION_PEOPLE = 100_000  # default partition size for a database source


class RunMismatchError(ValueError):
    """The output folder holds another run (other source, schedule, date or partitions)."""


@dataclass(frozen=True)
class PartitionTask:
    partition: Partition
    schedule_id: str
    assessment_date: date
    out: str
    run_id: str | None  # the database run the results belong to, for a database source


@dataclass(frozen=True)
class PartitionDone:
    number: int
    persons: int
    rows: int
    input_errors: int
    seconds: float
    cpu_seconds: float  # of the worker process: what the partition costs on a core of its own


def partition_file(out: Path, number: int) -> Path:
    return out / f"part-{number:05d}.parquet"


def _batches(people: Iterator[PersonInputs], size: int) -> Iterator[list[PersonInputs]]:
    while batch := list(islice(people, size)):
        yield batch


def forecast_people(
    people: list[PersonInputs], schedule_id: str, assessment_date: date
) -> tuple[list[ResultRow], int]:
    """Result rows for each person, and how many the engine refused."""
    schedule = load_schedule(schedule_id)
    rows: list[ResultRow] = []
    refused = 0
    for person_id, patient, doses in people:
        try:
            answer = forecast(patient, doses, assessment_date, schedule)
        except ForecastInputError:
            refused += 1
            rows.append(input_error_row(person_id))
            continue
        rows.extend(result_rows(person_id, answer))
    return rows, refused


class DatabaseResults:
    """A partition's rows in forecast_result, committed in one transaction with the row that marks
    the partition done; rows a crashed attempt left are deleted first."""

    def __init__(self, database_url: str, run_id: str, partition: int) -> None:
        self.run_id, self.partition = run_id, partition
        self.engine = make_engine(database_url)
        self.connection = self.engine.connect()
        self.connection.begin()
        self.connection.execute(
            delete(ForecastResult).where(
                ForecastResult.run_id == run_id, ForecastResult.partition == partition
            )
        )

    def add(self, rows: list[ResultRow]) -> None:
        if rows:
            self.connection.execute(insert(ForecastResult), [self._values(row) for row in rows])

    def commit(self, rows: int) -> None:
        self.connection.execute(
            delete(ForecastPartition).where(
                ForecastPartition.run_id == self.run_id,
                ForecastPartition.partition == self.partition,
            )
        )
        self.connection.execute(
            insert(ForecastPartition).values(
                run_id=self.run_id,
                partition=self.partition,
                status="done",
                rows=rows,
                finished_at=datetime.now(UTC),
            )
        )
        self.connection.commit()

    def close(self) -> None:
        """Ends the connection; an uncommitted transaction is rolled back."""
        self.connection.close()
        self.engine.dispose()

    def _values(self, row: ResultRow) -> dict[str, Any]:
        person_id, group, status, dose_number, earliest, recommended, past_due, overdue = row
        return {
            "run_id": self.run_id,
            "partition": self.partition,
            "person_id": person_id,
            "vaccine_group": group,
            "status": status,
            "dose_number": dose_number,
            "earliest": earliest,
            "recommended": recommended,
            "past_due": past_due,
            "overdue": overdue,
        }


def run_partition(task: PartitionTask) -> PartitionDone:
    """Forecast one partition and write its outputs; safe to run again."""
    started, started_cpu = time.perf_counter(), time.process_time()
    number = task.partition.number
    final = partition_file(Path(task.out), number)
    temporary = final.with_name(f".{final.name}.tmp")
    persons = rows = refused = 0
    database = (
        DatabaseResults(task.partition.database_url, task.run_id, number)
        if task.run_id is not None and isinstance(task.partition, DatabasePartition)
        else None
    )
    try:
        with pq.ParquetWriter(temporary, RESULT_SCHEMA) as writer:
            for people in _batches(read_partition(task.partition), BATCH_PEOPLE):
                batch, errors = forecast_people(people, task.schedule_id, task.assessment_date)
                writer.write_table(rows_to_table(batch))
                if database is not None:
                    database.add(batch)
                persons += len(people)
                rows += len(batch)
                refused += errors
        if database is not None:
            database.commit(rows)
        os.replace(temporary, final)
    finally:
        if database is not None:
            database.close()
        temporary.unlink(missing_ok=True)
    return PartitionDone(
        number,
        persons,
        rows,
        refused,
        time.perf_counter() - started,
        time.process_time() - started_cpu,
    )


@dataclass(frozen=True)
class RunRequest:
    source: str  # "db", or a folder written by `immunis synth`
    schedule_id: str
    assessment_date: date
    out: Path
    partitions: int | None = None
    database_url: str | None = None

    @property
    def from_database(self) -> bool:
        return self.source == "db"


@dataclass
class RunPlan:
    run_id: str | None
    tasks: list[PartitionTask]  # every partition of the run
    pending: list[PartitionTask]  # the ones whose outputs are not complete


def _database_people(url: str) -> int:
    from sqlalchemy import func

    from immunis.registry.models import Person

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(Person)) or 0)
    finally:
        engine.dispose()


def plan_run(request: RunRequest, workers: int) -> RunPlan:
    """The run's partitions, resuming the run the output folder holds if it is the same one."""
    request.out.mkdir(parents=True, exist_ok=True)
    manifest_path = request.out / RUN_FILE
    previous = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    count = request.partitions or (previous or {}).get("partitions")
    if request.from_database:
        assert request.database_url is not None
        if count is None:
            people = _database_people(request.database_url)
            count = max(workers, -(-people // DATABASE_PARTITION_PEOPLE))
        partitions: list[Partition] = list(database_partitions(request.database_url, count))
    else:
        partitions = list(parquet_partitions(Path(request.source), count))
    manifest = {
        "source": request.source,
        "schedule": request.schedule_id,
        "assessment_date": request.assessment_date.isoformat(),
        "partitions": len(partitions),
    }
    if previous is not None and {k: previous.get(k) for k in manifest} != manifest:
        raise RunMismatchError(
            f"{request.out} holds another run ({previous}); use another --out or --fresh"
        )
    run_id = (previous or {}).get("run_id")
    done_in_database: set[int] = set()
    if request.from_database:
        run_id = _start_database_run(request, len(partitions), run_id)
        done_in_database = _done_partitions(request, run_id)
    manifest["run_id"] = run_id
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tasks = [
        PartitionTask(
            partition, request.schedule_id, request.assessment_date, str(request.out), run_id
        )
        for partition in partitions
    ]
    pending = [
        task
        for task in tasks
        if not partition_file(request.out, task.partition.number).exists()
        or (request.from_database and task.partition.number not in done_in_database)
    ]
    return RunPlan(run_id, tasks, pending)


def _start_database_run(request: RunRequest, partitions: int, run_id: str | None) -> str:
    """The run's row in forecast_run: the folder's run again, or a new one."""
    engine = make_engine(request.database_url or "")
    try:
        with engine.begin() as connection:
            if run_id is not None and connection.scalar(
                select(ForecastRun.id).where(ForecastRun.id == run_id)
            ):
                connection.execute(
                    update(ForecastRun)
                    .where(ForecastRun.id == run_id)
                    .values(status="running", finished=None)
                )
                return run_id
            run_id = new_id()
            connection.execute(
                insert(ForecastRun).values(
                    id=run_id,
                    started=datetime.now(UTC),
                    schedule=request.schedule_id,
                    assessment_date=request.assessment_date,
                    partitions=partitions,
                    status="running",
                )
            )
            return run_id
    finally:
        engine.dispose()


def _done_partitions(request: RunRequest, run_id: str) -> set[int]:
    engine = make_engine(request.database_url or "")
    try:
        with engine.connect() as connection:
            return set(
                connection.scalars(
                    select(ForecastPartition.partition).where(
                        ForecastPartition.run_id == run_id, ForecastPartition.status == "done"
                    )
                )
            )
    finally:
        engine.dispose()


def _finish_database_run(request: RunRequest, run_id: str, failed: bool) -> None:
    engine = make_engine(request.database_url or "")
    try:
        with engine.begin() as connection:
            connection.execute(
                update(ForecastRun)
                .where(ForecastRun.id == run_id)
                .values(status="failed" if failed else "finished", finished=datetime.now(UTC))
            )
    finally:
        engine.dispose()


@dataclass
class RunReport:
    partitions: int
    skipped: int  # complete before this run started
    done: list[PartitionDone]
    failed: dict[int, str]  # partition -> error

    @property
    def persons(self) -> int:
        return sum(part.persons for part in self.done)


def run_forecast_all(
    request: RunRequest,
    client: Any,
    on_partition: Callable[[PartitionDone | None], None] = lambda done: None,
    on_plan: Callable[[int, int], None] = lambda total, skipped: None,
) -> RunReport:
    """Run every pending partition on the Dask `client`. `on_plan` hears how many partitions the
    run has and how many were already done; `on_partition` hears of each one that ends (None for
    one that failed). Failed partitions are reported, not retried: running again redoes them."""
    from dask.distributed import as_completed

    workers = max(1, len(client.scheduler_info().get("workers", {})))
    plan = plan_run(request, workers)
    on_plan(len(plan.tasks), len(plan.tasks) - len(plan.pending))
    futures = {
        client.submit(run_partition, task, pure=False): task.partition.number
        for task in plan.pending
    }
    report = RunReport(len(plan.tasks), len(plan.tasks) - len(plan.pending), [], {})
    for future in as_completed(futures):
        try:
            done: PartitionDone = future.result()
        except Exception as error:
            report.failed[futures[future]] = f"{type(error).__name__}: {error}"
            on_partition(None)
            continue
        report.done.append(done)
        on_partition(done)
    if request.from_database and plan.run_id is not None:
        _finish_database_run(request, plan.run_id, failed=bool(report.failed))
    return report
