"""Signing in and out, sessions, CSRF and the language switch."""

from __future__ import annotations

from sqlalchemy import select

from immunis.access.models import AuditEvent
from immunis.access.passwords import check_credentials, hash_password, password_matches
from immunis.errors import InvalidInput
from tests.web.site import PASSWORD, WebWorld, csrf_of


def test_a_citizen_who_signs_in_lands_on_their_family(web: WebWorld) -> None:
    browser = web.client()
    answer = browser.post(
        "/login",
        data={"username": "citizen", "password": PASSWORD, "csrf_token": csrf_of(browser)},
    )
    assert answer.status_code == 303
    assert browser.get("/").headers["location"] == "/family"
    assert "Nguyễn Thị Lan" in browser.get("/family").text


def test_each_role_starts_on_its_own_page(web: WebWorld) -> None:
    starts = {
        "vaccinator": "/clinic",
        "province_officer": "/coverage",
        "lab": "/lots",
        "safety_officer": "/aefi",
    }
    for who, page in starts.items():
        assert web.client(who).get("/").headers["location"] == page


def test_a_wrong_password_keeps_the_username_and_says_what_is_wrong(web: WebWorld) -> None:
    browser = web.client()
    answer = browser.post(
        "/login",
        data={"username": "citizen", "password": "not it at all", "csrf_token": csrf_of(browser)},
    )
    assert answer.status_code == 422
    assert 'value="citizen"' in answer.text
    assert "The username or password is not right." in answer.text
    assert browser.get("/family").status_code == 303  # still not signed in


def test_pages_send_visitors_to_sign_in_and_back(web: WebWorld) -> None:
    answer = web.client().get("/family")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/family"


def test_a_sign_in_never_sends_the_visitor_to_another_site(web: WebWorld) -> None:
    browser = web.client()
    answer = browser.post(
        "/login",
        data={
            "username": "citizen",
            "password": PASSWORD,
            "next": "//evil.example/steal",
            "csrf_token": csrf_of(browser),
        },
    )
    assert answer.headers["location"] == "/"


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(web: WebWorld) -> None:
    vaccinator = web.client("vaccinator")
    child = web.people["child"]
    answer = vaccinator.post(f"/people/{child}/doses", data={"lot_number": "PENTA01"})
    assert answer.status_code == 403
    assert "did not come from this site" in answer.text
    assert "PENTA01" not in vaccinator.get(f"/people/{child}").text


def test_a_token_from_another_session_does_not_pass(web: WebWorld) -> None:
    stranger_token = csrf_of(web.client())
    answer = web.client("vaccinator").post(
        f"/people/{web.people['child']}/doses",
        data={"lot_number": "PENTA01", "csrf_token": stranger_token},
    )
    assert answer.status_code == 403


def test_signing_in_starts_a_new_session(web: WebWorld) -> None:
    browser = web.client()
    before = csrf_of(browser)
    browser.post("/login", data={"username": "citizen", "password": PASSWORD, "csrf_token": before})
    assert csrf_of(browser, "/family") != before


def test_signing_out_ends_the_session(web: WebWorld) -> None:
    browser = web.client("citizen")
    answer = browser.post("/logout", data={"csrf_token": csrf_of(browser, "/family")})
    assert answer.headers["location"] == "/login"
    assert browser.get("/family").status_code == 303


def test_a_forged_session_cookie_signs_nobody_in(web: WebWorld) -> None:
    browser = web.client("citizen")
    cookie = browser.cookies.get("immunis_session")
    assert cookie
    browser.cookies.clear()
    browser.cookies.set("immunis_session", cookie[:-4] + "AAAA")
    assert browser.get("/family").status_code == 303


def test_a_sign_in_is_audited(web: WebWorld) -> None:
    web.client("citizen")
    with web.world.sessions() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.channel == "web"))
        assert "sign_in" in list(actions)


def test_the_language_switch_is_remembered(web: WebWorld) -> None:
    browser = web.client()
    answer = browser.get("/language/vi?next=/login")
    assert answer.headers["location"] == "/login"
    page = browser.get("/login").text
    assert '<html lang="vi">' in page
    assert "Đăng nhập" in page


def test_without_a_choice_the_pages_speak_the_configured_language(web: WebWorld) -> None:
    from fastapi.testclient import TestClient

    from immunis.app import create_app
    from immunis.settings import Settings

    settings = Settings(
        database_url=web.database_url,
        secret_key="test-secret",
        language="vi",
    )
    app = create_app(settings)
    try:
        assert "Đăng nhập" in TestClient(app).get("/login").text
    finally:
        app.state.engine.dispose()


def test_an_unknown_language_leaves_the_choice_as_it_was(web: WebWorld) -> None:
    browser = web.client(language="vi")
    browser.get("/language/xx?next=/login")
    assert "Đăng nhập" in browser.get("/login").text


def test_passwords_are_kept_as_hashes_and_checked() -> None:
    hashed = hash_password(PASSWORD)
    assert PASSWORD not in hashed
    assert password_matches(hashed, PASSWORD)
    assert not password_matches(hashed, PASSWORD + "!")
    assert not password_matches(None, PASSWORD)


def test_a_short_password_is_refused() -> None:
    try:
        hash_password("short")
    except InvalidInput as refusal:
        assert "at least" in str(refusal)
    else:
        raise AssertionError("a 5-character password was accepted")


def test_an_inactive_user_cannot_sign_in(web: WebWorld) -> None:
    from immunis.access.service import find_user

    with web.world.sessions() as session, session.begin():
        user = find_user(session, "citizen")
        assert user is not None
        user.active = False
    with web.world.sessions() as session:
        assert check_credentials(session, "citizen", PASSWORD) is None
