"""QBP^Q11 on both databases: another clinic asks for a baby's history (Z34) and for the
evaluated history and forecast (Z44)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from immunis.access.models import AuditEvent
from immunis.access.service import authenticate
from immunis.forecast import Gender, Patient, forecast
from immunis.forecast.records import AdministeredDose
from immunis.interop.hl7v2.datatypes import hl7_date
from immunis.interop.hl7v2.service import handle_message
from immunis.registry.models import Immunization
from immunis.schedule.catalog import load_schedule
from tests.interop.hl7v2.messages import (
    BIRTH,
    NATIONAL_ID,
    TODAY,
    Answer,
    day,
    hexavalent_at_two_months,
    pid,
    qbp,
    vxu,
    wire,
)
from tests.world import World, build_world


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    assert ask(built, wire(vxu("VNVC-0001")), "integration").code == "AA"
    yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def ask(world: World, data: bytes, who: str = "vaccinator") -> Answer:
    response = world.client.post("/hl7/v2", content=data, headers=world.headers(who))
    assert response.status_code == 200, response.text
    return Answer.of(response.content)


def test_a_history_query_by_national_id_returns_the_person_and_every_dose(world: World) -> None:
    query = qbp(profile="Z34")
    answer = ask(world, wire(query))
    assert (answer.code, answer.query_status, answer.profile) == ("AA", "OK", "Z32")
    assert answer.message.msh.text(9) == "RSP"
    [qak] = answer.segments("QAK")
    assert qak.text(1) == "TAG-VNVC-Q-0001"
    [qpd] = answer.segments("QPD")
    assert "|".join(qpd.fields) == query[1]
    [person] = answer.segments("PID")
    assert (person.value(5)[1], person.value(5)[2]) == ("Trần", "Minh Khôi")
    assert person.text(7) == day(BIRTH)
    assert f"{NATIONAL_ID}^^^VNM^NNVNM" in person.raw(3)
    doses = answer.segments("RXA")
    assert [(d.text(3), d.text(5), d.value(9)[1]) for d in doses] == [
        (day(BIRTH), "08", "00"),
        (day(hexavalent_at_two_months().given), "146", "01"),
    ]
    assert (doses[0].text(15), doses[0].text(17), doses[0].text(6)) == ("HB2501", "SKB", "0.5")
    assert len(answer.segments("ORC")) == 2


def test_the_registry_id_in_an_answer_finds_the_person_again(world: World) -> None:
    [person] = ask(world, wire(qbp(profile="Z34"))).segments("PID")
    registry_id = person.raw(3).split("~")[0]
    assert registry_id.endswith("^^^IMMUNIS^SR")
    again = ask(world, wire(qbp("Q-2", profile="Z34", identifiers=registry_id)))
    assert again.profile == "Z32"
    assert again.segments("PID")[0].raw(3) == person.raw(3)


def test_no_match_is_answered_not_found(world: World) -> None:
    answer = ask(world, wire(qbp(identifiers="079999999999^^^VNM^NNVNM", name="", birth="")))
    assert (answer.code, answer.query_status, answer.profile) == ("AA", "NF", "Z33")
    assert not answer.segments("PID")


def test_a_query_by_name_and_birth_date_finds_the_person(world: World) -> None:
    answer = ask(world, wire(qbp(identifiers="", name="Tran^Minh Khoi")), "integration")
    assert (answer.query_status, answer.profile) == ("OK", "Z32")


def test_several_candidates_are_listed_for_a_history_query_and_too_many_for_a_forecast(
    world: World,
) -> None:
    twin = vxu("VNVC-0002", patient=pid(national_id="", record_number="HVT-000124"))
    twin[3:] = [s.replace("DOSE-", "TWIN-") for s in twin[3:]]
    assert ask(world, wire(twin), "integration").code == "AA"
    by_name = {"identifiers": "", "name": "Trần^Minh Khôi"}
    listed = ask(world, wire(qbp("Q-1", **by_name)), "integration")
    assert (listed.code, listed.query_status, listed.profile) == ("AA", "OK", "Z31")
    assert [p.text(1) for p in listed.segments("PID")] == ["1", "2"]
    assert not listed.segments("RXA")
    too_many = ask(world, wire(qbp("Q-2", profile="Z44", **by_name)), "integration")
    assert (too_many.query_status, too_many.profile) == ("TM", "Z33")
    over_the_limit = ask(world, wire(qbp("Q-3", limit="1", **by_name)), "integration")
    assert (over_the_limit.query_status, over_the_limit.profile) == ("TM", "Z33")


def test_a_forecast_query_returns_evaluations_and_the_engine_s_dates(world: World) -> None:
    answer = ask(world, wire(qbp(profile="Z44")))
    assert (answer.code, answer.query_status, answer.profile) == ("AA", "OK", "Z42")
    first_dose = answer.observations(after_rxa=1)
    assert first_dose[("1", "59781-5")] == "Y"  # the birth dose of hepatitis B is valid
    assert first_dose[("1", "30956-7")].startswith("45^")  # hepatitis B, unspecified
    assert first_dose[("1", "59779-9")] == "VXC16^ACIP^CDCPHINVS"
    [*_, forecast_rxa] = answer.segments("RXA")
    assert (forecast_rxa.text(5), forecast_rxa.text(20)) == ("998", "NA")


def test_the_forecast_dates_are_the_engine_s(world: World) -> None:
    """Z44 under the Vietnam schedule: every date in the answer is the one the engine gives."""
    with world.sessions() as session:
        actor = authenticate(session, world.tokens["vaccinator"], "hl7")
        doses = tuple(
            AdministeredDose(d.date_administered, d.cvx, d.mvx, d.dose_volume_ml, id=d.id)
            for d in session.scalars(select(Immunization))
        )
    reply = handle_message(
        wire(qbp(profile="Z44")), actor, world.sessions, schedule_id="vn", today=TODAY
    )
    answer = Answer.of(reply.encode())
    assert answer.profile == "Z42"
    expected = forecast(Patient(BIRTH, Gender.MALE), doses, TODAY, load_schedule("vn"))
    forecast_at = len(answer.segments("RXA"))
    observations = answer.observations(after_rxa=forecast_at)
    groups = {
        sub_id: value.split("^")[0]
        for (sub_id, code), value in observations.items()
        if code == "30956-7"
    }
    assert len(groups) >= 5
    checked = 0
    relevant = [
        g
        for g in expected.vaccine_groups.values()
        if g.doses or g.status.value != "Not recommended"
    ]
    assert len(relevant) == len(groups)
    for sub_id, group in zip(sorted(groups, key=int), relevant, strict=True):
        following = group.next_dose
        if following is None:
            assert (sub_id, "30980-7") not in observations
            continue
        assert observations[(sub_id, "30981-5")] == hl7_date(following.earliest)
        assert observations[(sub_id, "30980-7")] == hl7_date(following.recommended)
        assert observations.get((sub_id, "59778-1"), "") == hl7_date(following.past_due)
        assert observations.get((sub_id, "59777-3"), "") == hl7_date(following.latest)
        assert observations[(sub_id, "30973-2")] == str(following.dose_number)
        checked += 1
    assert checked >= 3
    assert observations[("1", "59779-9")].startswith("vn^")


def test_a_user_who_may_not_search_is_refused_and_the_refusal_audited(world: World) -> None:
    answer = ask(world, wire(qbp()), "lab")
    assert (answer.code, answer.query_status, answer.profile) == ("AE", "AE", "Z33")
    assert "not authorized" in answer.errors()[0][3]
    with world.sessions() as session:
        refusal = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
    assert (refusal.channel, refusal.action) == ("hl7", "search")


def test_reading_a_history_is_in_the_audit_log(world: World) -> None:
    ask(world, wire(qbp(profile="Z34")))
    with world.sessions() as session:
        reads = session.scalars(
            select(AuditEvent).where(AuditEvent.channel == "hl7", AuditEvent.action == "read")
        ).all()
    assert [r.entity_type for r in reads] == ["immunization"]
