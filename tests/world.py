"""A small world to test the registry in: two provinces, three sites, a user of every role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from immunis.access.policy import Role
from immunis.access.service import create_user, issue_token
from immunis.app import create_app
from immunis.db import make_engine, make_sessionmaker, transaction
from immunis.registry.models import Organization, Person, Site
from immunis.registry.names import name_key
from immunis.settings import Settings


@dataclass
class World:
    client: TestClient
    sessions: sessionmaker[Session]
    tokens: dict[str, str] = field(default_factory=dict)  # role name (or label) -> bearer token
    sites: dict[str, str] = field(default_factory=dict)  # site code -> id
    people: dict[str, str] = field(default_factory=dict)  # label -> person id

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def build_world(database_url: str) -> World:
    app = create_app(Settings(database_url=database_url))
    sessions = make_sessionmaker(make_engine(database_url))
    world = World(client=TestClient(app), sessions=sessions)
    with transaction(sessions) as session:
        hanoi = Organization(code="HN-CDC", name="CDC Hà Nội")
        session.add(hanoi)
        session.flush()
        for code, name, province, district, commune in (
            ("HN-BADINH-01", "Trạm Y tế phường Phúc Xá", "01", "001", "00001"),
            ("HN-PRIVATE-01", "VNVC Hoàng Văn Thụ", "01", "008", "00301"),
            ("HCM-Q1-01", "Trạm Y tế phường Bến Nghé", "79", "760", "26734"),
        ):
            site = Site(
                code=code,
                name=name,
                organization_id=hanoi.id,
                province_code=province,
                district_code=district,
                commune_code=commune,
            )
            session.add(site)
            session.flush()
            world.sites[code] = site.id
        mother = Person(
            family_name="Nguyễn",
            given_name="Thị Lan",
            name_key=name_key("Nguyễn", "Thị Lan"),
            birth_date=date(1995, 4, 2),
            sex="female",
            national_id="001195000123",
            province_code="01",
            district_code="001",
            commune_code="00001",
            managing_site_id=world.sites["HN-BADINH-01"],
        )
        session.add(mother)
        session.flush()
        world.people["mother"] = mother.id
        users = {
            "citizen": dict(role=Role.CITIZEN, person_id=mother.id),
            "vaccinator": dict(role=Role.VACCINATOR, site_id=world.sites["HN-BADINH-01"]),
            "vaccinator_hcm": dict(role=Role.VACCINATOR, site_id=world.sites["HCM-Q1-01"]),
            "integration": dict(role=Role.INTEGRATION, site_id=world.sites["HN-PRIVATE-01"]),
            "district_officer": dict(role=Role.DISTRICT_OFFICER, area_code="001"),
            "province_officer": dict(role=Role.PROVINCE_OFFICER, area_code="01"),
            "province_officer_hcm": dict(role=Role.PROVINCE_OFFICER, area_code="79"),
            "national_officer": dict(role=Role.NATIONAL_OFFICER),
            "lab": dict(role=Role.LAB),
            "safety_officer": dict(role=Role.SAFETY_OFFICER),
            "admin": dict(role=Role.ADMIN),
        }
        for label, options in users.items():
            user = create_user(session, username=label, **options)  # type: ignore[arg-type]
            world.tokens[label] = issue_token(session, user, label="tests")
    return world
