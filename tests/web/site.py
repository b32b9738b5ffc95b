"""A small world to test the pages in: the registry's world (tests/world.py) with passwords, a
child in the mother's care, another family, vaccine lots in the Ba Đình station's stock."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from immunis.access.passwords import set_password
from immunis.access.service import authenticate, find_user
from immunis.app import create_app
from immunis.booking import planning
from immunis.booking.schemas import OfferedVaccine, SessionIn, WeeklyHours
from immunis.db import transaction
from immunis.registry import service as registry
from immunis.registry.schemas import Address, GuardianLink, ImmunizationIn, PersonIn
from immunis.settings import Settings
from immunis.supply import service as supply
from immunis.supply.release import ReleaseStatus
from immunis.supply.schemas import LotIn, ReceiptIn
from tests.world import World, build_world

PASSWORD = "correct horse battery"
TODAY = date.today()
BA_DINH = Address(province_code="01", district_code="001", commune_code="00001")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VACCINES = ("198", "178")  # the 5-in-1 (DTP-HepB-Hib) and bivalent oral polio vaccines


@dataclass
class WebWorld:
    world: World
    app: FastAPI
    database_url: str
    people: dict[str, str] = field(default_factory=dict)
    lots: dict[str, str] = field(default_factory=dict)  # lot number -> id
    sessions: dict[date, str] = field(default_factory=dict)  # clinic sessions by day

    def client(self, who: str | None = None, language: str = "en") -> TestClient:
        """A browser of its own; signed in as `who` (a username of tests/world.py) if given."""
        browser = TestClient(self.app, follow_redirects=False)
        browser.cookies.set("immunis_lang", language)
        if who is not None:
            response = browser.post(
                "/login",
                data={"username": who, "password": PASSWORD, "csrf_token": csrf_of(browser)},
            )
            assert response.status_code == 303, response.text
        return browser

    def run(self, who: str, use_case, *args, **options):  # type: ignore[no-untyped-def]
        """Call a service as `who`, in a transaction of its own (to set the scene)."""
        with transaction(self.world.sessions) as session:
            actor = authenticate(session, self.world.tokens[who])
            return use_case(session, actor, *args, **options)

    def close(self) -> None:
        self.app.state.engine.dispose()
        self.world.sessions.kw["bind"].dispose()


def csrf_of(browser: TestClient, path: str = "/login") -> str:
    """The CSRF token of the browser's session, read off a page's form."""
    found = CSRF.search(browser.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def _passwords(session: Session, usernames: list[str]) -> None:
    for username in usernames:
        user = find_user(session, username)
        assert user is not None
        set_password(session, user, PASSWORD)


def build_web_world(database_url: str) -> WebWorld:
    world = build_world(database_url)
    settings = Settings(
        database_url=database_url, secret_key="test-secret", default_schedule="vn", language="en"
    )
    web = WebWorld(world=world, app=create_app(settings), database_url=database_url)
    with transaction(world.sessions) as session:
        _passwords(session, list(world.tokens))
    web.people["mother"] = world.people["mother"]
    web.people["child"] = web.run(
        "vaccinator",
        registry.create_person,
        PersonIn(
            family_name="Trần",
            given_name="Minh Khôi",
            birth_date=TODAY - timedelta(days=75),
            sex="male",
            address=BA_DINH,
            guardians=[GuardianLink(guardian_id=world.people["mother"], relationship="mother")],
        ),
    ).id
    web.people["stranger"] = web.run(
        "vaccinator",
        registry.create_person,
        PersonIn(
            family_name="Phạm",
            given_name="Văn Đức",
            birth_date=TODAY - timedelta(days=400),
            sex="male",
            address=BA_DINH,
        ),
    ).id
    for lot_number, cvx, status in (
        ("PENTA01", "198", ReleaseStatus.RELEASED),
        ("PENTA02", "198", ReleaseStatus.PENDING),
        ("OPV01", "178", ReleaseStatus.RELEASED),
    ):
        lot = web.run(
            "lab",
            supply.register_lot,
            LotIn(
                cvx=cvx,
                mvx="SII",
                lot_number=lot_number,
                expiry_date=TODAY + timedelta(days=300),
                product_name="Quinvaxem" if cvx == "198" else "bOPV",
            ),
        )
        if status is ReleaseStatus.RELEASED:
            web.run("lab", supply.set_release_status, lot.id, status, "passed control")
        web.run(
            "national_officer",
            supply.receive_stock,
            ReceiptIn(
                site_id=world.sites["HN-BADINH-01"], lot_id=lot.id, quantity=20, occurred_on=TODAY
            ),
        )
        web.lots[lot_number] = lot.id
    web.run(
        "vaccinator",
        registry.record_immunization,
        web.people["child"],
        ImmunizationIn(date_administered=TODAY - timedelta(days=75), cvx="08", source="historical"),
    )
    _clinic_sessions(web)
    return web


def _clinic_sessions(web: WebWorld) -> None:
    """The station opens all day, every day, and gives the 5-in-1 and oral polio vaccines in a
    session today (from the next five minutes) and one tomorrow morning."""
    site = web.world.sites["HN-BADINH-01"]
    web.run(
        "vaccinator",
        planning.set_opening_hours,
        site,
        [WeeklyHours(weekday=d, opens=time(0, 0), closes=time(23, 59)) for d in range(7)],
    )
    for cvx in VACCINES:
        web.run("vaccinator", planning.offer_vaccine, site, OfferedVaccine(cvx=cvx))
    now = datetime.now().astimezone()
    start = (now + timedelta(minutes=5 - now.minute % 5)).time().replace(second=0, microsecond=0)
    assert start < time(23, 45), "the tests need a slot left today: run them before 23:40"
    an_hour_on = datetime.combine(TODAY, start) + timedelta(hours=1)
    ends = an_hour_on.time() if an_hour_on.date() == TODAY else time(23, 55)
    for day, first, last, minutes in (
        (TODAY, start, ends, 10),
        (TODAY + timedelta(days=1), time(8, 0), time(11, 0), 15),
    ):
        web.sessions[day] = web.run(
            "vaccinator",
            planning.create_session,
            SessionIn(
                site_id=site,
                day=day,
                start_time=first,
                end_time=last,
                slot_minutes=minutes,
                capacity=20,
                vaccines=list(VACCINES),
            ),
            now,
        ).id
