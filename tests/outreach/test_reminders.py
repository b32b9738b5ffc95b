"""Reminders queued from the lists: to the person or, for a child, to a guardian with a phone;
at most once per person, kind of reminder, vaccine group and due date, however often or however
concurrently they are built."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from sqlalchemy import select

from immunis.db import transaction
from immunis.outreach import service
from immunis.outreach.models import OutboxMessage, Reminder
from immunis.outreach.service import ListRequest, ReminderReport, choose_recipient
from immunis.registry.schemas import PersonOut
from immunis.registry.service import Contact
from tests.outreach.conftest import TODAY, OutreachWorld

BASE_URL = "https://tiemchung.example.vn"


def _build(outreach: OutreachWorld, on: date = TODAY, **options: Any) -> ReminderReport:
    request = ListRequest(on=on, window_days=30, programme=options.pop("programme", "tcmr"))
    return outreach.run(
        service.build_reminders,
        outreach.actor("vaccinator"),
        request,
        site_code="HN-BADINH-01",
        language=options.pop("language", "vi"),
        base_url=BASE_URL,
        **options,
    )


def _messages(outreach: OutreachWorld) -> list[OutboxMessage]:
    with outreach.world.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


def test_each_child_due_or_late_gets_a_reminder_sent_to_a_parent(outreach: OutreachWorld) -> None:
    report = _build(outreach)
    people = outreach.people
    assert (report.people, report.due_people, report.queued) == (7, 3, 2)
    assert report.unreachable == [people["em"]]  # no phone of his own, no guardian
    by_person = {m.person_id: m for m in _messages(outreach)}
    an, chi = by_person[people["an"]], by_person[people["chi"]]
    assert (an.template, an.address, an.language, an.status) == (
        "reminder-due-soon",
        "0987654321",
        "vi",
        "queued",
    )
    assert (chi.template, chi.address) == ("reminder-overdue", "0912345678")
    assert an.payload["person_name"] == "Trần Văn An"
    assert an.payload["recipient_name"] == "Nguyễn Thị Lan"
    assert an.payload["for_dependant"] is True
    assert an.payload["date"] == "2026-03-10"
    site = outreach.world.sites["HN-BADINH-01"]
    assert an.payload["booking_url"] == f"{BASE_URL}/book?person={people['an']}&site={site}"
    assert {d["vaccine_group"] for d in an.payload["doses"]} == {
        "DTP",
        "HepB",
        "Hib",
        "Polio",
        "Rotavirus",
    }


def test_the_ledger_holds_one_row_per_vaccine_group_and_due_date(outreach: OutreachWorld) -> None:
    _build(outreach)
    with outreach.world.sessions() as session:
        rows = session.execute(
            select(Reminder.kind, Reminder.vaccine_group, Reminder.due_date).where(
                Reminder.person_id == outreach.people["chi"]
            )
        ).all()
    # Late reminders are about the day each dose became late: the past-due date.
    assert sorted(rows) == [
        ("overdue", group, date(2025, 11, 30)) for group in ("DTP", "HepB", "Hib", "Polio")
    ]


def test_building_again_tells_nobody_twice(outreach: OutreachWorld) -> None:
    _build(outreach)
    again = _build(outreach)
    assert again.queued == 0
    assert again.already_told == 5 + 4  # An's five due doses, Chi's four late ones
    assert len(_messages(outreach)) == 2


def test_a_later_build_tells_only_what_is_new(outreach: OutreachWorld) -> None:
    _build(outreach)
    with_services = _build(outreach, programme="all")
    # An: pneumococcal due soon; Chi: pneumococcal late, influenza and MenBC due soon.
    assert with_services.queued == 3
    newest = {m.person_id: m for m in _messages(outreach)[2:]}
    assert [d["vaccine_group"] for d in newest[outreach.people["an"]].payload["doses"]] == [
        "Pneumococcal"
    ]
    # Six weeks on, An's doses are late and Dung's come due: two new kinds of news.
    later = _build(outreach, on=date(2026, 4, 12))
    templates = sorted((m.person_id, m.template) for m in _messages(outreach)[5:])
    assert later.queued == 2
    assert templates == sorted(
        [
            (outreach.people["an"], "reminder-overdue"),
            (outreach.people["dung"], "reminder-due-soon"),
        ]
    )


def test_two_builds_at_once_queue_each_reminder_once(outreach: OutreachWorld) -> None:
    actor = outreach.actor("vaccinator")
    start = threading.Barrier(2)
    reports: list[ReminderReport] = []

    def build() -> None:
        start.wait()
        with transaction(outreach.world.sessions) as session:
            reports.append(
                service.build_reminders(
                    session,
                    actor,
                    ListRequest(on=TODAY),
                    site_code="HN-BADINH-01",
                    base_url=BASE_URL,
                )
            )

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.queued for r in reports) == [0, 2]
    assert len(_messages(outreach)) == 2


def _person(born: date) -> PersonOut:
    return PersonOut.model_validate(
        {
            "id": "p",
            "family_name": "Trần",
            "given_name": "An",
            "birth_date": born,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }
    )


OWN = Contact("p", "Trần An", "0911111111", None)
MOTHER = Contact("m", "Nguyễn Lan", "0922222222", "mother")


def test_a_child_is_reminded_through_a_guardian_and_an_adult_directly() -> None:
    assert choose_recipient(_person(date(2015, 1, 1)), [OWN, MOTHER], TODAY) == MOTHER
    assert choose_recipient(_person(date(2000, 1, 1)), [OWN, MOTHER], TODAY) == OWN


def test_whoever_has_a_phone_is_told_when_the_first_choice_has_none() -> None:
    assert choose_recipient(_person(date(2015, 1, 1)), [OWN], TODAY) == OWN
    assert choose_recipient(_person(date(2000, 1, 1)), [MOTHER], TODAY) == MOTHER
    assert choose_recipient(_person(date(2000, 1, 1)), [], TODAY) is None
