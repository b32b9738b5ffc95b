"""The reminder and recall lists: a vaccinator's site, an officer's area; who may not see them;
the form's messages; queuing the reminders. The 75-day-old child's 2-month doses are due now (and
his BCG late); the 400-day-old stranger, with nothing recorded, is late for his."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from immunis.access.models import AuditEvent
from immunis.outreach.models import OutboxMessage
from immunis.registry import service as registry
from immunis.registry.schemas import GuardianLink, PersonIn
from tests.web.site import BA_DINH, TODAY, WebWorld, csrf_of

RESULTS_LINK = re.compile(r'hx-get="/reminders/results\?([^"]+)"')


def _lists(page: str) -> tuple[str, str]:
    """The overdue list and the due-soon list of a results page, in that order."""
    overdue, due_soon = page.split('id="due-soon"')
    return overdue, due_soon


def _facts(page: str) -> dict[str, str]:
    """The terms and figures of a page's lists of facts."""
    return dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page))


def _results_of(browser: TestClient, path: str = "/reminders") -> str:
    """Open the page, then ask for its results as htmx does."""
    page = browser.get(path)
    assert page.status_code == 200, page.text
    found = RESULTS_LINK.search(page.text)
    assert found, "the page does not ask for its results"
    query = found.group(1).replace("&amp;", "&")
    results = browser.get(f"/reminders/results?{query}", headers={"HX-Request": "true"})
    assert results.status_code == 200, results.text
    return results.text


def test_the_page_asks_for_the_lists_with_the_progress_indicator(web: WebWorld) -> None:
    page = web.client("vaccinator").get("/reminders").text
    assert 'hx-trigger="load"' in page
    assert 'id="progress"' in page
    assert "site=HN-BADINH-01" in page
    assert "Trạm Y tế phường Phúc Xá (HN-BADINH-01)" in page
    assert 'id="area"' not in page  # a vaccinator's lists are their own site's


def test_a_vaccinator_sees_who_is_due_and_who_is_late_with_links(web: WebWorld) -> None:
    overdue, due_soon = _lists(_results_of(web.client("vaccinator")))
    child, stranger = web.people["child"], web.people["stranger"]
    assert f'href="/people/{child}">Trần Minh Khôi</a>' in due_soon
    assert "Diphtheria, tetanus, pertussis, dose 1" in due_soon
    assert f'href="/people/{stranger}">Phạm Văn Đức</a>' in overdue
    assert "Phạm Văn Đức" not in due_soon
    assert "BCG (tuberculosis), dose 1" in overdue and "BCG" not in due_soon
    assert "No phone" in overdue


def test_the_totals_count_the_people_and_the_vaccines(web: WebWorld) -> None:
    page = _results_of(web.client("vaccinator"))
    totals = _facts(page)
    assert totals == {"People looked at": "3", "Due soon": "1", "Overdue": "2"}
    assert re.search(r"<td>Polio</td><td class=\"number\">1</td><td class=\"number\">1</td>", page)


def test_an_officer_sees_their_area_and_may_choose_a_site_in_it(web: WebWorld) -> None:
    officer = web.client("district_officer")
    overdue, due_soon = _lists(_results_of(officer))
    assert "Trần Minh Khôi" in due_soon and "Phạm Văn Đức" in overdue
    link = re.search(r'href="(/people/[^"]+)">Trần Minh Khôi', due_soon)
    assert link is not None
    record = officer.get(link.group(1))
    assert record.status_code == 200 and "Trần Minh Khôi" in record.text
    page = officer.get("/reminders", params={"site": "HN-BADINH-01", "window": "7"}).text
    assert "site=HN-BADINH-01" in page and "window=7" in page
    assert 'id="area"' in page


def test_a_national_officer_names_a_site_or_an_area_first(web: WebWorld) -> None:
    national = web.client("national_officer")
    page = national.get("/reminders")
    assert page.status_code == 200
    assert "Enter a site's code or an area's code" in page.text
    assert 'hx-trigger="load"' not in page.text
    overdue, _ = _lists(_results_of(national, "/reminders?area=01"))
    assert "Phạm Văn Đức" in overdue


def test_an_unknown_site_is_explained_beside_the_field(web: WebWorld) -> None:
    page = web.client("national_officer").get("/reminders", params={"site": "NO-SUCH"})
    assert page.status_code == 422
    assert "No site has the code NO-SUCH" in page.text
    assert 'value="NO-SUCH"' in page.text


@pytest.mark.parametrize("who", ["citizen", "lab", "safety_officer", "admin"])
def test_the_lists_are_not_for_other_roles_and_the_refusal_is_audited(
    web: WebWorld, who: str
) -> None:
    browser = web.client(who)
    for path in ("/reminders", "/reminders/results?area=01"):
        answer = browser.get(path)
        assert answer.status_code == 403
        assert "Phạm Văn Đức" not in answer.text
    with web.world.sessions() as session:
        refusals = session.scalars(
            select(AuditEvent).where(AuditEvent.outcome == "denied", AuditEvent.channel == "web")
        ).all()
    assert [r.entity_id for r in refusals] == ["/reminders", "/reminders/results"]


