"""HL7 v2 batch files split into messages: with the FHS/BHS envelope, with blank lines between
messages, or with nothing but each message's MSH segment."""

from __future__ import annotations

from pathlib import Path

from immunis.importer.hl7_batch import Hl7Batch
from immunis.importer.records import read_lines

MSH_1 = "MSH|^~\\&|EMR|VNVC|IMMUNIS|MOH|20250505||VXU^V04^VXU_V04|MSG-1|P|2.5.1"
MSH_2 = MSH_1.replace("MSG-1", "MSG-2")
PID = "PID|1||P-1^^^VNVC^MR||TRAN^MINH KHOI||20250303|M"
RXA = "RXA|0|1|20250505|20250505|198^DTaP-IPV-Hib-HepB^CVX|0.5|mL"


def messages(tmp_path: Path, content: str) -> list[tuple[int, int, list[str]]]:
    path = tmp_path / "batch.hl7"
    path.write_bytes(content.encode())
    return [
        (record.first_line, record.last_line, record.text.split("\r"))
        for record in Hl7Batch().records(read_lines(path))
    ]


def test_a_batch_envelope_is_dropped_and_each_message_keeps_its_lines(tmp_path: Path) -> None:
    content = "\r".join(
        ["FHS|^~\\&|EMR", "BHS|^~\\&|EMR", MSH_1, PID, RXA, MSH_2, PID, "BTS|2", "FTS|1"]
    )

    assert messages(tmp_path, content + "\r") == [
        (3, 5, [MSH_1, PID, RXA]),
        (6, 7, [MSH_2, PID]),
    ]


def test_messages_split_at_blank_lines_and_at_each_msh(tmp_path: Path) -> None:
    content = f"{MSH_1}\r\n{PID}\r\n\r\n{MSH_2}\n{PID}\n{MSH_1}\n"

    assert [(first, last) for first, last, _ in messages(tmp_path, content)] == [
        (1, 2),
        (4, 5),
        (6, 6),
    ]


def test_segments_before_any_msh_make_a_record_of_their_own(tmp_path: Path) -> None:
    content = f"{PID}\n{RXA}\n{MSH_1}\n{PID}\n"

    assert [segments[0][:3] for _, _, segments in messages(tmp_path, content)] == ["PID", "MSH"]


def test_byte_offsets_reach_the_end_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "batch.hl7"
    path.write_bytes(f"{MSH_1}\r{PID}\rNK1|1|NGUYỄN^THỊ LAN|MTH\r".encode())

    [record] = Hl7Batch().records(read_lines(path))

    assert record.end_offset == path.stat().st_size
