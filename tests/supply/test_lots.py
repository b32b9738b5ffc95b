"""Lots through the API: registration, the laboratory's release decisions and their history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import select, text

from immunis.access.models import AuditEvent
from tests.supply.conftest import TODAY, SupplyWorld

LOT = {
    "cvx": "08",
    "mvx": "skb",
    "product_name": "Engerix-B",
    "lot_number": " ahbvb123 ",
    "expiry_date": (TODAY + timedelta(days=400)).isoformat(),
}


def _register(supply: SupplyWorld, who: str = "lab", **changes: object) -> dict[str, Any]:
    response = supply.world.client.post(
        "/api/lots", json={**LOT, **changes}, headers=supply.world.headers(who)
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _set_status(supply: SupplyWorld, lot_id: str, who: str = "lab", **body: str) -> Response:
    return supply.world.client.post(
        f"/api/lots/{lot_id}/status", json=body, headers=supply.world.headers(who)
    )


def test_a_registered_lot_waits_for_release_with_its_numbers_in_one_spelling(
    supply: SupplyWorld,
) -> None:
    lot = _register(supply)
    assert (lot["release_status"], lot["lot_number"], lot["mvx"], lot["cvx"]) == (
        "pending",
        "AHBVB123",
        "SKB",
        "8",
    )


def test_the_same_lot_cannot_be_registered_twice(supply: SupplyWorld) -> None:
    _register(supply)
    again = supply.world.client.post(
        "/api/lots", json={**LOT, "lot_number": "AHBVB123"}, headers=supply.world.headers("lab")
    )
    assert again.status_code == 409


def test_a_multi_dose_lot_must_say_how_long_an_opened_vial_lasts(supply: SupplyWorld) -> None:
    response = supply.world.client.post(
        "/api/lots", json={**LOT, "doses_per_vial": 10}, headers=supply.world.headers("lab")
    )
    assert response.status_code == 422
    assert "hours_usable_after_opening" in response.json()["detail"]


def test_an_unknown_vaccine_is_refused(supply: SupplyWorld) -> None:
    response = supply.world.client.post(
        "/api/lots", json={**LOT, "cvx": "9999"}, headers=supply.world.headers("lab")
    )
    assert response.status_code == 422


def test_release_quarantine_and_release_again_are_kept_in_the_history(
    supply: SupplyWorld,
) -> None:
    lot = _register(supply)
    for to, reason in (
        ("released", "NCL certificate 2026/118"),
        ("quarantined", "AEFI cluster in Hà Giang"),
        ("released", "investigation closed: not linked"),
    ):
        assert _set_status(supply, lot["id"], to=to, reason=reason).status_code == 200
    detail = supply.world.client.get(
        f"/api/lots/{lot['id']}", headers=supply.world.headers("vaccinator")
    ).json()
    assert detail["release_status"] == "released"
    assert [(h["from_status"], h["to_status"]) for h in detail["history"]] == [
        (None, "pending"),
        ("pending", "released"),
        ("released", "quarantined"),
        ("quarantined", "released"),
    ]


def test_a_refused_step_is_a_conflict_that_says_why(supply: SupplyWorld) -> None:
    lot = _register(supply)
    _set_status(supply, lot["id"], to="rejected", reason="potency below specification")
    response = _set_status(supply, lot["id"], to="released", reason="second look")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "lot AHBVB123: the lot is rejected, which is final"


def test_a_recall_action_belongs_to_a_recall_only(supply: SupplyWorld) -> None:
    lot = _register(supply)
    response = _set_status(
        supply, lot["id"], to="released", reason="ok", recall_action="revaccinate"
    )
    assert response.status_code == 422


def test_only_the_laboratory_releases_a_lot_and_a_refusal_is_audited(
    supply: SupplyWorld,
) -> None:
    lot = _register(supply)
    for who in ("vaccinator", "national_officer", "admin"):
        response = _set_status(supply, lot["id"], who=who, to="released", reason="looks fine")
        assert response.status_code == 403
    with supply.world.sessions() as session:
        refusals = session.scalars(
            select(AuditEvent.role).where(
                AuditEvent.outcome == "denied", AuditEvent.action == "release_lot"
            )
        ).all()
    assert sorted(str(role) for role in refusals) == ["admin", "national_officer", "vaccinator"]


def test_a_citizen_cannot_see_lots(supply: SupplyWorld) -> None:
    response = supply.world.client.get("/api/lots", headers=supply.world.headers("citizen"))
    assert response.status_code == 403


def test_lots_are_listed_by_vaccine_and_status(supply: SupplyWorld) -> None:
    hep_b = _register(supply)
    _register(supply, cvx="19", lot_number="BCG001")
    _set_status(supply, hep_b["id"], to="released", reason="NCL certificate")
    response = supply.world.client.get(
        "/api/lots",
        params={"cvx": "8", "release_status": "released"},
        headers=supply.world.headers("vaccinator"),
    )
    assert [lot["lot_number"] for lot in response.json()] == ["AHBVB123"]


def test_the_release_history_cannot_be_rewritten(supply: SupplyWorld) -> None:
    _register(supply)
    with supply.world.sessions() as session, pytest.raises(Exception, match="append-only"):
        session.execute(text("UPDATE lot_status_change SET reason = 'nothing'"))
