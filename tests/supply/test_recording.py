"""Recording a dose through the registry checks the lot and takes it from stock."""

from __future__ import annotations

import pytest

from immunis.errors import InvalidInput
from immunis.registry import service as registry
from immunis.registry.schemas import ImmunizationIn
from immunis.supply.release import ReleaseStatus
from tests.supply.conftest import TODAY, SupplyWorld


def _record(supply: SupplyWorld, who: str, person_id: str, **dose: object) -> str:
    data = ImmunizationIn(date_administered=TODAY, cvx="08", **dose)  # type: ignore[arg-type]
    recorded, _ = supply.run(registry.record_immunization, supply.actor(who), person_id, data)
    return recorded.id


def test_a_dose_at_a_site_that_keeps_stock_here_needs_a_usable_lot(supply: SupplyWorld) -> None:
    lot = supply.lot("HB2101")
    supply.receive("station", lot.id, 5)
    baby = supply.person("An")
    with pytest.raises(InvalidInput, match="needs its lot"):
        _record(supply, "vaccinator", baby)
    with pytest.raises(InvalidInput, match="not a registered vaccine lot"):
        _record(supply, "vaccinator", baby, lot_number="NOPE1")
    _record(supply, "vaccinator", baby, lot_number="hb2101")  # lot numbers ignore case
    assert supply.balance("station", lot.id) == 4


def test_a_quarantined_lot_is_refused_even_where_stock_is_kept_elsewhere(
    supply: SupplyWorld,
) -> None:
    supply.lot("HB2102", status=ReleaseStatus.QUARANTINED)
    baby = supply.person("Bình")
    # The station has never held a lot here, so its stock is kept elsewhere.
    with pytest.raises(InvalidInput, match=r"HB2102.*do not use it"):
        _record(supply, "vaccinator", baby, lot_number="HB2102")


def test_an_unknown_lot_from_a_site_without_stock_here_is_recorded(supply: SupplyWorld) -> None:
    baby = supply.person("Chi")
    dose = _record(supply, "vaccinator", baby, lot_number="ELSEWHERE9")
    with supply.world.sessions() as session:
        doses = registry.list_immunizations(session, supply.actor("vaccinator"), baby)
    assert [(d.id, d.lot_number) for d in doses] == [(dose, "ELSEWHERE9")]
