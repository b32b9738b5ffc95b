"""Importing a file into the registry: in batches of records, one transaction per batch, each
record in a savepoint of its own (a bad record is rejected, the rest of its batch commits).

A file is an import job, known by its size and SHA-256. The job's `committed_line` moves with
every batch, in the batch's transaction, so running the same import again continues after the
last committed batch, and running it on a finished file does nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from immunis.access.policy import Actor
from immunis.access.service import audit
from immunis.db import transaction, utcnow
from immunis.errors import DomainError, Forbidden
from immunis.importer.fhir_ndjson import FhirNdjson
from immunis.importer.hl7_batch import Hl7Batch
from immunis.importer.models import ImportJob
from immunis.importer.records import Record, RecordHandler, Refused, read_lines

FORMATS: dict[str, Callable[[], RecordHandler]] = {"fhir-ndjson": FhirNdjson, "hl7": Hl7Batch}


@dataclass
class ImportResult:
    """What one run did to one file (counts are this run's, not the job's)."""

    job_id: str
    format: str
    resumed_after_line: int = 0  # 0 when the file was started from the top
    already_imported: bool = False
    created: int = 0
    unchanged: int = 0
    rejected: int = 0


def detect_format(path: Path) -> str:
    """`fhir-ndjson` or `hl7`, from the file's first bytes; ValueError when it is neither."""
    with path.open("rb") as stream:
        head = stream.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"{"):
        return "fhir-ndjson"
    if head[:3] in (b"FHS", b"BHS", b"MSH"):
        return "hl7"
    raise ValueError(f"{path} is neither FHIR NDJSON nor HL7 v2 (name one with --format)")


def fingerprint(path: Path) -> tuple[int, str]:
    """The file's size in bytes and its SHA-256, read in one pass."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def import_file(
    sessions: sessionmaker[Session],
    actor: Actor,
    path: Path,
    file_format: str,
    *,
    rejects: Path,
    batch_size: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import `path` as `actor`, continuing its job if an earlier run was interrupted. Rejected
    records are appended to `rejects` (JSON lines: file, line, reason, record) once their batch
    has committed; `on_batch` is told the byte offset reached after each commit."""
    size, sha256 = fingerprint(path)
    job_id, finished, resume_after = _start(sessions, actor, path, file_format, size, sha256)
    result = ImportResult(job_id, file_format, resume_after, already_imported=finished)
    if finished:
        return result
    run = _Run(sessions, actor, FORMATS[file_format](), job_id, path, rejects, result)
    batch: list[Record] = []
    for record in run.handler.records(read_lines(path)):
        if record.last_line <= resume_after:
            run.handler.replay(record)
            continue
        batch.append(record)
        if len(batch) == batch_size:
            run.commit(batch, last=False)
            if on_batch:
                on_batch(batch[-1].end_offset)
            batch = []
    run.commit(batch, last=True)
    if on_batch:
        on_batch(size)
    return result


def _start(
    sessions: sessionmaker[Session],
    actor: Actor,
    path: Path,
    file_format: str,
    size: int,
    sha256: str,
) -> tuple[str, bool, int]:
    """The file's job (made on first sight): its id, whether it finished, its committed line."""
    with transaction(sessions) as session:
        job = session.scalars(
            select(ImportJob).where(
                ImportJob.sha256 == sha256, ImportJob.size == size, ImportJob.format == file_format
            )
        ).one_or_none()
        if job is None:
            job = ImportJob(
                path=str(path.resolve()),
                size=size,
                sha256=sha256,
                format=file_format,
                started_by=actor.user_id,
            )
            session.add(job)
            session.flush()
            audit(
                session,
                actor,
                "import",
                "import_job",
                job.id,
                detail={"path": job.path, "sha256": sha256, "format": file_format},
            )
        return job.id, job.status == "finished", job.committed_line


@dataclass
class _Run:
    """One run of an import job: what each batch's transaction needs."""

    sessions: sessionmaker[Session]
    actor: Actor
    handler: RecordHandler
    job_id: str
    path: Path
    rejects: Path
    result: ImportResult

    def commit(self, batch: list[Record], *, last: bool) -> None:
        """Import one batch in one transaction and move the job past it; `last` finishes it."""
        created = unchanged = 0
        refused: list[tuple[Record, str]] = []
        with transaction(self.sessions) as session:
            job = session.get_one(ImportJob, self.job_id)
            # Written first: on SQLite this opens the transaction the savepoints below nest in.
            job.updated_at = utcnow()
            session.flush()
            for record in batch:
                try:
                    with session.begin_nested():
                        outcome = self.handler.handle(session, self.actor, record)
                except (DomainError, ValueError, IntegrityError, DataError) as error:
                    refused.append((record, _reason(error)))
                    if isinstance(error, Forbidden):
                        _audit_refusal(session, self.actor, error)
                    continue
                if isinstance(outcome, Refused):
                    refused.append((record, outcome.reason))
                    continue
                created += outcome
                unchanged += not outcome
            if batch:
                job.committed_line = batch[-1].last_line
            job.created += created
            job.unchanged += unchanged
            job.rejected += len(refused)
            if last:
                job.status = "finished"
                job.finished_at = utcnow()
        # After the commit: a batch that rolled back is imported again whole, its rejects too.
        _append_rejects(self.rejects, self.path, refused)
        self.result.created += created
        self.result.unchanged += unchanged
        self.result.rejected += len(refused)


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'record'}: {problem['msg']}"
            for problem in error.errors()
        )
    if isinstance(error, IntegrityError | DataError):
        return str(error.orig).splitlines()[0]
    return str(error)


def _audit_refusal(session: Session, actor: Actor, error: Forbidden) -> None:
    audit(
        session,
        actor,
        error.action,
        error.entity_type,
        error.entity_id,
        person_id=error.person_id,
        outcome="denied",
        detail={"reason": str(error)},
    )


def _append_rejects(rejects: Path, path: Path, refused: Iterable[tuple[Record, str]]) -> None:
    lines = [
        json.dumps(
            {"file": str(path), "line": record.first_line, "reason": reason, "record": record.text},
            ensure_ascii=False,
        )
        + "\n"
        for record, reason in refused
    ]
    if lines:
        # A record that is not UTF-8 is kept as escapes rather than lost.
        with rejects.open("a", encoding="utf-8", errors="backslashreplace") as stream:
            stream.writelines(lines)
