"""Importing into the registry on both databases: rejected records, interruptions and re-runs,
files imported again, and the `immunis import` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from immunis.access.models import AuditEvent
from immunis.access.policy import Actor
from immunis.cli import app
from immunis.importer.fhir_ndjson import FhirNdjson
from immunis.importer.models import ImportJob
from immunis.importer.records import Record
from immunis.importer.service import import_file
from immunis.registry.models import Immunization, Person
from tests.importer.files import actor, count, dose, family, ndjson, rejected_lines, run
from tests.world import World


class Interrupted(Exception):
    pass


def test_bad_lines_go_to_the_rejects_file_and_the_rest_of_their_batch_is_imported(
    world: World, tmp_path: Path
) -> None:
    lines = [*family(1), "{not json", *family(2), dose(2, 3, on="2025-01-01"), *family(3)]
    rejects = tmp_path / "rejects.jsonl"

    result = run(world, ndjson(tmp_path / "a.ndjson", lines), rejects, batch_size=4)

    assert (result.created, result.unchanged, result.rejected) == (9, 0, 2)
    [(line_4, not_json), (line_8, before_birth)] = rejected_lines(rejects)
    assert (line_4, line_8) == (4, 8)
    assert not_json.startswith("not JSON")
    assert "before the birth date" in before_birth
    assert (count(world, Person), count(world, Immunization)) == (1 + 3, 6)
    record = json.loads(rejects.read_text(encoding="utf-8").splitlines()[1])["record"]
    assert json.loads(record)["occurrenceDateTime"] == "2025-01-01"


def test_an_import_interrupted_after_a_batch_continues_after_it_when_run_again(
    world: World, tmp_path: Path
) -> None:
    path = ndjson(tmp_path / "a.ndjson", [*family(1), *family(2), *family(3)])
    rejects = tmp_path / "rejects.jsonl"

    def interrupt(offset: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        run(world, path, rejects, batch_size=4, on_batch=interrupt)
    # The first batch (lines 1-4: two patients, two doses) is in, and the job says so.
    assert (count(world, Person), count(world, Immunization)) == (1 + 2, 2)
    with world.sessions() as session:
        job = session.scalars(select(ImportJob)).one()
        assert (job.status, job.committed_line) == ("running", 4)

    result = run(world, path, rejects, batch_size=4)

    # Lines 5 and 6 refer to Patient/p2 of line 4, committed by the first run.
    assert result.resumed_after_line == 4
    assert (result.created, result.unchanged, result.rejected) == (5, 0, 0)
    assert (count(world, Person), count(world, Immunization)) == (1 + 3, 6)
    with world.sessions() as session:
        job = session.scalars(select(ImportJob)).one()
        assert (job.status, job.committed_line, job.created) == ("finished", 9, 9)


def test_a_crash_inside_a_batch_undoes_that_batch_only(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ndjson(tmp_path / "a.ndjson", [*family(1), *family(2), *family(3)])
    handle = FhirNdjson.handle

    def crash_on_line_7(self: FhirNdjson, session: Any, actor: Actor, record: Record) -> bool:
        if record.first_line == 7:
            raise RuntimeError("the database went away")
        return handle(self, session, actor, record)

    monkeypatch.setattr(FhirNdjson, "handle", crash_on_line_7)
    with pytest.raises(RuntimeError):
        run(world, path, tmp_path / "rejects.jsonl", batch_size=4)
    # Lines 5 and 6 were imported in the second batch's savepoints, then rolled back with it.
    assert (count(world, Person), count(world, Immunization)) == (1 + 2, 2)

    monkeypatch.setattr(FhirNdjson, "handle", handle)
    result = run(world, path, tmp_path / "rejects.jsonl", batch_size=4)

    assert (result.resumed_after_line, result.created) == (4, 5)
    assert (count(world, Person), count(world, Immunization)) == (1 + 3, 6)


def test_importing_a_finished_file_again_changes_nothing(world: World, tmp_path: Path) -> None:
    path = ndjson(tmp_path / "a.ndjson", [*family(1), *family(2)])
    run(world, path, tmp_path / "rejects.jsonl")
    audit_events = count(world, AuditEvent)

    again = run(world, path, tmp_path / "rejects.jsonl")

    assert again.already_imported
    assert (again.created, again.unchanged, again.rejected) == (0, 0, 0)
    assert (count(world, Person), count(world, Immunization)) == (1 + 2, 4)
    assert count(world, AuditEvent) == audit_events


def test_records_already_imported_from_another_file_are_found_not_made_again(
    world: World, tmp_path: Path
) -> None:
    run(world, ndjson(tmp_path / "a.ndjson", [*family(1), *family(2)]), tmp_path / "r.jsonl")

    result = run(
        world,
        ndjson(tmp_path / "b.ndjson", [*family(2), dose(2, 3), *family(1)]),
        tmp_path / "r.jsonl",
    )

    assert (result.created, result.unchanged, result.rejected) == (1, 6, 0)
    assert (count(world, Person), count(world, Immunization)) == (1 + 2, 5)


def test_a_dose_for_someone_outside_the_importers_reach_is_refused_and_audited(
    world: World, tmp_path: Path
) -> None:
    # The mother lives in Hà Nội; the importing account is a vaccinator in Hồ Chí Minh City.
    mother = {"system": "http://immunis.org/fhir/sid/vn-cccd", "value": "001195000123"}
    path = ndjson(tmp_path / "a.ndjson", [dose(9, 1, on="2025-06-01", identifier=mother)])
    rejects = tmp_path / "rejects.jsonl"

    result = import_file(
        world.sessions, actor(world, "vaccinator_hcm"), path, "fhir-ndjson", rejects=rejects
    )

    assert result.rejected == 1
    assert "may not record_dose" in rejected_lines(rejects)[0][1]
    with world.sessions() as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
        assert (denied.person_id, denied.channel) == (world.people["mother"], "cli")


def test_the_import_command_reports_rejects_then_skips_the_finished_file(
    world: World, database_url: str, tmp_path: Path
) -> None:
    path = ndjson(tmp_path / "a.ndjson", [*family(1), "[]"])
    rejects = tmp_path / "rejects.jsonl"
    command = ["import", str(path), "--as", "vaccinator", "--rejects", str(rejects)]
    runner = CliRunner()

    first = runner.invoke(app, [*command, "--url", database_url])
    again = runner.invoke(app, [*command, "--url", database_url])

    assert first.exit_code == 1, first.output
    assert "1 rejected record(s) appended to" in " ".join(first.stderr.split())
    assert again.exit_code == 0, again.output
    assert "imported before" in again.stdout
    assert [line for line, _ in rejected_lines(rejects)] == [4]


def test_ctrl_c_during_an_import_says_how_to_continue_and_the_same_command_does(
    world: World, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ndjson(tmp_path / "a.ndjson", family(1))
    command = [
        "import",
        str(path),
        "--as",
        "vaccinator",
        "--batch-size",
        "1",
        "--url",
        database_url,
    ]
    handle = FhirNdjson.handle

    def ctrl_c_on_line_2(self: FhirNdjson, session: Any, actor: Actor, record: Record) -> bool:
        if record.first_line == 2:
            raise KeyboardInterrupt
        return handle(self, session, actor, record)

    monkeypatch.setattr(FhirNdjson, "handle", ctrl_c_on_line_2)
    interrupted = CliRunner().invoke(app, command)
    monkeypatch.setattr(FhirNdjson, "handle", handle)
    resumed = CliRunner().invoke(app, command)

    assert interrupted.exit_code == 130
    assert "run the same command again" in " ".join(interrupted.stderr.split())
    assert resumed.exit_code == 0, resumed.output
    assert "2 created, 0 unchanged, 0 rejected (resumed after line 1)" in resumed.stdout
    assert count(world, Immunization) == 2
