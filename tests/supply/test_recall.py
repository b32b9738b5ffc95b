"""A lot recall: who received it, their doses flagged, the forecast asking again, one message
per person however often the recall runs, and who may see the list."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from immunis.access.models import AuditEvent
from immunis.errors import Conflict, Forbidden
from immunis.forecast import EvaluationStatus
from immunis.outreach.models import OutboxMessage
from immunis.registry import service as registry
from immunis.registry.models import Immunization
from immunis.registry.schemas import GuardianLink
from immunis.supply import service
from immunis.supply.release import RecallAction, ReleaseStatus
from tests.supply.conftest import TODAY, SupplyWorld


@pytest.fixture
def scene(supply: SupplyWorld) -> dict[str, str]:
    """Two babies given the faulty lot (one of them twice), a third given another lot."""
    faulty = supply.lot("HBV-BAD")
    good = supply.lot("HBV-GOOD")
    supply.receive("station", faulty.id, 20, TODAY - timedelta(days=70))
    supply.receive("station", good.id, 20, TODAY - timedelta(days=70))
    mother = supply.person("Thị Mai", born=date(1996, 5, 1), phone="0987654321")
    an = supply.person("An", guardians=[GuardianLink(guardian_id=mother)])
    binh = supply.person("Bình", phone="0912345678")
    chau = supply.person("Châu")
    supply.give(an, "HBV-BAD", on=TODAY - timedelta(days=60))
    supply.give(an, "HBV-BAD", on=TODAY - timedelta(days=30))
    supply.give(binh, "HBV-BAD", on=TODAY - timedelta(days=60))
    supply.give(chau, "HBV-GOOD", on=TODAY - timedelta(days=60))
    return {"lot": faulty.id, "an": an, "binh": binh, "chau": chau}


def _recall(supply: SupplyWorld, lot_id: str, action: str = "revaccinate") -> int:
    response = supply.world.client.post(
        f"/api/lots/{lot_id}/status",
        json={
            "to": "recalled",
            "reason": "sub-potent: failed stability test",
            "recall_action": action,
        },
        headers=supply.world.headers("lab"),
    )
    return response.status_code


def test_the_recall_list_names_everyone_given_the_lot_with_how_to_reach_them(
    supply: SupplyWorld, scene: dict[str, str]
) -> None:
    response = supply.world.client.get(
        f"/api/lots/{scene['lot']}/recall-list", headers=supply.world.headers("lab")
    )
    assert response.status_code == 200
    rows = [
        (r["person"]["id"], r["dose"]["date_administered"], r["contact_phones"])
        for r in response.json()
    ]
    assert sorted(rows) == sorted(
        [
            (scene["an"], (TODAY - timedelta(days=60)).isoformat(), ["0987654321"]),
            (scene["an"], (TODAY - timedelta(days=30)).isoformat(), ["0987654321"]),
            (scene["binh"], (TODAY - timedelta(days=60)).isoformat(), ["0912345678"]),
        ]
    )


def test_every_person_on_the_recall_list_is_in_the_audit_log(
    supply: SupplyWorld, scene: dict[str, str]
) -> None:
    supply.world.client.get(
        f"/api/lots/{scene['lot']}/recall-list", headers=supply.world.headers("lab")
    )
    with supply.world.sessions() as session:
        seen = session.scalars(
            select(AuditEvent.person_id).where(
                AuditEvent.action == "recall_list", AuditEvent.role == "lab"
            )
        ).all()
    assert set(seen) == {scene["an"], scene["binh"]}


def test_only_the_lab_and_national_officers_see_who_received_a_lot(
    supply: SupplyWorld, scene: dict[str, str]
) -> None:
    url = f"/api/lots/{scene['lot']}/recall-list"
    for who, status in (
        ("national_officer", 200),
        ("vaccinator", 403),
        ("province_officer", 403),
        ("admin", 403),
        ("citizen", 403),
    ):
        assert supply.world.client.get(url, headers=supply.world.headers(who)).status_code == status


def test_a_recall_flags_the_doses_given_from_the_lot_and_no_others(
    supply: SupplyWorld, scene: dict[str, str]
) -> None:
    assert _recall(supply, scene["lot"]) == 200
    with supply.world.sessions() as session:
        flags = session.execute(select(Immunization.person_id, Immunization.recall_action)).all()
    assert sorted(flags) == sorted(
        [
            (scene["an"], "revaccinate"),
            (scene["an"], "revaccinate"),
            (scene["binh"], "revaccinate"),
            (scene["chau"], None),
        ]
    )


def test_a_recalled_dose_no_longer_counts_in_the_forecast(
    supply: SupplyWorld, scene: dict[str, str]
) -> None:
    vaccinator = supply.actor("vaccinator")

    def hep_b_doses(person: str) -> list[tuple[EvaluationStatus, tuple[str, ...]]]:
        _, answer = supply.run(registry.person_forecast, vaccinator, person, TODAY, "vn")
        return [(d.status, d.reasons) for d in answer.vaccine_groups["HepB"].doses]

    assert hep_b_doses(scene["binh"])[0][0] is EvaluationStatus.VALID
    _recall(supply, scene["lot"])
    assert hep_b_doses(scene["binh"]) == [
        (EvaluationStatus.NOT_VALID, ("Dose condition: Recalled",))
    ]
    assert hep_b_doses(scene["chau"])[0][0] is EvaluationStatus.VALID


def test_a_recall_without_revaccination_leaves_the_doses_counting_and_nobody_told(
    supply: SupplyWorld, scene: dict[str, str]
) -> None:
    _recall(supply, scene["lot"], action="none")
    _, answer = supply.run(
        registry.person_forecast, supply.actor("vaccinator"), scene["binh"], TODAY, "vn"
    )
    assert answer.vaccine_groups["HepB"].doses[0].status is EvaluationStatus.VALID
    with supply.world.sessions() as session:
        assert session.scalars(select(OutboxMessage)).all() == []


def test_each_person_is_told_once_however_often_the_recall_runs(
    supply: SupplyWorld, scene: dict[str, str]
) -> None:
    _recall(supply, scene["lot"])
    again = supply.world.client.post(
        f"/api/lots/{scene['lot']}/recall", headers=supply.world.headers("national_officer")
    )
    assert again.json() == {
        "lot_id": scene["lot"],
        "doses_flagged": 3,
        "people": 2,
        "messages_queued": 0,
    }
    with supply.world.sessions() as session:
        messages = session.scalars(select(OutboxMessage)).all()
    assert sorted((m.person_id, m.template, m.status) for m in messages) == sorted(
        [
            (scene["an"], "lot-recall-revaccinate", "queued"),
            (scene["binh"], "lot-recall-revaccinate", "queued"),
        ]
    )
    told_an = next(m for m in messages if m.person_id == scene["an"])
    assert told_an.payload["lot_number"] == "HBV-BAD"
    assert len(told_an.payload["doses_given_on"]) == 2


def test_a_recall_is_final_and_runs_only_for_a_recalled_lot(
    supply: SupplyWorld, scene: dict[str, str]
) -> None:
    lab = supply.actor("lab")
    with pytest.raises(Conflict, match="is released, not recalled"):
        supply.run(service.carry_out_recall, lab, scene["lot"])
    _recall(supply, scene["lot"])
    with pytest.raises(Conflict, match="which is final"):
        supply.run(
            service.set_release_status,
            lab,
            scene["lot"],
            ReleaseStatus.QUARANTINED,
            "again",
        )


def test_a_vaccinator_cannot_recall_a_lot(supply: SupplyWorld, scene: dict[str, str]) -> None:
    with pytest.raises(Forbidden):
        supply.run(
            service.set_release_status,
            supply.actor("vaccinator"),
            scene["lot"],
            ReleaseStatus.RECALLED,
            "I think it is bad",
            RecallAction.REVACCINATE,
        )
