"""A small world to try immunis in: a province's CDC, two sites, a mother and her two children
(the example patients, with their doses), a vaccinator and the mother's citizen account.

Seeding is idempotent (found by codes and identifiers), so the demo database can be seeded on
every start; only the tokens are new each time, because a token is shown once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from immunis.access.models import User
from immunis.access.policy import Actor, Role
from immunis.access.service import actor_for, create_user, find_user, issue_token
from immunis.forecast import Gender
from immunis.patient_file import read_patient
from immunis.registry import sites
from immunis.registry.schemas import (
    Address,
    GuardianLink,
    Identifier,
    ImmunizationIn,
    OrganizationIn,
    PersonIn,
    Sex,
    SiteIn,
)
from immunis.registry.service import create_person, find_by_identifier, record_immunization

EXAMPLES = Path(__file__).resolve().parent / "examples"
DEMO = "urn:immunis:demo"  # the identifier system of everything the demo makes
PHUC_XA = Address(province_code="01", district_code="001", commune_code="00001")
_SEX: dict[Gender, Sex] = {Gender.FEMALE: "female", Gender.MALE: "male"}


@dataclass
class DemoWorld:
    tokens: dict[str, str] = field(default_factory=dict)  # username -> a new bearer token
    people: dict[str, str] = field(default_factory=dict)  # label -> person id


def seed_demo_world(session: Session, admin: Actor) -> DemoWorld:
    """Make the demo world (or find it made) and issue its users new tokens."""
    world = DemoWorld()
    organization = _organization(session, admin)
    station = _site(
        session,
        admin,
        code="DEMO-HN-PHUCXA",
        name="Trạm Y tế phường Phúc Xá",
        organization_id=organization,
        address=PHUC_XA.model_dump(),
    )
    _site(
        session,
        admin,
        code="DEMO-HN-PRIVATE",
        name="Trung tâm tiêm chủng Hoàng Văn Thụ",
        organization_id=organization,
        kind="private-centre",
        address={"province_code": "01", "district_code": "008", "commune_code": "00301"},
    )
    vaccinator = _user(session, "demo-vaccinator", Role.VACCINATOR, site_id=station)
    actor = actor_for(session, vaccinator, channel="cli")
    mother = _person(
        session,
        actor,
        "mother",
        PersonIn(
            national_id="001195000123",
            identifiers=[Identifier(system=DEMO, value="mother")],
            family_name="Nguyễn",
            given_name="Thị Lan",
            birth_date=date(1995, 4, 2),
            sex="female",
            phone="0912345678",
            address=PHUC_XA.model_copy(update={"line": "12 Phó Đức Chính"}),
        ),
    )
    world.people["mother"] = mother
    for label, family, given in (
        ("vn-infant", "Trần", "Minh Khôi"),
        ("us-toddler", "Trần", "Ngọc Anh"),
    ):
        world.people[label] = _example_child(session, actor, label, family, given, mother)
    citizen = _user(session, "demo-citizen", Role.CITIZEN, person_id=mother)
    for user in (vaccinator, citizen):
        world.tokens[user.username] = issue_token(session, user, label="demo", days=30)
    return world


def _organization(session: Session, admin: Actor) -> str:
    found = sites.search_organizations(session, admin, code="DEMO-HN-CDC")
    if found:
        return found[0].id
    data = OrganizationIn(code="DEMO-HN-CDC", name="CDC Hà Nội (demo)")
    return sites.create_organization(session, admin, data).id


def _site(session: Session, admin: Actor, **fields: object) -> str:
    found = sites.search_sites(session, admin, code=str(fields["code"]))
    if found:
        return found[0].id
    return sites.create_site(session, admin, SiteIn.model_validate(fields)).id


def _user(session: Session, username: str, role: Role, **where: str) -> User:
    return find_user(session, username) or create_user(
        session, username=username, role=role, display_name=f"Demo {role.value}", **where
    )


def _person(session: Session, actor: Actor, label: str, data: PersonIn) -> str:
    found = find_by_identifier(session, DEMO, label)
    return found.id if found else create_person(session, actor, data).id


def _example_child(
    session: Session, actor: Actor, label: str, family: str, given: str, mother: str
) -> str:
    """One of the example patient files as the mother's child, with its doses."""
    patient, doses, _ = read_patient(EXAMPLES / f"{label}.json")
    child = _person(
        session,
        actor,
        label,
        PersonIn(
            identifiers=[Identifier(system=DEMO, value=label)],
            family_name=family,
            given_name=given,
            birth_date=patient.birth_date,
            sex=_SEX.get(patient.gender, "unknown"),
            address=PHUC_XA,
            guardians=[GuardianLink(guardian_id=mother, relationship="mother")],
        ),
    )
    for number, dose in enumerate(doses, start=1):
        record_immunization(
            session,
            actor,
            child,
            ImmunizationIn(
                date_administered=dose.date_administered,
                cvx=dose.cvx,
                mvx=dose.mvx,
                external_id=Identifier(system=DEMO, value=f"{label}-dose-{number}"),
            ),
        )
    return child
