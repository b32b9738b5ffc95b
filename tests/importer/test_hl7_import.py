"""HL7 v2 batch files into the registry on both databases, through the HL7 v2 face: each VXU
recorded, logged and acknowledged as if it had come over the wire."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from immunis.access.models import AuditEvent
from immunis.importer.service import ImportResult, import_file
from immunis.interop.hl7v2.models import Hl7MessageLog
from immunis.registry.models import Immunization, Person
from tests.importer.files import actor, count, rejected_lines
from tests.world import World


def vxu(control_id: str, patient_id: str, given: str, on: str = "20250505") -> list[str]:
    """A VXU^V04 reporting one hepatitis B dose given `on` to a baby born on 2025-03-03."""
    return [
        f"MSH|^~\\&|EMR|VNVC|IMMUNIS|MOH|20250505||VXU^V04^VXU_V04|{control_id}|P|2.5.1",
        f"PID|1||{patient_id}^^^VNVC^MR||TRAN^{given}||20250303|F",
        f"ORC|RE||DOSE-{control_id}",
        f"RXA|0|1|{on}|{on}|08^Hepatitis B^CVX|999",
    ]


def batch_file(path: Path, *messages: list[str], end: str = "\r") -> Path:
    """The messages in an FHS/BHS ... BTS/FTS envelope, segments ended by `end`."""
    segments = ["FHS|^~\\&|EMR|VNVC", "BHS|^~\\&|EMR|VNVC"]
    for message in messages:
        segments += message
    segments += [f"BTS|{len(messages)}", "FTS|1"]
    path.write_bytes(end.join(segments).encode() + end.encode())
    return path


def run(
    world: World, path: Path, rejects: Path, who: str = "vaccinator", **options: Any
) -> ImportResult:
    return import_file(world.sessions, actor(world, who), path, "hl7", rejects=rejects, **options)


def test_each_vxu_in_a_batch_is_recorded_and_one_answered_ae_is_rejected_with_its_errors(
    world: World, tmp_path: Path
) -> None:
    path = batch_file(
        tmp_path / "batch.hl7",
        vxu("MSG-1", "P-1", "AN"),
        vxu("MSG-2", "P-2", "BINH", on="20240101"),
        vxu("MSG-3", "P-3", "CHAU"),
    )
    rejects = tmp_path / "rejects.jsonl"

    result = run(world, path, rejects)

    assert (result.created, result.unchanged, result.rejected) == (2, 0, 1)
    [(line, reason)] = rejected_lines(rejects)
    assert line == 7  # MSG-2's MSH, after FHS, BHS and MSG-1's four segments
    assert reason.startswith("AE: RXA-3 date administered 2024-01-01 is before the date of birth")
    assert (count(world, Person), count(world, Immunization)) == (1 + 2, 2)
    with world.sessions() as session:
        answers = dict(
            session.execute(
                select(Hl7MessageLog.control_id, Hl7MessageLog.acknowledgment_code)
            ).all()
        )
    assert answers == {"MSG-1": "AA", "MSG-2": "AE", "MSG-3": "AA"}


def test_the_same_messages_in_another_file_change_nothing(world: World, tmp_path: Path) -> None:
    messages = (vxu("MSG-1", "P-1", "AN"), vxu("MSG-2", "P-2", "BINH", on="20240101"))
    run(world, batch_file(tmp_path / "a.hl7", *messages), tmp_path / "rejects.jsonl")

    again = run(world, batch_file(tmp_path / "b.hl7", *messages, end="\r\n"), tmp_path / "r2.jsonl")

    assert (again.created, again.unchanged, again.rejected) == (0, 1, 1)
    assert (count(world, Person), count(world, Immunization)) == (1 + 1, 1)


def test_a_refused_message_stays_audited_though_it_is_rejected(
    world: World, tmp_path: Path
) -> None:
    path = batch_file(tmp_path / "batch.hl7", vxu("MSG-1", "P-1", "AN"))

    result = run(world, path, tmp_path / "rejects.jsonl", who="lab")

    assert result.rejected == 1
    assert "not authorized" in rejected_lines(tmp_path / "rejects.jsonl")[0][1]
    with world.sessions() as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
        assert (denied.role, denied.channel) == ("lab", "cli")


def test_an_interrupted_batch_file_continues_after_the_last_committed_message(
    world: World, tmp_path: Path
) -> None:
    path = batch_file(
        tmp_path / "batch.hl7", vxu("MSG-1", "P-1", "AN"), vxu("MSG-2", "P-2", "BINH")
    )

    def interrupt(offset: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(world, path, tmp_path / "rejects.jsonl", batch_size=1, on_batch=interrupt)
    result = run(world, path, tmp_path / "rejects.jsonl", batch_size=1)

    assert (result.resumed_after_line, result.created, result.unchanged) == (6, 1, 0)
    assert (count(world, Person), count(world, Immunization)) == (1 + 2, 2)


def test_segments_outside_any_message_and_other_message_types_are_rejected(
    world: World, tmp_path: Path
) -> None:
    query = "MSH|^~\\&|EMR|VNVC|IMMUNIS|MOH|20250505||QBP^Q11^QBP_Q11|Q-1|P|2.5.1"
    path = tmp_path / "messy.hl7"
    path.write_text("\n".join(["PID|1||P-9^^^VNVC^MR", query, "", *vxu("MSG-1", "P-1", "AN")]))

    result = run(world, path, tmp_path / "rejects.jsonl")

    assert (result.created, result.rejected) == (1, 2)
    assert rejected_lines(tmp_path / "rejects.jsonl") == [
        (1, "the message does not start with an MSH segment"),
        (2, "QBP messages are not imported, only VXU^V04"),
    ]
