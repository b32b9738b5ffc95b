"""A commune to remind: the registry's small world plus families whose children are due soon,
late, not yet due, or due with nobody to tell, at the Ba Đình station and one in Hồ Chí Minh
City. The day is fixed (2 March 2026) so that every date below is known."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import pytest
from sqlalchemy.orm import Session

from immunis.access.policy import Actor
from immunis.access.service import authenticate
from immunis.db import transaction
from immunis.registry.models import Guardianship, Immunization, Person
from immunis.registry.names import name_key
from tests.world import World, build_world

T = TypeVar("T")
TODAY = date(2026, 3, 2)
BA_DINH = {"province_code": "01", "district_code": "001", "commune_code": "00001"}
BEN_NGHE = {"province_code": "79", "district_code": "760", "commune_code": "26734"}


@dataclass
class OutreachWorld:
    world: World
    people: dict[str, str] = field(default_factory=dict)  # label -> person id

    def actor(self, who: str) -> Actor:
        with self.world.sessions() as session:
            return authenticate(session, self.world.tokens[who])

    def run(self, use_case: Callable[..., T], *args: Any, **options: Any) -> T:
        """Call a use case as the API does: in one transaction of its own."""
        with transaction(self.world.sessions) as session:
            return use_case(session, *args, **options)

    def due(self, who: str, **query: Any) -> Any:
        """GET /api/outreach/due as `who`, on the fixed day."""
        params = {"on": TODAY.isoformat(), **query}
        return self.world.client.get(
            "/api/outreach/due", params=params, headers=self.world.headers(who)
        )


def _person(
    session: Session,
    family: str,
    given: str,
    born: date,
    site_id: str,
    area: dict[str, str],
    *,
    phone: str | None = None,
    guardian: str | None = None,
    doses: tuple[tuple[date, str], ...] = (),
) -> str:
    person = Person(
        family_name=family,
        given_name=given,
        name_key=name_key(family, given),
        birth_date=born,
        phone=phone,
        managing_site_id=site_id,
        **area,
    )
    session.add(person)
    session.flush()
    if guardian is not None:
        session.add(Guardianship(guardian_id=guardian, child_id=person.id, relation="parent"))
    for given_on, cvx in doses:
        session.add(
            Immunization(person_id=person.id, date_administered=given_on, cvx=cvx, site_id=site_id)
        )
    session.flush()
    return person.id


def _birth_doses(born: date) -> tuple[tuple[date, str], ...]:
    """Hepatitis B at birth and BCG two days later: the newborn's doses."""
    return ((born, "08"), (date.fromordinal(born.toordinal() + 2), "19"))


def build_outreach_world(database_url: str) -> OutreachWorld:
    world = build_world(database_url)
    scene = OutreachWorld(world)
    hanoi, hcm = world.sites["HN-BADINH-01"], world.sites["HCM-Q1-01"]
    with transaction(world.sessions) as session:
        people = scene.people
        people["lan"] = _person(
            session, "Nguyễn", "Thị Lan", date(1995, 4, 2), hanoi, BA_DINH, phone="0987654321"
        )
        people["binh"] = _person(
            session, "Lê", "Văn Bình", date(1990, 6, 9), hanoi, BA_DINH, phone="0912345678"
        )
        # Two months old on 10 March: the 2-month doses are due soon.
        born = date(2026, 1, 10)
        people["an"] = _person(
            session, "Trần", "Văn An", born, hanoi, BA_DINH,
            guardian=people["lan"], doses=_birth_doses(born),
        )  # fmt: skip
        # Six months old and never brought back: the 2-month doses are late since December.
        born = date(2025, 9, 1)
        people["chi"] = _person(
            session, "Lê", "Thị Chi", born, hanoi, BA_DINH,
            guardian=people["binh"], doses=_birth_doses(born),
        )  # fmt: skip
        people["em"] = _person(
            session, "Phạm", "Văn Em", born, hanoi, BA_DINH, doses=_birth_doses(born)
        )
        # Ten days old: nothing due for seven weeks.
        born = date(2026, 2, 20)
        people["dung"] = _person(
            session, "Trần", "Thị Dung", born, hanoi, BA_DINH,
            guardian=people["lan"], doses=_birth_doses(born),
        )  # fmt: skip
        people["mai"] = _person(
            session, "Võ", "Thị Mai", date(1998, 1, 1), hcm, BEN_NGHE, phone="0901234567"
        )
        born = date(2026, 1, 10)
        people["hoa"] = _person(
            session, "Võ", "Thị Hoa", born, hcm, BEN_NGHE,
            guardian=people["mai"], doses=_birth_doses(born),
        )  # fmt: skip
    return scene


@pytest.fixture
def outreach(database_url: str) -> OutreachWorld:
    return build_outreach_world(database_url)
