"""Malformed HL7 on both databases: each kind gets AR or AE with an ERR that says where and
why, and nothing of the message is written."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from immunis.interop.hl7v2.models import Hl7MessageLog
from immunis.registry.models import Immunization, Person
from tests.interop.hl7v2.messages import (
    BIRTH,
    TODAY,
    Answer,
    Dose,
    fields,
    hep_b_at_birth,
    msh,
    pid,
    qbp,
    vxu,
    wire,
)
from tests.world import World, build_world


def replaced(segments: list[str], index: int, segment: str) -> list[str]:
    return [*segments[:index], segment, *segments[index + 1 :]]


def without(segments: list[str], segment_id: str) -> list[str]:
    return [s for s in segments if not s.startswith(segment_id)]


def one_dose(**changes: object) -> list[str]:
    return vxu(doses=[hep_b_at_birth(**changes)])


def truncated() -> bytes:
    whole = wire(vxu())
    return whole[: whole.index(b"^^^^^L|")]  # cut inside the PID, after the name


# name -> (the message, MSA-1, ERR-2 of the first ERR, ERR-3 code of the first ERR)
CASES: dict[str, tuple[Callable[[], bytes], str, str, str]] = {
    "no MSH": (lambda: wire(vxu()[1:]), "AR", "MSH^1", "100"),
    "bad field separator": (
        lambda: wire(replaced(vxu(), 0, msh("X1").replace("|", "#"))),
        "AR",
        "MSH^1^1",
        "102",
    ),
    "bad encoding characters": (
        lambda: wire(replaced(vxu(), 0, msh("X1").replace("^~\\&", "^~&\\"))),
        "AR",
        "MSH^1^2",
        "102",
    ),
    "wrong version 2.3": (
        lambda: wire(replaced(vxu(), 0, msh("X1", version="2.3"))),
        "AR",
        "MSH^1^12",
        "203",
    ),
    "unsupported type ADT^A01": (
        lambda: wire(replaced(vxu(), 0, msh("X1", kind="ADT^A01^ADT_A01"))),
        "AR",
        "MSH^1^9",
        "200",
    ),
    "unsupported event VXU^V03": (
        lambda: wire(replaced(vxu(), 0, msh("X1", kind="VXU^V03^VXU_V03"))),
        "AR",
        "MSH^1^9",
        "201",
    ),
    "missing MSH-10": (lambda: wire(replaced(vxu(), 0, msh(""))), "AR", "MSH^1^10", "101"),
    "unsupported processing id": (
        lambda: wire(replaced(vxu(), 0, msh("X1").replace("|X1|P|", "|X1|Q|"))),
        "AR",
        "MSH^1^11",
        "202",
    ),
    "unsupported character set": (
        lambda: wire(replaced(vxu(), 0, msh("X1", charset="UNICODE UTF-16"))),
        "AR",
        "MSH^1^18",
        "103",
    ),
    "missing PID": (lambda: wire(without(vxu(), "PID")), "AR", "PID^1", "100"),
    "a line that is no segment": (
        lambda: wire([*vxu(), "this is not HL7"]),
        "AR",
        "",
        "100",
    ),
    "non-UTF-8 bytes": (
        lambda: wire(vxu()).replace("Trần".encode(), b"Tr\xe1\xba"),
        "AR",
        "PID^1^5",
        "102",
    ),
    "non-ASCII without MSH-18": (
        lambda: wire(replaced(vxu(), 0, msh("X1", charset=""))),
        "AR",
        "PID^1^5",
        "102",
    ),
    "truncated message": (truncated, "AE", "PID^1^7", "101"),
    "PID-7 bad date": (
        lambda: wire(replaced(vxu(), 1, pid(birth="20251345"))),
        "AE",
        "PID^1^7",
        "102",
    ),
    "PID-7 in the future": (
        lambda: wire(replaced(vxu(), 1, pid(birth=(TODAY + timedelta(days=3)).strftime("%Y%m%d")))),
        "AE",
        "PID^1^7",
        "102",
    ),
    "PID-5 without a given name": (
        lambda: wire(replaced(vxu(), 1, pid(name="Trần^^^^^^L"))),
        "AE",
        "PID^1^5",
        "101",
    ),
    "national ID of 10 digits": (
        lambda: wire(replaced(vxu(), 1, pid(national_id="0012250043"))),
        "AE",
        "PID^1^3^1",
        "102",
    ),
    "RXA-3 bad date": (
        lambda: wire(one_dose(extra={3: "2025-06-01"})),
        "AE",
        "RXA^1^3",
        "102",
    ),
    "RXA-3 in the future": (
        lambda: wire(one_dose(given=TODAY + timedelta(days=1))),
        "AE",
        "RXA^1^3",
        "102",
    ),
    "dose before birth": (
        lambda: wire(one_dose(given=BIRTH - timedelta(days=2))),
        "AE",
        "RXA^1^3",
        "102",
    ),
    "RXA-5 unknown CVX": (
        lambda: wire(one_dose(cvx="12345")),
        "AE",
        "RXA^1^5^1^1",
        "103",
    ),
    "RXA-5 not CVX coded": (
        lambda: wire(one_dose(cvx="58160-0820-52", coding="NDC")),
        "AE",
        "RXA^1^5^1^3",
        "103",
    ),
    "RXA-6 negative amount": (
        lambda: wire(one_dose(amount="-0.5")),
        "AE",
        "RXA^1^6",
        "102",
    ),
    "RXA-20 unknown completion status": (
        lambda: wire(one_dose(status="XX")),
        "AE",
        "RXA^1^20",
        "103",
    ),
    "RXA without its ORC": (
        lambda: wire(without(one_dose(), "ORC")),
        "AE",
        "RXA^1",
        "100",
    ),
    "no RXA at all": (
        lambda: wire(vxu(doses=[])),
        "AE",
        "RXA^1",
        "100",
    ),
    "the same ORC-3 for two doses": (
        lambda: wire(vxu(doses=[hep_b_at_birth(), hep_b_at_birth(given=TODAY)])),
        "AE",
        "ORC^2^3",
        "205",
    ),
    "QBP with unknown profile": (lambda: wire(qbp(profile="Z99")), "AR", "QPD^1^1", "103"),
    "QBP without QPD": (lambda: wire(without(qbp(), "QPD")), "AR", "QPD^1", "100"),
    "QBP with a bad date of birth": (
        lambda: wire(qbp(identifiers="", birth="2025")),
        "AE",
        "QPD^1^6",
        "102",
    ),
    "QBP with nothing to search by": (
        lambda: wire(qbp(identifiers="", name="", birth="")),
        "AE",
        "QPD^1^3",
        "101",
    ),
}


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", CASES)
def test_malformed_messages_are_refused_with_a_reason_and_change_nothing(
    world: World, kind: str
) -> None:
    build, code, location, error_code = CASES[kind]
    response = world.client.post("/hl7/v2", content=build(), headers=world.headers("integration"))
    assert response.status_code == 200
    answer = Answer.of(response.content)
    assert answer.code == code
    where, hl7_code, severity, text = answer.errors()[0]
    assert (where, hl7_code, severity) == (location, error_code, "E"), text
    assert text
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Immunization)) == 0
        assert session.scalar(select(func.count()).select_from(Person)) == 1  # the mother
        if code == "AR":
            assert session.scalar(select(func.count()).select_from(Hl7MessageLog)) == 0


def test_every_problem_in_a_message_is_reported_at_once(world: World) -> None:
    two_bad_doses = [
        hep_b_at_birth(cvx="12345"),
        Dose(given=TODAY, cvx="146", text="hexavalent", order="DOSE-2", amount="-1"),
    ]
    segments = replaced(vxu(doses=two_bad_doses), 1, pid(birth="2025"))
    response = world.client.post(
        "/hl7/v2", content=wire(segments), headers=world.headers("integration")
    )
    answer = Answer.of(response.content)
    assert answer.code == "AE"
    assert [e[0] for e in answer.errors()] == ["PID^1^7", "RXA^1^5^1^1", "RXA^2^6"]


def test_a_query_answer_to_a_malformed_query_is_an_rsp_with_the_query_echoed(
    world: World,
) -> None:
    query = qbp(identifiers="", name="", birth="")
    response = world.client.post(
        "/hl7/v2", content=wire(query), headers=world.headers("integration")
    )
    answer = Answer.of(response.content)
    assert answer.message.msh.text(9) == "RSP"
    assert (answer.code, answer.query_status, answer.profile) == ("AE", "AE", "Z33")
    [qpd] = answer.segments("QPD")
    assert "|".join(qpd.fields) == query[1]


def test_fields_keep_their_places_in_the_built_messages() -> None:
    segment = fields("RXA", {1: "0", 5: "08^HepB^CVX"})
    assert segment.split("|")[5] == "08^HepB^CVX"
