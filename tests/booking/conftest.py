"""A place to book in: the supply chain's world (the Ba Đình station, its stores and lots), the
station open every day from 07:00 to 17:00 offering hepatitis B (CVX 8, single-dose vials), BCG
(CVX 19, ten-dose vials), measles (CVX 5) and rabies (CVX 18), and a baby of the citizen mother.

Service-level helpers act at a fixed moment, NOW (07:00 today, before the day's sessions), so
that today's sessions can be booked, checked in and recorded whatever the time of the test run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from immunis.booking import planning, service
from immunis.booking.schemas import (
    AppointmentIn,
    AppointmentOut,
    OfferedVaccine,
    SessionIn,
    SessionOut,
    WeeklyHours,
)
from immunis.registry.schemas import Address, GuardianLink
from tests.supply.conftest import TODAY, SupplyWorld, build_supply_world
from tests.world import World

TOMORROW = TODAY + timedelta(days=1)
NOW = datetime.combine(TODAY, time(7)).astimezone()
HEPB, BCG, MEASLES, RABIES = "8", "19", "5", "18"
HO_CHI_MINH = Address(province_code="79", district_code="760", commune_code="26734")


@dataclass
class BookingWorld:
    supply: SupplyWorld

    @property
    def world(self) -> World:
        return self.supply.world

    @property
    def station(self) -> str:
        return self.supply.sites["station"]

    def run(self, use_case: Any, *args: Any, **options: Any) -> Any:
        return self.supply.run(use_case, *args, **options)

    def as_(self, who: str, use_case: Any, *args: Any, **options: Any) -> Any:
        """Run a use case as `who` (a role of the test world) in a transaction of its own."""
        return self.run(use_case, self.supply.actor(who), *args, **options)

    def plan(
        self,
        *,
        day: date = TOMORROW,
        start: str = "08:00",
        end: str = "11:00",
        slot_minutes: int = 30,
        capacity: int = 12,
        vaccines: tuple[str, ...] = (HEPB, BCG, MEASLES, RABIES),
    ) -> SessionOut:
        """A session at the station: by default tomorrow morning, six slots of two places."""
        return self.as_(
            "vaccinator",
            planning.create_session,
            SessionIn(
                site_id=self.station,
                day=day,
                start_time=time.fromisoformat(start),
                end_time=time.fromisoformat(end),
                slot_minutes=slot_minutes,
                capacity=capacity,
                vaccines=list(vaccines),
            ),
            NOW,
        )

    def baby(self, name: str = "An", *, days_old: int = 70, guardian: bool = True) -> str:
        """A baby living in Ba Đình, by default a dependant of the citizen mother."""
        links = [GuardianLink(guardian_id=self.world.people["mother"], relationship="mother")]
        return self.supply.person(
            name, TODAY - timedelta(days=days_old), guardians=links if guardian else []
        )

    def book(
        self,
        person_id: str,
        clinic: SessionOut,
        *,
        at: str = "08:00",
        vaccines: tuple[str, ...] = (HEPB,),
        who: str = "citizen",
        now: datetime = NOW,
    ) -> AppointmentOut:
        data = AppointmentIn(
            person_id=person_id,
            session_id=clinic.id,
            slot_start=time.fromisoformat(at),
            vaccines=list(vaccines),
            schedule="vn",
        )
        return self.as_(who, service.book, data, now)

    def stock(self, lot_number: str, quantity: int, **lot: Any) -> str:
        """A released lot with `quantity` doses at the station; its id."""
        made = self.supply.lot(lot_number, **lot)
        if quantity:
            self.supply.receive("station", made.id, quantity)
        return made.id


def build_booking_world(database_url: str) -> BookingWorld:
    built = BookingWorld(build_supply_world(database_url))
    every_day = [
        WeeklyHours(weekday=weekday, opens=time(7), closes=time(17)) for weekday in range(7)
    ]
    built.as_("vaccinator", planning.set_opening_hours, built.station, every_day)
    for cvx in (HEPB, BCG, MEASLES, RABIES):
        built.as_("vaccinator", planning.offer_vaccine, built.station, OfferedVaccine(cvx=cvx))
    return built


@pytest.fixture
def booking(database_url: str) -> Iterator[BookingWorld]:
    built = build_booking_world(database_url)
    yield built
    built.world.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    built.world.sessions.kw["bind"].dispose()
