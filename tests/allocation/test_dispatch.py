"""An allocation carried out: transfers from the national store to each province's store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from immunis.allocation.allocate import Policy, Province
from immunis.allocation.service import ProvinceStore, allocate_and_dispatch
from immunis.db import transaction
from immunis.errors import Forbidden
from immunis.registry.models import Site
from immunis.supply import service as supply_service
from immunis.supply.stores import StoreLevel
from tests.supply.conftest import TODAY, SupplyWorld


def _hue_store(supply: SupplyWorld) -> str:
    with transaction(supply.world.sessions) as session:
        site = Site(code="HUE-PROVINCE-STORE", name="Kho CDC Huế", kind="store", province_code="46")
        session.add(site)
        session.flush()
        site_id = site.id
    supply.run(supply_service.set_store_level, supply.actor("admin"), site_id, StoreLevel.PROVINCE)
    return site_id


def test_the_national_store_sends_each_province_its_fair_share(supply: SupplyWorld) -> None:
    soon = supply.lot("MR100", cvx="04", expiry=TODAY + timedelta(days=60))
    later = supply.lot("MR200", cvx="04", expiry=TODAY + timedelta(days=300))
    supply.receive("national", soon.id, 300)
    supply.receive("national", later.id, 400)
    provinces = [
        ProvinceStore(
            Province("01", "Hà Nội", 1000, {1: 50, 2: 200}, 900), supply.sites["province"]
        ),
        ProvinceStore(Province("46", "Huế", 500, {1: 30, 2: 100}, 900), _hue_store(supply)),
    ]
    plan = supply.run(
        allocate_and_dispatch,
        supply.actor("national_officer"),
        from_store_id=supply.sites["national"],
        cvx="04",
        provinces=provinces,
        policy=Policy(doses_per_person=2, proportional_share=0.2),
        on_date=TODAY,
        dispatch=True,
    )
    assert sum(plan.allocation.doses.values()) + plan.allocation.unallocated == 700
    assert sum(t.quantity for t in plan.transfers) == sum(plan.allocation.doses.values())
    sent = supply.balance("national", soon.id) + supply.balance("national", later.id)
    assert sent == plan.allocation.unallocated  # what was not allocated stays at the national store
    assert plan.transfers[0].lot_id == soon.id  # earliest expiry leaves first


def test_a_vaccinator_cannot_empty_the_national_store(supply: SupplyWorld) -> None:
    lot = supply.lot("MR300", cvx="04")
    supply.receive("national", lot.id, 100)
    with pytest.raises(Forbidden):
        supply.run(
            allocate_and_dispatch,
            supply.actor("vaccinator"),
            from_store_id=supply.sites["national"],
            cvx="04",
            provinces=[
                ProvinceStore(Province("01", "Hà Nội", 100, {1: 10}, 500), supply.sites["province"])
            ],
            policy=Policy(),
            on_date=TODAY,
            dispatch=True,
        )
    assert supply.balance("national", lot.id) == 100


def test_the_allocate_command_explains_and_dispatches(supply: SupplyWorld, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from immunis.cli import app

    lot = supply.lot("MR400", cvx="04")
    supply.receive("national", lot.id, 50)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "from_store: VN-NATIONAL-STORE\n"
        'cvx: "04"\n'
        "policy: {doses_per_person: 1, proportional_share: 0.1}\n"
        "provinces:\n"
        '  - {code: "01", name: Hà Nội, store: HN-PROVINCE-STORE, population: 300,'
        " tiers: {1: 40}, cold_chain_capacity: 1000}\n",
        encoding="utf-8",
    )
    url = str(supply.world.sessions.kw["bind"].url.render_as_string(hide_password=False))
    result = CliRunner().invoke(app, ["allocate", str(plan), "--dispatch", "--url", url])
    assert result.exit_code == 0, result.output
    assert "Proportional phase" in result.output and "1 transfers dispatched" in result.output
    assert supply.balance("national", lot.id) == 50 - 30 - 10  # 10% of 300, then tier 1: 40 - 30
    plan.write_text("from_store: NOWHERE\ncvx: '04'\nprovinces: []\n", encoding="utf-8")
    bad = CliRunner().invoke(app, ["allocate", str(plan), "--url", url])
    assert bad.exit_code == 2
