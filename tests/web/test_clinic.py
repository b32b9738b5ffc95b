"""The vaccinator's screens: search, registration with the duplicate warning, recording a dose
with the lot checked, the stock."""

from __future__ import annotations

from datetime import date

from tests.web.site import WebWorld, csrf_of


def test_a_search_without_accents_finds_the_person(web: WebWorld) -> None:
    page = web.client("vaccinator").get("/clinic", params={"q": "nguyen thi lan"}).text
    assert "Nguyễn Thị Lan" in page


def test_htmx_gets_the_results_alone(web: WebWorld) -> None:
    answer = web.client("vaccinator").get(
        "/clinic", params={"q": "tran minh"}, headers={"HX-Request": "true"}
    )
    assert "Trần Minh Khôi" in answer.text
    assert "<html" not in answer.text


def test_a_one_letter_search_asks_for_more(web: WebWorld) -> None:
    page = web.client("vaccinator").get("/clinic", params={"q": "n"}).text
    assert "Type at least two letters of the name" in page


def test_a_vaccinator_of_another_province_cannot_open_the_record(web: WebWorld) -> None:
    answer = web.client("vaccinator_hcm").get(f"/people/{web.people['child']}")
    assert answer.status_code == 403


def test_a_citizen_cannot_use_the_vaccinator_screens(web: WebWorld) -> None:
    citizen = web.client("citizen")
    assert citizen.get("/clinic").status_code == 403
    answer = citizen.post(
        f"/people/{web.people['child']}/doses",
        data={"lot_number": "PENTA01", "csrf_token": csrf_of(citizen, "/family")},
    )
    assert answer.status_code == 403


def _register(web: WebWorld, **fields: str):  # type: ignore[no-untyped-def]
    browser = web.client("vaccinator")
    data = {
        "family_name": "Lê",
        "given_name": "Văn Bình",
        "birth_date": "2026-10-01",
        "sex": "male",
        **fields,
    }
    return browser, browser.post(
        "/people/new", data={**data, "csrf_token": csrf_of(browser, "/clinic")}
    )


def test_a_registration_with_mistakes_keeps_what_was_typed(web: WebWorld) -> None:
    _, answer = _register(
        web, birth_date="2026-13-45", phone="12ab", address_line="12 Phó Đức Chính"
    )
    assert answer.status_code == 422
    assert "Enter the date as day/month/year" in answer.text
    assert "Enter a phone number of 9 to 15 digits" in answer.text
    for typed in (
        'value="Lê"',
        'value="Văn Bình"',
        'value="2026-13-45"',
        'value="12ab"',
        'value="12 Phó Đức Chính"',
    ):
        assert typed in answer.text


def test_a_new_person_is_registered_and_their_record_opens(web: WebWorld) -> None:
    browser, answer = _register(web)
    assert answer.status_code == 303
    assert "Lê Văn Bình" in browser.get(answer.headers["location"]).text


def test_someone_who_may_be_registered_already_is_named_before_a_second_record(
    web: WebWorld,
) -> None:
    browser, answer = _register(
        web, family_name="Nguyen", given_name="Thi Lan", birth_date="1995-04-02", sex="female"
    )
    assert answer.status_code == 409
    assert "This person may be registered already" in answer.text
    assert f"/people/{web.people['mother']}" in answer.text
    assert 'value="Thi Lan"' in answer.text
    confirmed = browser.post(
        "/people/new",
        data={
            "family_name": "Nguyen",
            "given_name": "Thi Lan",
            "birth_date": "1995-04-02",
            "sex": "female",
            "confirmed_new": "yes",
            "csrf_token": csrf_of(browser, "/clinic"),
        },
    )
    assert confirmed.status_code == 303


def test_a_child_is_linked_to_the_parent_by_national_id(web: WebWorld) -> None:
    _, answer = _register(web, guardian_national_id="001195000123")
    assert answer.status_code == 303
    assert "Lê Văn Bình" in web.client("citizen").get("/family").text


def _record(web: WebWorld, lot: str, given_on: str | None = None):  # type: ignore[no-untyped-def]
    browser = web.client("vaccinator")
    child = web.people["child"]
    return browser, browser.post(
        f"/people/{child}/doses",
        data={
            "lot_number": lot,
            "given_on": given_on or date.today().isoformat(),
            "csrf_token": csrf_of(browser, "/clinic"),
        },
    )


def test_a_lot_waiting_for_release_is_refused_with_the_reason(web: WebWorld) -> None:
    _, answer = _record(web, "penta02")
    assert answer.status_code == 422
    assert "Lot PENTA02 is waiting for release by the national control laboratory" in answer.text
    assert 'value="penta02"' in answer.text


def test_the_reason_is_given_in_vietnamese(web: WebWorld) -> None:
    browser = web.client("vaccinator", language="vi")
    answer = browser.post(
        f"/people/{web.people['child']}/doses",
        data={
            "lot_number": "PENTA02",
            "given_on": date.today().isoformat(),
            "csrf_token": csrf_of(browser, "/clinic"),
        },
    )
    assert "đang chờ" in answer.text


def test_an_unknown_lot_is_refused(web: WebWorld) -> None:
    _, answer = _record(web, "NOPE123")
    assert answer.status_code == 422
    assert "Lot NOPE123 is not registered" in answer.text


def test_a_dose_in_the_future_is_refused(web: WebWorld) -> None:
    _, answer = _record(web, "PENTA01", given_on="2999-01-01")
    assert "cannot be in the future" in answer.text


def test_a_released_lot_is_recorded_and_comes_off_the_stock(web: WebWorld) -> None:
    browser, answer = _record(web, "penta01")
    assert answer.status_code == 303
    record = browser.get(answer.headers["location"]).text
    assert "The dose is recorded." in record
    assert "PENTA01" in record
    stock = browser.get("/stock").text
    assert "19" in stock


def test_the_stock_page_lists_the_lots_and_which_may_not_be_used(web: WebWorld) -> None:
    page = web.client("vaccinator").get("/stock").text
    assert "PENTA01" in page
    assert "do not use: waiting for release" in page
