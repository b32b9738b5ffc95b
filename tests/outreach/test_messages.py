"""Reminders as people read them, in Vietnamese and English: names with their diacritics, dates
written as each language writes them, the site, a line about each vaccine, the booking link."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from immunis.access.system import system_actor
from immunis.outreach import service
from immunis.outreach.delivery import OutgoingMessage
from immunis.outreach.messages import UnknownTemplate, booking_url, long_date, render
from immunis.outreach.service import ListRequest
from tests.outreach.conftest import TODAY, OutreachWorld

PAYLOAD = {
    "kind": "due_soon",
    "person_name": "Trần Văn An",
    "recipient_name": "Nguyễn Thị Lan",
    "for_dependant": True,
    "date": "2026-03-05",
    "doses": [
        {"vaccine_group": "HepB", "dose_number": 2, "vaccine": "dtp-hepb-hib"},
        {"vaccine_group": "DTP", "dose_number": 1, "vaccine": "dtp-hepb-hib"},
        {"vaccine_group": "Polio", "dose_number": 1, "vaccine": "polio"},
    ],
    "site_id": "s-1",
    "site_name": "Trạm Y tế phường Phúc Xá",
    "booking_url": "https://tiemchung.example.vn/book?person=p-1&site=s-1",
}


def test_dates_are_written_the_way_each_language_writes_them() -> None:
    assert long_date(date(2026, 3, 5), "vi") == "ngày 5 tháng 3 năm 2026"
    assert long_date(date(2026, 12, 25), "vi") == "ngày 25 tháng 12 năm 2026"
    assert long_date("2026-03-05", "en") == "5 March 2026"


def test_a_vietnamese_reminder_names_the_child_the_date_the_site_and_the_vaccines() -> None:
    message = render("reminder-due-soon", PAYLOAD, "vi")
    assert message.subject == "Nhắc lịch tiêm chủng"
    assert "Xin chào Nguyễn Thị Lan." in message.body
    assert "Trần Văn An sắp đến lịch tiêm vào ngày 5 tháng 3 năm 2026" in message.body
    assert "tại Trạm Y tế phường Phúc Xá" in message.body
    lines = [line for line in message.body.splitlines() if line.startswith("- ")]
    # The 5-in-1 is due for two groups and named once; each vaccine gets its line of education.
    assert len(lines) == 2
    assert lines[0].startswith("- Vắc xin phối hợp bạch hầu")
    assert "Uống và tiêm vắc xin bại liệt đủ liều" in lines[1]
    assert message.body.endswith(
        "Đặt lịch hẹn: https://tiemchung.example.vn/book?person=p-1&site=s-1"
    )


def test_an_english_reminder_says_the_same() -> None:
    message = render("reminder-due-soon", PAYLOAD, "en")
    assert message.subject == "Vaccination reminder"
    assert "Trần Văn An is due for vaccination on 5 March 2026 at Trạm Y tế phường Phúc Xá" in (
        message.body
    )
    assert "- Polio vaccine (oral bOPV and injected IPV). Every polio dose" in message.body
    assert "Book a visit: https://tiemchung.example.vn/book?person=p-1&site=s-1" in message.body


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("vi", "Anh/Chị đã đến lịch tiêm từ ngày 5 tháng 3 năm 2026 nhưng chưa được tiêm."),
        ("en", "You have been due for vaccination since 5 March 2026."),
    ],
)
def test_an_adult_is_written_to_directly_when_late(language: str, expected: str) -> None:
    message = render("reminder-overdue", {**PAYLOAD, "for_dependant": False}, language)
    assert expected in message.body


def test_a_vaccine_without_content_is_named_by_its_group() -> None:
    payload = {**PAYLOAD, "doses": [{"vaccine_group": "Zoster", "vaccine": None}]}
    assert "- Zoster\n" in render("reminder-due-soon", payload, "en").body


def test_a_kind_of_message_without_a_template_is_refused() -> None:
    with pytest.raises(UnknownTemplate):
        render("birthday-card", PAYLOAD, "vi")
    with pytest.raises(UnknownTemplate):
        render("reminder-due-soon", PAYLOAD, "fr")


def test_the_booking_link_starts_at_the_public_address() -> None:
    assert (
        booking_url("https://tiemchung.example.vn/", "p 1", "s-1")
        == "https://tiemchung.example.vn/book?person=p+1&site=s-1"
    )
    assert (
        booking_url("http://127.0.0.1:8000", "p-1", None) == "http://127.0.0.1:8000/book?person=p-1"
    )


def test_a_queued_reminder_goes_out_in_the_language_it_was_queued_in(
    outreach: OutreachWorld,
) -> None:
    outreach.run(
        service.build_reminders,
        outreach.actor("vaccinator"),
        ListRequest(on=TODAY),
        site_code="HN-BADINH-01",
        language="en",
        base_url="https://tiemchung.example.vn",
    )
    claimed = outreach.run(
        service.claim_messages,
        system_actor("test"),
        limit=10,
        now=datetime(2026, 3, 2, 8, tzinfo=UTC),
        language="vi",
    )
    ready = {m.address: m for m in claimed if isinstance(m, OutgoingMessage)}
    to_lan = ready["0987654321"]
    assert to_lan.language == "en" and to_lan.subject == "Vaccination reminder"
    assert "Trần Văn An is due for vaccination on 10 March 2026" in to_lan.body
    assert "Trạm Y tế phường Phúc Xá" in to_lan.body
    assert ready["0912345678"].subject == "Overdue vaccination"
