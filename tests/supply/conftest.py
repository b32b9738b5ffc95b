"""A supply chain to test in: the registry's small world plus a national, a province and a
district store above the Ba Đình station, and helpers that act as a given role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy.orm import Session

from immunis.access.policy import Actor
from immunis.access.service import authenticate
from immunis.db import transaction
from immunis.registry import service as registry
from immunis.registry.models import Site
from immunis.registry.schemas import Address, ImmunizationIn, PersonIn
from immunis.supply import service
from immunis.supply.release import ReleaseStatus
from immunis.supply.schemas import LotIn, LotOut, ReceiptIn
from immunis.supply.stores import StoreLevel
from tests.world import World, build_world

T = TypeVar("T")
TODAY = date.today()
BA_DINH = Address(province_code="01", district_code="001", commune_code="00001")
RELEASE_STEPS = {
    ReleaseStatus.PENDING: (),
    ReleaseStatus.RELEASED: (ReleaseStatus.RELEASED,),
    ReleaseStatus.REJECTED: (ReleaseStatus.REJECTED,),
    ReleaseStatus.QUARANTINED: (ReleaseStatus.RELEASED, ReleaseStatus.QUARANTINED),
    ReleaseStatus.RECALLED: (ReleaseStatus.RELEASED, ReleaseStatus.RECALLED),
}


@dataclass
class SupplyWorld:
    world: World
    sites: dict[str, str] = field(default_factory=dict)  # national|province|district|station

    def actor(self, who: str) -> Actor:
        with self.world.sessions() as session:
            return authenticate(session, self.world.tokens[who])

    def run(self, use_case: Callable[..., T], *args: Any, **options: Any) -> T:
        """Call a use case as the API does: in one transaction of its own."""
        with transaction(self.world.sessions) as session:
            return use_case(session, *args, **options)

    def lot(
        self,
        lot_number: str,
        *,
        cvx: str = "08",
        expiry: date = TODAY + timedelta(days=365),
        doses_per_vial: int = 1,
        hours: int | None = None,
        status: ReleaseStatus = ReleaseStatus.RELEASED,
    ) -> LotOut:
        """A lot registered by the laboratory and, unless asked otherwise, released."""
        lab = self.actor("lab")
        lot = self.run(
            service.register_lot,
            lab,
            LotIn(
                cvx=cvx,
                mvx="SKB",
                lot_number=lot_number,
                expiry_date=expiry,
                doses_per_vial=doses_per_vial,
                hours_usable_after_opening=hours,
            ),
        )
        for step in RELEASE_STEPS[status]:
            lot = self.run(service.set_release_status, lab, lot.id, step, f"test: {step}")
        return lot

    def receive(self, site: str, lot_id: str, quantity: int, on: date = TODAY) -> None:
        self.run(
            service.receive_stock,
            self.actor("national_officer"),
            ReceiptIn(site_id=self.sites[site], lot_id=lot_id, quantity=quantity, occurred_on=on),
        )

    def balance(self, site: str, lot_id: str, on: date = TODAY) -> int:
        return self.run(
            service.balance, self.actor("national_officer"), self.sites[site], lot_id, on
        )

    def person(self, given_name: str, born: date = TODAY - timedelta(days=60), **extra: Any) -> str:
        person = self.run(
            registry.create_person,
            self.actor("vaccinator"),
            PersonIn(
                family_name="Lê",
                given_name=given_name,
                birth_date=born,
                address=BA_DINH,
                **extra,
            ),
        )
        return person.id

    def give(
        self,
        person_id: str,
        lot_number: str,
        *,
        cvx: str = "08",
        on: date = TODAY,
        at: datetime | None = None,
    ) -> str:
        """Record a dose given at the Ba Đình station: the registry checks the lot and takes the
        dose from the station's stock."""
        vaccinator = self.actor("vaccinator")

        def record(session: Session) -> str:
            dose, _ = registry.record_immunization(
                session,
                vaccinator,
                person_id,
                ImmunizationIn(date_administered=on, cvx=cvx, lot_number=lot_number),
                given_at=at,
            )
            return dose.id

        return self.run(record)


def build_supply_world(database_url: str) -> SupplyWorld:
    built = SupplyWorld(world=build_world(database_url))
    built.sites["station"] = built.world.sites["HN-BADINH-01"]
    with transaction(built.world.sessions) as session:
        for code, name, level in (
            ("VN-NATIONAL-STORE", "Kho vắc xin quốc gia", StoreLevel.NATIONAL),
            ("HN-PROVINCE-STORE", "Kho vắc xin CDC Hà Nội", StoreLevel.PROVINCE),
            ("HN-BADINH-STORE", "Kho vắc xin TTYT Ba Đình", StoreLevel.DISTRICT),
        ):
            # All three stand in Ba Đình, so only the level tells whose they are.
            site = Site(code=code, name=name, kind="store", province_code="01", district_code="001")
            session.add(site)
            session.flush()
            built.sites[level.value] = site.id
    admin = built.actor("admin")
    for level in (StoreLevel.NATIONAL, StoreLevel.PROVINCE, StoreLevel.DISTRICT):
        built.run(service.set_store_level, admin, built.sites[level.value], level)
    return built


@pytest.fixture
def supply(database_url: str) -> Iterator[SupplyWorld]:
    built = build_supply_world(database_url)
    yield built
    built.world.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    built.world.sessions.kw["bind"].dispose()
