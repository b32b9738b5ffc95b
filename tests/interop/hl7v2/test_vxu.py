"""VXU^V04 over HTTP on both databases: a clinic's EMR reports a baby's doses to the registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from immunis.access.models import AuditEvent
from immunis.interop.hl7v2.models import Hl7MessageLog
from immunis.registry.models import Guardianship, Immunization, Person
from tests.interop.hl7v2.messages import (
    MOTHER_NATIONAL_ID,
    NATIONAL_ID,
    TODAY,
    Answer,
    Dose,
    hep_b_at_birth,
    hexavalent_at_two_months,
    msh,
    refused_rotavirus,
    vxu,
    wire,
)
from tests.world import World, build_world


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def send(world: World, data: bytes, who: str = "integration") -> bytes:
    response = world.client.post(
        "/hl7/v2",
        content=data,
        headers={**world.headers(who), "Content-Type": "application/hl7-v2"},
    )
    assert response.status_code == 200, response.text
    return response.content


def count(world: World, table: type) -> int:
    with world.sessions() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def the_baby(world: World) -> Person:
    with world.sessions() as session:
        baby = session.scalars(select(Person).where(Person.national_id == NATIONAL_ID)).one()
        session.expunge(baby)
        return baby


def doses_of(world: World, person_id: str) -> list[Immunization]:
    with world.sessions() as session:
        return list(
            session.scalars(
                select(Immunization)
                .where(Immunization.person_id == person_id)
                .order_by(Immunization.date_administered)
            )
        )


def test_a_vaccination_update_registers_the_baby_and_records_the_doses(world: World) -> None:
    answer = Answer.of(send(world, wire(vxu(doses=[hep_b_at_birth(), hexavalent_at_two_months()]))))
    assert answer.code == "AA", answer.errors()
    assert answer.message.msh.text(9) == "ACK"
    assert answer.profile == "Z23"
    baby = the_baby(world)
    assert (baby.family_name, baby.given_name) == ("Trần", "Minh Khôi")
    assert (baby.sex, baby.phone, baby.commune_code) == ("male", "+84912345678", "00301")
    assert baby.managing_site_id == world.sites["HN-PRIVATE-01"]
    given, historical = doses_of(world, baby.id)
    assert (given.cvx, given.mvx, given.lot_number, given.dose_volume_ml) == (
        "08",
        "SKB",
        "HB2501",
        0.5,
    )
    assert (given.source, given.site_id) == ("administered", world.sites["HN-PRIVATE-01"])
    assert (given.external_system, given.external_value) == ("urn:immunis:hl7v2:VNVC-HVT", "DOSE-1")
    assert (historical.cvx, historical.source, historical.site_id) == ("146", "historical", None)
    assert historical.dose_volume_ml is None
    with world.sessions() as session:
        mother_link = session.scalars(select(Guardianship)).one()
        mother = session.scalars(
            select(Person).where(Person.national_id == MOTHER_NATIONAL_ID)
        ).one()
    assert (mother_link.child_id, mother_link.guardian_id) == (baby.id, mother.id)
    assert mother_link.relation == "mother"


def test_a_refused_dose_is_noted_in_the_answer_and_not_recorded(world: World) -> None:
    answer = Answer.of(send(world, wire(vxu(doses=[hep_b_at_birth(), refused_rotavirus()]))))
    assert answer.code == "AA"
    [(location, code, severity, text)] = answer.errors()
    assert (location, code, severity) == ("RXA^2", "0", "I")
    assert "RE" in text
    assert [d.cvx for d in doses_of(world, the_baby(world).id)] == ["08"]


def test_the_same_message_sent_again_gets_the_same_answer_and_changes_nothing(world: World) -> None:
    first = send(world, wire(vxu("VNVC-0042")))
    rows = (count(world, Person), count(world, Immunization), count(world, AuditEvent))
    # A re-send may carry a new MSH-7 timestamp; it is still the same message.
    resent = vxu("VNVC-0042", header=msh("VNVC-0042", stamp="20250601100000+0700"))
    assert send(world, wire(resent)) == first
    assert send(world, wire(vxu("VNVC-0042"))) == first
    assert (count(world, Person), count(world, Immunization), count(world, AuditEvent)) == rows
    assert count(world, Hl7MessageLog) == 1


def test_a_control_id_reused_for_another_message_is_rejected(world: World) -> None:
    send(world, wire(vxu("VNVC-0007")))
    other = vxu("VNVC-0007", doses=[hep_b_at_birth(order="DOSE-9", given=TODAY)])
    answer = Answer.of(send(world, wire(other)))
    assert answer.code == "AR"
    assert answer.errors()[0][:2] == ("MSH^1^10", "205")
    assert len(doses_of(world, the_baby(world).id)) == 2


def test_one_bad_dose_and_nothing_of_the_message_is_written(world: World) -> None:
    unknown = Dose(given=TODAY, cvx="12345", text="Not a vaccine", order="DOSE-3")
    before = (count(world, Person), count(world, Immunization))
    answer = Answer.of(
        send(world, wire(vxu(doses=[hep_b_at_birth(), hexavalent_at_two_months(), unknown])))
    )
    assert answer.code == "AE"
    assert [e[:3] for e in answer.errors()] == [("RXA^3^5^1^1", "103", "E")]
    assert "12345" in answer.errors()[0][3]
    assert (count(world, Person), count(world, Immunization)) == before


def test_an_error_answer_is_kept_and_sent_again_for_the_same_message(world: World) -> None:
    bad = wire(vxu("VNVC-0500", doses=[Dose(given=TODAY, cvx="12345", text="?", order="X")]))
    first = send(world, bad)
    assert Answer.of(first).code == "AE"
    assert send(world, bad) == first


def test_a_known_person_is_found_by_national_id_and_gains_the_new_doses(world: World) -> None:
    send(world, wire(vxu("VNVC-0001")))
    later = Dose(given=TODAY, cvx="146", text="DTaP,IPV,Hib,HepB", order="DOSE-4")
    from_another_clinic = vxu(
        "VNVC-0002",
        doses=[later],
        patient=(
            f"PID|1||{NATIONAL_ID}^^^VNM^NNVNM~C-77^^^BV-NHI^MR||Trần^Minh Khôi^^^^^L||"
            f"{hep_b_at_birth().given:%Y%m%d}|M"
        ),
    )
    answer = Answer.of(send(world, wire(from_another_clinic)))
    assert answer.code == "AA", answer.errors()
    assert count(world, Person) == 2  # the mother and the baby
    baby = the_baby(world)
    assert len(doses_of(world, baby.id)) == 3
    with world.sessions() as session:
        systems = {i.system for i in session.get(Person, baby.id).identifiers}  # type: ignore[union-attr]
    assert systems == {"urn:immunis:hl7v2:VNVC-HVT:MR", "urn:immunis:hl7v2:BV-NHI:MR"}


def test_a_dose_can_be_corrected_and_then_withdrawn(world: World) -> None:
    send(world, wire(vxu("VNVC-0001", doses=[hep_b_at_birth()])))
    send(world, wire(vxu("VNVC-0002", doses=[hep_b_at_birth(lot="HB2502", action="U")])))
    [dose] = doses_of(world, the_baby(world).id)
    assert (dose.lot_number, dose.status) == ("HB2502", "completed")
    answer = Answer.of(send(world, wire(vxu("VNVC-0003", doses=[hep_b_at_birth(action="D")]))))
    assert answer.code == "AA"
    [dose] = doses_of(world, the_baby(world).id)
    assert dose.status == "entered-in-error"


def test_a_sender_without_the_right_to_record_is_refused_and_the_refusal_audited(
    world: World,
) -> None:
    answer = Answer.of(send(world, wire(vxu()), who="lab"))
    assert answer.code == "AE"
    assert "not authorized" in answer.errors()[0][3]
    assert count(world, Immunization) == 0
    assert count(world, Hl7MessageLog) == 0
    with world.sessions() as session:
        refusal = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
    assert refusal.channel == "hl7"


def test_every_write_is_in_the_audit_log_on_the_hl7_channel(world: World) -> None:
    send(world, wire(vxu()))
    with world.sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "create")).all()
    assert sorted(e.entity_type for e in events) == ["immunization", "immunization", "person"]
    assert {e.channel for e in events} == {"hl7"}


def test_without_a_token_the_answer_is_401(world: World) -> None:
    response = world.client.post("/hl7/v2", content=wire(vxu()))
    assert response.status_code == 401
    assert count(world, Immunization) == 0


def test_the_answer_comes_in_the_message_character_set(world: World) -> None:
    response = world.client.post(
        "/hl7/v2",
        content=wire(vxu()),
        headers={**world.headers("integration"), "Content-Type": "text/plain"},
    )
    assert response.headers["content-type"] == "application/hl7-v2; charset=utf-8"
    assert Answer.of(response.content).message.msh.text(18) == "UNICODE UTF-8"
