"""The main journeys in a real browser: Debian's Chromium driven by Playwright against a uvicorn
server started here on 127.0.0.1 (an ephemeral port) over a fresh SQLite database.

A parent books the 2-month doses for her child on her phone, in Vietnamese; the vaccinator
finds the child, checks him in, has a lot that is not released refused, records the doses; the
parent's record then shows them. A vaccinator is warned when a lot held back leaves a booking
without a dose. An officer finds the child on the reminder list. The API docs render from the
app's own files. Screenshots of each step go to artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from immunis.supply import service as supply
from immunis.supply.release import ReleaseStatus
from tests.web.site import PASSWORD, WebWorld, build_web_world, csrf_of

QUARANTINED = ReleaseStatus.QUARANTINED

CHROMIUM = Path("/usr/bin/chromium")
# The flags that keep Chromium from reaching for Google's services on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}
DESKTOP = {"viewport": {"width": 1280, "height": 860}}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium "
            "(apt-get install chromium; .ci/run installs it)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Server:
    """The app served by uvicorn in a thread, on a port the system picks."""

    def __init__(self, web: WebWorld) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(web.app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 15 s")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


@pytest.fixture
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, WebWorld]]:
    """A seeded world on a fresh SQLite file, served for real."""
    database = tmp_path / "immunis.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), database)
    web = build_web_world(f"sqlite:///{database}")
    with Server(web) as server:
        yield server.url, web
    web.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def sign_in(page: Page, base: str, username: str, *, button: str = "Sign in") -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username" if button == "Sign in" else "Tên đăng nhập").fill(username)
    page.get_by_label("Password" if button == "Sign in" else "Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name=button).click()


def test_a_parent_books_a_dose_the_vaccinator_records_it_and_the_record_shows_it(
    browser: Browser, site: tuple[str, WebWorld]
) -> None:
    base, _ = site
    parent = browser.new_context(**PHONE).new_page()  # type: ignore[arg-type]

    # The parent, on her phone, switches to Vietnamese and signs in.
    parent.goto(f"{base}/login")
    parent.get_by_role("link", name="Tiếng Việt").click()
    expect(parent.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    shot(parent, "01-parent-sign-in-phone")
    sign_in(parent, base, "citizen", button="Đăng nhập")
    expect(parent.get_by_role("heading", name="Gia đình tôi")).to_be_visible()
    expect(parent.get_by_text("Mũi 1 phòng Bạch hầu, uốn ván, ho gà").first).to_be_visible()
    shot(parent, "02-parent-family-phone")

    # She opens her son's record and books the due doses in the first free slot.
    parent.get_by_role("link", name="Trần Minh Khôi").first.click()
    parent.get_by_role("link", name="Đặt lịch tiêm").click()
    expect(parent.get_by_role("heading", name="Đặt lịch tiêm")).to_be_visible()
    parent.locator('input[name="slot"]').first.check()
    shot(parent, "03-parent-booking-phone")
    parent.get_by_role("button", name="Đặt giờ này").click()
    expect(parent.get_by_text("Đã đặt lịch hẹn.")).to_be_visible()
    shot(parent, "04-parent-booked-phone")

    # The vaccinator finds the child as she types, without accents (htmx).
    vaccinator = browser.new_context(**DESKTOP).new_page()  # type: ignore[arg-type]
    sign_in(vaccinator, base, "vaccinator")
    expect(vaccinator.get_by_role("heading", name="Find a person")).to_be_visible()
    vaccinator.get_by_label("Name, national ID or phone").press_sequentially("tran minh")
    expect(vaccinator.locator("#results").get_by_text("Trần Minh Khôi")).to_be_visible()
    shot(vaccinator, "05-vaccinator-search")

    # Today's list: the child is there; she checks him in.
    vaccinator.get_by_role("link", name="Today").click()
    card = vaccinator.locator(".card", has_text="Trần Minh Khôi")
    card.get_by_role("button", name="Check in").click()
    card = vaccinator.locator(".card", has_text="Trần Minh Khôi")

    # A lot still waiting for release is refused, with the reason; what she typed stays.
    five_in_one = card.get_by_label("Lot of Combination vaccine for diphtheria", exact=False)
    five_in_one.fill("PENTA02")
    card.get_by_role("button", name="Record the doses given").click()
    expect(
        vaccinator.get_by_text("waiting for release by the national control").first
    ).to_be_visible()
    expect(
        vaccinator.get_by_label("Lot of Combination vaccine for diphtheria", exact=False)
    ).to_have_value("PENTA02")
    shot(vaccinator, "06-vaccinator-lot-refused")

    # The released lot is scanned (typed, then Enter, as a scanner does); the oral polio lot
    # is left to the one that expires first.
    lot = vaccinator.get_by_label("Lot of Combination vaccine for diphtheria", exact=False)
    lot.fill("PENTA01")
    lot.press("Enter")
    expect(vaccinator.get_by_text("The dose is recorded.")).to_be_visible()
    shot(vaccinator, "07-vaccinator-recorded")

    # The parent's record now shows both doses.
    parent.reload()
    record = parent.locator("table")
    expect(record.get_by_text("PENTA01")).to_be_visible()
    expect(record.get_by_text("OPV01")).to_be_visible()
    shot(parent, "08-parent-record-phone")


def test_the_keyboard_reaches_the_skip_link_first_and_sees_where_it_is(
    browser: Browser, site: tuple[str, WebWorld]
) -> None:
    base, _ = site
    page = browser.new_context(**DESKTOP).new_page()  # type: ignore[arg-type]
    page.goto(f"{base}/vaccines")
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("Skip to content")
    outline = focused.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline == "solid"


def test_coverage_loads_with_the_progress_indicator_into_a_table_and_charts(
    browser: Browser, site: tuple[str, WebWorld]
) -> None:
    base, _ = site
    page = browser.new_context(**DESKTOP).new_page()  # type: ignore[arg-type]
    sign_in(page, base, "national_officer")
    page.get_by_role("button", name="Show coverage").click()
    expect(page.locator("#coverage-results table").first).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.chart')]"
        ".every(image => image.complete && image.naturalWidth > 0)"
    )
    shot(page, "09-officer-coverage")


def test_a_registration_with_a_mistake_keeps_what_was_typed_on_a_phone(
    browser: Browser, site: tuple[str, WebWorld]
) -> None:
    base, _ = site
    page = browser.new_context(**PHONE).new_page()  # type: ignore[arg-type]
    sign_in(page, base, "vaccinator")
    page.get_by_role("navigation").get_by_role("link", name="Register").click()
    page.get_by_label("Family name").fill("Đỗ")
    page.get_by_label("Middle and given names").fill("Thu Hà")
    page.get_by_label("Phone").first.fill("09x")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("Enter the date of birth").first).to_be_visible()
    expect(page.get_by_label("Middle and given names")).to_have_value("Thu Hà")
    shot(page, "10-register-errors-phone")


def test_an_officer_opens_the_reminder_list_and_finds_a_child_due(
    browser: Browser, site: tuple[str, WebWorld]
) -> None:
    base, _ = site
    page = browser.new_context(**DESKTOP).new_page()  # type: ignore[arg-type]
    sign_in(page, base, "district_officer")
    page.get_by_role("navigation").get_by_role("link", name="Reminders").click()
    expect(page.get_by_role("heading", name="Reminder lists")).to_be_visible()
    due_soon = page.locator("#reminder-results table[aria-labelledby='due-soon']")
    expect(due_soon.get_by_role("link", name="Trần Minh Khôi")).to_be_visible()
    shot(page, "11-officer-reminders")


def test_the_api_docs_show_the_operations_from_the_apps_own_files(
    browser: Browser, site: tuple[str, WebWorld]
) -> None:
    base, _ = site
    page = browser.new_context(**DESKTOP).new_page()  # type: ignore[arg-type]
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{base}/docs")
    # The app builds its OpenAPI document on the first request for it, and Swagger UI's bundle is
    # large: on a busy two-core machine that takes more than the default five seconds.
    operation = page.locator(".opblock-summary-path", has_text="/health")
    expect(operation).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="meta")).to_be_visible()
    shot(page, "12-api-docs")
    assert [url for url in requested if not url.startswith(base)] == []


def test_the_vaccinator_is_warned_when_a_lot_held_back_leaves_a_booking_without_a_dose(
    browser: Browser, site: tuple[str, WebWorld]
) -> None:
    base, web = site
    # The parent books the child's doses; then the laboratory quarantines the only pentavalent
    # lot at the station (the scene is set through the app's own forms and services).
    parent = web.client("citizen")
    child = web.people["child"]
    form = parent.get(f"/people/{child}/appointments/new").text
    slot = re.findall(r'name="slot" id="[^"]+" value="([^"]+)"', form)[0]
    booked = parent.post(
        f"/people/{child}/appointments",
        data={"cvx": ["198", "178"], "slot": slot, "csrf_token": csrf_of(parent, "/family")},
    )
    assert booked.status_code == 303
    web.run("lab", supply.set_release_status, web.lots["PENTA01"], QUARANTINED, "cold chain")

    page = browser.new_context(**DESKTOP).new_page()  # type: ignore[arg-type]
    sign_in(page, base, "vaccinator")
    page.get_by_role("link", name="Today").click()
    warning = page.locator("#shortfall-198")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Appointments without a dose: 1")
    card = page.locator(".card", has_text="Trần Minh Khôi")
    expect(card.get_by_text("No dose in stock: Combination vaccine for diphtheria")).to_be_visible()
    expect(card.get_by_text("No dose in stock: Polio")).to_have_count(0)
    shot(page, "13-vaccinator-stock-short")