def test_another_sites_lists_are_refused_by_the_outreach_room(web: WebWorld) -> None:
    answer = web.client("vaccinator").get("/reminders", params={"site": "HCM-Q1-01"})
    assert answer.status_code == 403
    with web.world.sessions() as session:
        refusal = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
    assert (refusal.entity_type, refusal.channel) == ("outreach_list", "web")


def test_reading_the_lists_is_audited_with_everyone_named(web: WebWorld) -> None:
    _results_of(web.client("vaccinator"))
    with web.world.sessions() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "outreach_list")
        ).one()
    assert event.outcome == "allowed" and event.channel == "web"
    assert set(event.detail["people"]) == {web.people["child"], web.people["stranger"]}


def test_a_wrong_window_and_day_are_explained_and_kept(web: WebWorld) -> None:
    officer = web.client("province_officer")
    query = {"window": "forty", "on": "31/02/2026", "area": "1"}
    page = officer.get("/reminders", params=query)
    assert page.status_code == 422
    assert 'value="forty"' in page.text and 'value="31/02/2026"' in page.text
    assert 'value="1"' in page.text
    assert "Enter a number of days from 0 to 366" in page.text
    assert "Enter the date as day/month/year" in page.text
    assert "district (3 digits)" in page.text
    assert 'aria-invalid="true"' in page.text
    too_long = officer.get("/reminders", params={"window": "400"})
    assert too_long.status_code == 422 and 'value="400"' in too_long.text
    long_ago = officer.get("/reminders", params={"on": "14/10/1066"})
    assert long_ago.status_code == 422 and "Enter a day from 1900 to 2100" in long_ago.text
    assert officer.get("/reminders/results", params=query).status_code == 422


def test_the_lists_speak_vietnamese(web: WebWorld) -> None:
    browser = web.client("vaccinator", language="vi")
    page = browser.get("/reminders").text
    assert "Danh sách nhắc tiêm" in page
    results = _results_of(browser)
    assert "Quá hạn" in results
    assert "Bạch hầu, uốn ván, ho gà, mũi 1" in results
    wrong = browser.get("/reminders", params={"window": "x"})
    assert "Nhập số ngày từ 0 đến 366" in wrong.text


def test_a_batch_list_without_a_batch_run_says_so(web: WebWorld) -> None:
    results = web.client("vaccinator").get(
        "/reminders/results", params={"source": "batch", "site": "HN-BADINH-01"}
    )
    assert results.status_code == 200
    assert "No population forecast" in results.text


def _child_with_a_phone(web: WebWorld) -> str:
    parent = web.run(
        "vaccinator",
        registry.create_person,
        PersonIn(
            family_name="Lê",
            given_name="Thu Trang",
            birth_date=TODAY - timedelta(days=30 * 365),
            sex="female",
            address=BA_DINH,
            phone="0987654321",
        ),
    ).id
    return web.run(
        "vaccinator",
        registry.create_person,
        PersonIn(
            family_name="Lê",
            given_name="Minh Anh",
            birth_date=TODAY - timedelta(days=70),
            sex="female",
            address=BA_DINH,
            guardians=[GuardianLink(guardian_id=parent, relationship="mother")],
        ),
    ).id


def test_a_vaccinator_queues_the_reminders_once(web: WebWorld) -> None:
    child = _child_with_a_phone(web)
    vaccinator = web.client("vaccinator")
    form = {"site": "HN-BADINH-01", "csrf_token": csrf_of(vaccinator, "/reminders")}
    first = vaccinator.post("/reminders/queue", data=form)
    assert first.status_code == 200, first.text
    with web.world.sessions() as session:
        messages = session.scalars(select(OutboxMessage)).all()
    assert {(m.person_id, m.address) for m in messages} == {(child, "0987654321")}
    report = _facts(first.text)
    assert report["Messages queued now"] == str(len(messages))
    assert report["People due with no phone to write to"] == "2"  # the first child, the stranger
    again = _facts(vaccinator.post("/reminders/queue", data=form).text)
    assert again["Messages queued now"] == "0"
    assert int(again["Doses reminded of before"]) > int(report["Doses reminded of before"])
    with web.world.sessions() as session:
        assert len(session.scalars(select(OutboxMessage)).all()) == len(messages)


def test_queuing_needs_the_forms_token(web: WebWorld) -> None:
    answer = web.client("vaccinator").post("/reminders/queue", data={"site": "HN-BADINH-01"})
    assert answer.status_code == 403
    with web.world.sessions() as session:
        assert session.scalars(select(OutboxMessage)).all() == []


def test_the_menu_leads_staff_to_the_lists(web: WebWorld) -> None:
    for who in ("vaccinator", "district_officer", "national_officer"):
        assert (
            'href="/reminders"'
            in web.client(who).get("/coverage" if "officer" in who else "/clinic").text
        )
    assert 'href="/reminders"' not in web.client("lab").get("/lots").text
