"""Giving a dose from stock: the lot check that refuses unusable lots, and multi-dose vials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from immunis.errors import InvalidInput
from immunis.supply import service
from immunis.supply.models import OpenedVial, StockMovement, VaccineLot
from immunis.supply.release import ReleaseStatus
from tests.supply.conftest import RELEASE_STEPS, TODAY, SupplyWorld

MORNING = datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(hours=1)


def _check(supply: SupplyWorld, lot_number: str, cvx: str = "08", days_on: int = 0) -> str:
    return supply.run(
        service.check_lot_for_dose,
        supply.sites["station"],
        lot_number,
        cvx,
        TODAY + timedelta(days=days_on),
    ).lot_number


def test_a_released_unexpired_lot_in_stock_passes_whatever_the_spelling(
    supply: SupplyWorld,
) -> None:
    lot = supply.lot("HB2001")
    supply.receive("station", lot.id, 10)
    assert _check(supply, " hb2001 ", cvx="8") == "HB2001"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (ReleaseStatus.PENDING, "waiting for release by the national control laboratory"),
        (ReleaseStatus.REJECTED, "was rejected by the national control laboratory"),
        (ReleaseStatus.QUARANTINED, "is in quarantine (test: quarantined): do not use it"),
        (ReleaseStatus.RECALLED, "has been recalled (test: recalled): do not use it"),
    ],
)
def test_a_lot_that_is_not_released_is_refused(
    supply: SupplyWorld, status: ReleaseStatus, reason: str
) -> None:
    lot = supply.lot("HB2002", status=ReleaseStatus.PENDING)
    supply.receive("station", lot.id, 10)  # a pending lot's stock waits on the shelf
    for step in RELEASE_STEPS[status]:
        supply.run(service.set_release_status, supply.actor("lab"), lot.id, step, f"test: {step}")
    with pytest.raises(InvalidInput, match=reason.replace("(", r"\(").replace(")", r"\)")):
        _check(supply, lot.lot_number)


def test_quarantine_blocks_a_lot_already_on_the_shelf(supply: SupplyWorld) -> None:
    lot = supply.lot("HB2004")
    supply.receive("station", lot.id, 10)
    _check(supply, "HB2004")
    supply.run(
        service.set_release_status,
        supply.actor("lab"),
        lot.id,
        ReleaseStatus.QUARANTINED,
        "AEFI cluster",
    )
    with pytest.raises(InvalidInput, match="HB2004 is in quarantine"):
        _check(supply, "HB2004")


def test_an_expired_lot_is_refused(supply: SupplyWorld) -> None:
    lot = supply.lot("HB2005", expiry=TODAY + timedelta(days=3))
    supply.receive("station", lot.id, 10)
    assert _check(supply, "HB2005", days_on=3) == "HB2005"  # usable through its expiry date
    with pytest.raises(InvalidInput, match=f"HB2005 expired on {TODAY + timedelta(days=3)}"):
        _check(supply, "HB2005", days_on=4)


def test_a_lot_of_another_vaccine_is_refused(supply: SupplyWorld) -> None:
    lot = supply.lot("HB2006")
    supply.receive("station", lot.id, 10)
    with pytest.raises(InvalidInput, match="HB2006 is CVX 8, not CVX 19"):
        _check(supply, "HB2006", cvx="19")


def test_a_lot_without_stock_at_the_site_is_refused(supply: SupplyWorld) -> None:
    lot = supply.lot("HB2007")
    supply.receive("district", lot.id, 100)
    with pytest.raises(InvalidInput, match="HB2007 has no stock at this site"):
        _check(supply, "HB2007")


def test_an_unknown_lot_is_refused(supply: SupplyWorld) -> None:
    with pytest.raises(InvalidInput, match="NOPE is not a registered vaccine lot"):
        _check(supply, "nope")


def test_a_single_dose_comes_off_the_stock_once_however_often_it_is_recorded(
    supply: SupplyWorld,
) -> None:
    lot = supply.lot("HB2008")
    supply.receive("station", lot.id, 10)
    baby = supply.person("An")
    dose_id = supply.give(baby, "HB2008")
    vaccinator = supply.actor("vaccinator")
    with supply.world.sessions() as session:
        stocked = session.get(VaccineLot, lot.id)
    supply.run(service.consume_dose, vaccinator, supply.sites["station"], stocked, dose_id, TODAY)
    assert supply.balance("station", lot.id) == 9
    with supply.world.sessions() as session:
        ledger = session.scalars(
            select(StockMovement.immunization_id).where(StockMovement.kind == "administered")
        ).all()
    assert ledger == [dose_id]


def _bcg(supply: SupplyWorld, lot_number: str = "BCG3001", days: int = 200) -> str:
    lot = supply.lot(
        lot_number, cvx="19", doses_per_vial=10, hours=6, expiry=TODAY + timedelta(days=days)
    )
    supply.receive("station", lot.id, 100)
    return lot.id


def _vials(supply: SupplyWorld) -> list[tuple[int, bool]]:
    with supply.world.sessions() as session:
        vials = session.scalars(select(OpenedVial).order_by(OpenedVial.opened_at)).all()
    return [(v.doses_left, v.closed_at is None) for v in vials]


def test_two_doses_from_a_ten_dose_vial_open_one_vial(supply: SupplyWorld) -> None:
    lot_id = _bcg(supply)
    supply.give(supply.person("An"), "BCG3001", cvx="19", at=MORNING)
    supply.give(supply.person("Bình"), "BCG3001", cvx="19", at=MORNING + timedelta(minutes=20))
    assert _vials(supply) == [(8, True)]
    assert supply.balance("station", lot_id) == 98


def test_an_opened_vial_past_its_time_is_discarded_and_its_doses_wasted(
    supply: SupplyWorld,
) -> None:
    lot_id = _bcg(supply)
    supply.give(supply.person("An"), "BCG3001", cvx="19", at=MORNING)
    supply.give(supply.person("Bình"), "BCG3001", cvx="19", at=MORNING + timedelta(minutes=20))
    assert supply.run(service.close_expired_vials, MORNING + timedelta(hours=5)) == 0
    assert supply.run(service.close_expired_vials, MORNING + timedelta(hours=6)) == 1
    assert supply.run(service.close_expired_vials, MORNING + timedelta(hours=7)) == 0
    assert _vials(supply) == [(0, False)]
    assert supply.balance("station", lot_id) == 90
    with supply.world.sessions() as session:
        wasted = session.scalars(select(StockMovement).where(StockMovement.kind == "wasted")).one()
    assert (wasted.quantity, wasted.reason, wasted.recorded_by) == (
        -8,
        "opened_vial_discarded",
        None,
    )


def test_the_next_dose_after_the_vials_time_opens_a_new_one(supply: SupplyWorld) -> None:
    lot_id = _bcg(supply)
    supply.give(supply.person("An"), "BCG3001", cvx="19", at=MORNING)
    supply.give(supply.person("Bình"), "BCG3001", cvx="19", at=MORNING + timedelta(hours=7))
    assert _vials(supply) == [(0, False), (9, True)]
    assert supply.balance("station", lot_id) == 89  # 1 given, 9 wasted, 1 given, 9 in the vial


def test_the_last_doses_open_a_partial_vial_and_no_more(supply: SupplyWorld) -> None:
    lot = supply.lot("BCG3002", cvx="19", doses_per_vial=10, hours=6)
    supply.receive("station", lot.id, 3)
    for name in ("An", "Bình", "Châu"):
        supply.give(supply.person(name), "BCG3002", cvx="19", at=MORNING)
    assert _vials(supply) == [(0, False)]
    with pytest.raises(InvalidInput, match="no stock at this site"):
        supply.give(supply.person("Dũng"), "BCG3002", cvx="19", at=MORNING)


def test_an_opened_vial_is_used_before_a_lot_that_expires_sooner(supply: SupplyWorld) -> None:
    _bcg(supply, "BCG-LATE", days=300)
    _bcg(supply, "BCG-SOON", days=100)
    vaccinator = supply.actor("vaccinator")
    station = supply.sites["station"]

    def suggestion(at: datetime) -> tuple[str, bool]:
        choice = supply.run(service.suggest_lot, vaccinator, station, "19", at)
        return choice.lot.lot_number, choice.opened_vial

    assert suggestion(MORNING) == ("BCG-SOON", False)
    supply.give(supply.person("An"), "BCG-LATE", cvx="19", at=MORNING)
    assert suggestion(MORNING + timedelta(hours=1)) == ("BCG-LATE", True)
    assert suggestion(MORNING + timedelta(hours=6)) == ("BCG-SOON", False)
