"""The supply room's pure rules: release transitions, who keeps which store, which lot next."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from immunis.access.policy import Actor, Role
from immunis.supply.fefo import LotStock, first_to_use
from immunis.supply.release import ReleaseStatus, transition_refusal
from immunis.supply.stores import StoreFacts, StoreLevel, may_manage_stock_at

P, R, Q = ReleaseStatus.PENDING, ReleaseStatus.RELEASED, ReleaseStatus.QUARANTINED
RJ, RC = ReleaseStatus.REJECTED, ReleaseStatus.RECALLED


@pytest.mark.parametrize(("current", "wanted"), [(P, R), (P, RJ), (R, Q), (R, RC), (Q, R), (Q, RC)])
def test_the_release_steps_the_laboratory_may_take(
    current: ReleaseStatus, wanted: ReleaseStatus
) -> None:
    assert transition_refusal(current, wanted) is None


@pytest.mark.parametrize(
    ("current", "wanted", "reason"),
    [
        (P, Q, "a pending lot can only become rejected or released, not quarantined"),
        (P, RC, "a pending lot can only become rejected or released, not recalled"),
        (R, P, "a released lot can only become quarantined or recalled, not pending"),
        (R, R, "the lot is already released"),
        (RJ, R, "the lot is rejected, which is final"),
        (RC, R, "the lot is recalled, which is final"),
        (RC, Q, "the lot is recalled, which is final"),
    ],
)
def test_every_other_step_is_refused_with_its_reason(
    current: ReleaseStatus, wanted: ReleaseStatus, reason: str
) -> None:
    assert transition_refusal(current, wanted) == reason


def _actor(role: Role, **where: str) -> Actor:
    return Actor(user_id="u", username="u", role=role, **where)  # type: ignore[arg-type]


NATIONAL = StoreFacts("national", StoreLevel.NATIONAL, "01", "001")
PROVINCE = StoreFacts("province", StoreLevel.PROVINCE, "01", "001")
DISTRICT = StoreFacts("district", StoreLevel.DISTRICT, "01", "001")
STATION = StoreFacts("station", StoreLevel.STATION, "01", "001")


@pytest.mark.parametrize(
    ("actor", "keeps"),
    [
        (_actor(Role.NATIONAL_OFFICER), {NATIONAL, PROVINCE, DISTRICT, STATION}),
        (_actor(Role.PROVINCE_OFFICER, area_code="01"), {PROVINCE, DISTRICT, STATION}),
        (_actor(Role.PROVINCE_OFFICER, area_code="79"), set()),
        (_actor(Role.DISTRICT_OFFICER, area_code="001"), {DISTRICT, STATION}),
        (_actor(Role.VACCINATOR, site_id="station"), {STATION}),
        (_actor(Role.INTEGRATION, site_id="station"), {STATION}),
        (_actor(Role.LAB), set()),
        (_actor(Role.ADMIN), set()),
        (_actor(Role.CITIZEN, person_id="p"), set()),
    ],
)
def test_who_keeps_the_stock_of_which_store(actor: Actor, keeps: set[StoreFacts]) -> None:
    stores = {NATIONAL, PROVINCE, DISTRICT, STATION}
    assert {s for s in stores if may_manage_stock_at(actor, s)} == keeps


def _stock(lot: str, expiry: date, unopened: int, opened: int = 0, discard: int = 0) -> LotStock:
    return LotStock(
        lot_id=lot,
        lot_number=lot,
        expiry_date=expiry,
        unopened_doses=unopened,
        opened_vial_doses=opened,
        opened_vial_discard_after=datetime(2026, 1, 1, discard) if opened else None,
    )


def test_the_lot_that_expires_first_goes_first() -> None:
    stock = [
        _stock("LATE", date(2027, 6, 1), 100),
        _stock("SOON", date(2026, 9, 1), 100),
        _stock("EMPTY", date(2026, 3, 1), 0),
    ]
    assert first_to_use(stock).lot_number == "SOON"  # type: ignore[union-attr]


def test_an_opened_vial_goes_before_any_unopened_stock() -> None:
    stock = [
        _stock("SOON", date(2026, 9, 1), 100),
        _stock("LATE", date(2027, 6, 1), 90, opened=7, discard=15),
        _stock("LATER", date(2027, 8, 1), 90, opened=3, discard=12),
    ]
    assert first_to_use(stock).lot_number == "LATER"  # type: ignore[union-attr]


def test_no_stock_no_suggestion() -> None:
    assert first_to_use([_stock("EMPTY", date(2026, 3, 1), 0)]) is None
