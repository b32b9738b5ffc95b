"""The stock ledger: receipts, transfers down the chain, wastage, adjustments, balances on any
day, expiry warnings and which lot to use first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from immunis.errors import Conflict, Forbidden, InvalidInput
from immunis.supply import service
from immunis.supply.ledger import WastageReason
from immunis.supply.models import StockBalance, StockMovement
from immunis.supply.release import ReleaseStatus
from immunis.supply.schemas import AdjustmentIn, ArrivalIn, ReceiptIn, TransferIn, WastageIn
from tests.supply.conftest import TODAY, SupplyWorld


def test_a_transfer_chain_from_the_national_store_to_a_station_conserves_every_dose(
    supply: SupplyWorld,
) -> None:
    lot = supply.lot("DTP0001", cvx="198")
    supply.receive("national", lot.id, 1000, TODAY - timedelta(days=20))
    chain = [
        ("national_officer", "national", "province", 400, "province_officer"),
        ("province_officer", "province", "district", 150, "district_officer"),
        ("district_officer", "district", "station", 50, "vaccinator"),
    ]
    for day, (sender, source, target, quantity, receiver) in enumerate(chain):
        sent = supply.run(
            service.dispatch,
            supply.actor(sender),
            TransferIn(
                from_site_id=supply.sites[source],
                to_site_id=supply.sites[target],
                lot_id=lot.id,
                quantity=quantity,
                dispatched_on=TODAY - timedelta(days=10 - 3 * day),
            ),
        )
        in_stores = sum(supply.balance(s, lot.id) for s in supply.sites)
        assert in_stores + sent.quantity == 1000  # the rest is on the road
        supply.run(
            service.record_arrival,
            supply.actor(receiver),
            sent.id,
            ArrivalIn(received_on=TODAY - timedelta(days=9 - 3 * day), vvm_stage=1),
        )
    balances = {site: supply.balance(site, lot.id) for site in supply.sites}
    assert balances == {"national": 600, "province": 250, "district": 100, "station": 50}


def test_a_transfer_arrives_once(supply: SupplyWorld) -> None:
    lot = supply.lot("DTP0002", cvx="198")
    supply.receive("district", lot.id, 100)
    officer = supply.actor("district_officer")
    sent = supply.run(
        service.dispatch,
        officer,
        TransferIn(
            from_site_id=supply.sites["district"],
            to_site_id=supply.sites["station"],
            lot_id=lot.id,
            quantity=30,
            dispatched_on=TODAY,
        ),
    )
    supply.run(service.record_arrival, officer, sent.id, ArrivalIn(received_on=TODAY))
    with pytest.raises(Conflict, match="was received on"):
        supply.run(service.record_arrival, officer, sent.id, ArrivalIn(received_on=TODAY))
    assert supply.balance("station", lot.id) == 30


def test_no_store_sends_more_than_it_holds(supply: SupplyWorld) -> None:
    lot = supply.lot("DTP0003", cvx="198")
    supply.receive("province", lot.id, 100)
    with pytest.raises(Conflict, match="only 100 doses of lot DTP0003 can leave"):
        supply.run(
            service.dispatch,
            supply.actor("province_officer"),
            TransferIn(
                from_site_id=supply.sites["province"],
                to_site_id=supply.sites["district"],
                lot_id=lot.id,
                quantity=101,
                dispatched_on=TODAY,
            ),
        )
    assert supply.balance("province", lot.id) == 100


def test_only_released_lots_move_down_the_chain(supply: SupplyWorld) -> None:
    lot = supply.lot("HB0004", status=ReleaseStatus.PENDING)
    supply.receive("national", lot.id, 500)  # held in quarantine at the store
    with pytest.raises(Conflict, match="HB0004 is pending: only released lots move"):
        supply.run(
            service.dispatch,
            supply.actor("national_officer"),
            TransferIn(
                from_site_id=supply.sites["national"],
                to_site_id=supply.sites["province"],
                lot_id=lot.id,
                quantity=100,
                dispatched_on=TODAY,
            ),
        )


def test_a_recalled_lot_cannot_be_received(supply: SupplyWorld) -> None:
    lot = supply.lot("HB0005", status=ReleaseStatus.RECALLED)
    with pytest.raises(Conflict, match="HB0005 is recalled: it cannot be received"):
        supply.receive("national", lot.id, 100)


def test_the_balance_on_any_past_day_comes_from_the_ledger(supply: SupplyWorld) -> None:
    lot = supply.lot("HB0006")
    officer = supply.actor("district_officer")
    supply.receive("district", lot.id, 100, TODAY - timedelta(days=10))
    supply.run(
        service.record_wastage,
        officer,
        WastageIn(
            site_id=supply.sites["district"],
            lot_id=lot.id,
            quantity=5,
            occurred_on=TODAY - timedelta(days=5),
            reason=WastageReason.BROKEN,
        ),
    )
    supply.run(
        service.dispatch,
        officer,
        TransferIn(
            from_site_id=supply.sites["district"],
            to_site_id=supply.sites["station"],
            lot_id=lot.id,
            quantity=20,
            dispatched_on=TODAY - timedelta(days=2),
        ),
    )
    by_day = {
        days: supply.balance("district", lot.id, TODAY - timedelta(days=days))
        for days in (11, 10, 6, 5, 2, 0)
    }
    assert by_day == {11: 0, 10: 100, 6: 100, 5: 95, 2: 75, 0: 75}
    response = supply.world.client.get(
        "/api/stock/balances",
        params={"site": supply.sites["district"], "on": (TODAY - timedelta(days=6)).isoformat()},
        headers=supply.world.headers("district_officer"),
    )
    assert [(b["lot"]["lot_number"], b["quantity"]) for b in response.json()] == [("HB0006", 100)]


def test_a_withdrawal_recorded_late_cannot_overdraw_a_later_day(supply: SupplyWorld) -> None:
    lot = supply.lot("HB0007")
    officer = supply.actor("district_officer")
    supply.receive("district", lot.id, 100, TODAY - timedelta(days=10))
    supply.run(
        service.dispatch,
        officer,
        TransferIn(
            from_site_id=supply.sites["district"],
            to_site_id=supply.sites["station"],
            lot_id=lot.id,
            quantity=95,
            dispatched_on=TODAY - timedelta(days=2),
        ),
    )
    late = WastageIn(
        site_id=supply.sites["district"],
        lot_id=lot.id,
        quantity=10,
        occurred_on=TODAY - timedelta(days=5),
        reason=WastageReason.FREEZE_DAMAGE,
    )
    with pytest.raises(Conflict, match="only 5 doses"):
        supply.run(service.record_wastage, officer, late)


def test_heat_damage_is_recorded_with_the_vial_monitor_stage(supply: SupplyWorld) -> None:
    lot = supply.lot("HB0008")
    supply.receive("station", lot.id, 50)
    vaccinator = supply.actor("vaccinator")
    wastage = WastageIn(
        site_id=supply.sites["station"],
        lot_id=lot.id,
        quantity=10,
        occurred_on=TODAY,
        reason=WastageReason.HEAT_EXPOSURE,
        vvm_stage=3,
        note="refrigerator failed overnight",
    )
    recorded = supply.run(service.record_wastage, vaccinator, wastage)
    assert (recorded.kind, recorded.quantity, recorded.reason, recorded.vvm_stage) == (
        "wasted",
        -10,
        "heat_exposure",
        3,
    )
    for stage in (None, 2):
        with pytest.raises(InvalidInput, match="VVM stage"):
            supply.run(
                service.record_wastage, vaccinator, wastage.model_copy(update={"vvm_stage": stage})
            )
    assert supply.balance("station", lot.id) == 40


def test_wastage_through_the_api(supply: SupplyWorld) -> None:
    lot = supply.lot("HB0009")
    supply.receive("station", lot.id, 20)
    response = supply.world.client.post(
        "/api/stock/wastage",
        json={
            "site_id": supply.sites["station"],
            "lot_id": lot.id,
            "quantity": 2,
            "occurred_on": TODAY.isoformat(),
            "reason": "broken",
        },
        headers=supply.world.headers("vaccinator"),
    )
    assert response.status_code == 201, response.text
    assert supply.balance("station", lot.id) == 18


def test_a_count_corrects_the_books_both_ways(supply: SupplyWorld) -> None:
    lot = supply.lot("HB0010")
    supply.receive("station", lot.id, 20)
    vaccinator = supply.actor("vaccinator")
    for quantity in (3, -8):
        supply.run(
            service.adjust,
            vaccinator,
            AdjustmentIn(
                site_id=supply.sites["station"],
                lot_id=lot.id,
                quantity=quantity,
                occurred_on=TODAY,
                reason="monthly physical count",
            ),
        )
    assert supply.balance("station", lot.id) == 15
    with pytest.raises(Conflict):
        supply.run(
            service.adjust,
            vaccinator,
            AdjustmentIn(
                site_id=supply.sites["station"],
                lot_id=lot.id,
                quantity=-16,
                occurred_on=TODAY,
                reason="count",
            ),
        )


def test_the_running_balance_always_equals_the_ledger(supply: SupplyWorld) -> None:
    lot = supply.lot("HB0011")
    supply.receive("station", lot.id, 30)
    supply.run(
        service.record_wastage,
        supply.actor("vaccinator"),
        WastageIn(
            site_id=supply.sites["station"],
            lot_id=lot.id,
            quantity=4,
            occurred_on=TODAY,
            reason=WastageReason.EXPIRED,
        ),
    )
    with supply.world.sessions() as session:
        ledger = session.scalar(
            select(func.sum(StockMovement.quantity)).where(StockMovement.lot_id == lot.id)
        )
        running = session.scalar(select(StockBalance.quantity).where(StockBalance.lot_id == lot.id))
    assert ledger == running == 26


def test_the_ledger_cannot_be_rewritten(supply: SupplyWorld) -> None:
    lot = supply.lot("HB0012")
    supply.receive("station", lot.id, 30)
    with supply.world.sessions() as session, pytest.raises(Exception, match="append-only"):
        session.execute(text("DELETE FROM stock_movement"))


def test_who_may_move_which_stock(supply: SupplyWorld) -> None:
    lot = supply.lot("HB0013")
    receipt = ReceiptIn(
        site_id=supply.sites["national"], lot_id=lot.id, quantity=10, occurred_on=TODAY
    )
    for who in ("lab", "province_officer", "district_officer", "vaccinator", "admin"):
        with pytest.raises(Forbidden):
            supply.run(service.receive_stock, supply.actor(who), receipt)
    at_station = receipt.model_copy(update={"site_id": supply.sites["station"]})
    with pytest.raises(Forbidden):
        supply.run(service.receive_stock, supply.actor("vaccinator_hcm"), at_station)
    supply.run(service.receive_stock, supply.actor("vaccinator"), at_station)


def test_the_lab_cannot_record_stock_through_the_api(supply: SupplyWorld) -> None:
    lot = supply.lot("HB0014")
    response = supply.world.client.post(
        "/api/stock/receipts",
        json={
            "site_id": supply.sites["national"],
            "lot_id": lot.id,
            "quantity": 10,
            "occurred_on": TODAY.isoformat(),
        },
        headers=supply.world.headers("lab"),
    )
    assert response.status_code == 403


def test_stock_close_to_expiry_is_flagged_where_the_actor_keeps_it(supply: SupplyWorld) -> None:
    soon = supply.lot("HB0015", expiry=TODAY + timedelta(days=20))
    later = supply.lot("HB0016", expiry=TODAY + timedelta(days=200))
    for lot in (soon, later):
        supply.receive("station", lot.id, 10)
        supply.receive("national", lot.id, 100)
    response = supply.world.client.get(
        "/api/stock/expiry-warnings",
        params={"days": 30},
        headers=supply.world.headers("vaccinator"),
    )
    assert [(w["lot"]["lot_number"], w["quantity"], w["days_left"]) for w in response.json()] == [
        ("HB0015", 10, 20)
    ]
    national = supply.run(service.expiry_warnings, supply.actor("national_officer"), TODAY, 30)
    assert sorted((w.site_id, w.quantity) for w in national) == sorted(
        [(supply.sites["station"], 10), (supply.sites["national"], 100)]
    )
    assert supply.run(service.expiry_warnings, supply.actor("vaccinator_hcm"), TODAY, 30) == []


def test_the_next_dose_comes_from_the_released_lot_that_expires_first(
    supply: SupplyWorld,
) -> None:
    late = supply.lot(
        "BCG-LATE", cvx="19", expiry=TODAY + timedelta(days=300), doses_per_vial=10, hours=6
    )
    soon = supply.lot(
        "BCG-SOON", cvx="19", expiry=TODAY + timedelta(days=100), doses_per_vial=10, hours=6
    )
    pending = supply.lot(
        "BCG-PEND",
        cvx="19",
        expiry=TODAY + timedelta(days=30),
        status=ReleaseStatus.PENDING,
        doses_per_vial=10,
        hours=6,
    )
    quarantined = supply.lot(
        "BCG-QUAR", cvx="19", expiry=TODAY + timedelta(days=40), doses_per_vial=10, hours=6
    )
    other_vaccine = supply.lot("HB-SOONEST", expiry=TODAY + timedelta(days=10))
    for lot in (late, soon, pending, quarantined, other_vaccine):
        supply.receive("station", lot.id, 50)
    supply.run(
        service.set_release_status,
        supply.actor("lab"),
        quarantined.id,
        ReleaseStatus.QUARANTINED,
        "sterility query",
    )
    response = supply.world.client.get(
        "/api/stock/fefo",
        params={"site": supply.sites["station"], "cvx": "19"},
        headers=supply.world.headers("vaccinator"),
    )
    assert response.json()["lot"]["lot_number"] == "BCG-SOON"
    assert response.json()["opened_vial"] is False


def test_a_station_sees_what_is_on_its_way_and_confirms_its_arrival(supply: SupplyWorld) -> None:
    lot = supply.lot("DTP0017", cvx="198")
    supply.receive("district", lot.id, 100)
    client, station = supply.world.client, supply.sites["station"]
    sent = client.post(
        "/api/stock/transfers",
        json={
            "from_site_id": supply.sites["district"],
            "to_site_id": station,
            "lot_id": lot.id,
            "quantity": 40,
            "dispatched_on": TODAY.isoformat(),
        },
        headers=supply.world.headers("district_officer"),
    )
    assert sent.status_code == 201, sent.text

    def on_the_way() -> list[str]:
        response = client.get(
            "/api/stock/transfers",
            params={"site": station, "in_transit": True},
            headers=supply.world.headers("vaccinator"),
        )
        return [t["id"] for t in response.json()]

    assert on_the_way() == [sent.json()["id"]]
    arrived = client.post(
        f"/api/stock/transfers/{sent.json()['id']}/arrival",
        json={"received_on": TODAY.isoformat(), "vvm_stage": 1},
        headers=supply.world.headers("vaccinator"),
    )
    assert arrived.json()["status"] == "received"
    assert on_the_way() == []
    assert supply.balance("station", lot.id) == 40


def test_only_an_administrator_registers_a_store(supply: SupplyWorld) -> None:
    url = f"/api/stock/stores/{supply.sites['station']}"
    refused = supply.world.client.put(
        url, json={"level": "district"}, headers=supply.world.headers("national_officer")
    )
    assert refused.status_code == 403
    done = supply.world.client.put(
        url, json={"level": "district"}, headers=supply.world.headers("admin")
    )
    assert done.json() == {"site_id": supply.sites["station"], "level": "district"}
