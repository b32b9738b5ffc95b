"""The due-soon and overdue lists of a site and of an area, on a small population with known
dates, from live forecasts and from a batch run's results."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from immunis.access.models import AuditEvent
from immunis.batch.models import ForecastResult, ForecastRun
from immunis.db import transaction
from tests.outreach.conftest import OutreachWorld

TWO_MONTH_DOSES = {"DTP", "HepB", "Hib", "Polio", "Rotavirus"}


def _people(listing: list[dict]) -> dict[str, set[str]]:
    return {p["person_id"]: {d["vaccine_group"] for d in p["doses"]} for p in listing}


def test_a_station_sees_who_is_due_soon_and_who_is_late_with_the_vaccines(
    outreach: OutreachWorld,
) -> None:
    answer = outreach.due("vaccinator", window=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    people = outreach.people
    assert body["site"]["code"] == "HN-BADINH-01"
    assert _people(body["due_soon"]) == {people["an"]: TWO_MONTH_DOSES}
    late = TWO_MONTH_DOSES - {"Rotavirus"}  # rotavirus is only given young: Chi aged out of it
    assert _people(body["overdue"]) == {people["chi"]: late, people["em"]: late}
    an = body["due_soon"][0]
    assert an["family_name"] == "Trần" and an["given_name"] == "Văn An"
    assert {d["recommended"] for d in an["doses"]} == {"2026-03-10"}
    assert {d["programme"] for d in an["doses"]} == {"tcmr"}
    assert {d["vaccine"] for d in an["doses"]} == {"dtp-hepb-hib", "polio", "rotavirus"}
    reachable = {p["person_id"]: p["reachable"] for p in body["overdue"]}
    assert reachable == {people["chi"]: True, people["em"]: False}


def test_the_totals_count_people_and_doses_per_vaccine_group(outreach: OutreachWorld) -> None:
    totals = outreach.due("vaccinator").json()["totals"]
    assert totals["people"] == 7  # everyone the station manages, parents included
    assert totals["due_soon_people"] == 1
    assert totals["overdue_people"] == 2
    assert totals["due_soon_by_group"] == {group: 1 for group in sorted(TWO_MONTH_DOSES)}
    assert totals["overdue_by_group"] == {"DTP": 2, "HepB": 2, "Hib": 2, "Polio": 2}


def test_the_window_decides_what_is_due_soon(outreach: OutreachWorld) -> None:
    assert outreach.due("vaccinator", window=7).json()["due_soon"] == []
    # Dung is ten days old: her 2-month doses come on 20 April, 49 days ahead.
    wide = outreach.due("vaccinator", window=49).json()
    assert set(_people(wide["due_soon"])) == {outreach.people["an"], outreach.people["dung"]}


def test_a_dose_stays_due_soon_until_its_past_due_date_then_is_late(
    outreach: OutreachWorld,
) -> None:
    an = outreach.people["an"]
    on_last_day = outreach.due("vaccinator", on="2026-04-09", window=0).json()
    assert an in _people(on_last_day["due_soon"])
    day_after = outreach.due("vaccinator", on="2026-04-10", window=0).json()
    assert an in _people(day_after["overdue"]) and an not in _people(day_after["due_soon"])


def test_services_vaccines_are_listed_only_when_asked_for(outreach: OutreachWorld) -> None:
    an = outreach.people["an"]
    services = outreach.due("vaccinator", programme="services").json()
    assert _people(services["due_soon"])[an] == {"Pneumococcal"}
    every = outreach.due("vaccinator", programme="all").json()
    assert _people(every["due_soon"])[an] == TWO_MONTH_DOSES | {"Pneumococcal"}


def test_an_adults_missed_infant_doses_are_not_reminders(outreach: OutreachWorld) -> None:
    lan = outreach.people["lan"]  # born 1995, no doses recorded: her gaps are thirty years old
    assert lan not in _people(outreach.due("vaccinator", programme="all").json()["overdue"])
    forty_years = outreach.due("vaccinator", programme="all", lookback=40 * 365).json()
    assert lan in _people(forty_years["overdue"])


def test_an_area_list_holds_its_residents_whichever_site_manages_them(
    outreach: OutreachWorld,
) -> None:
    district = outreach.due("district_officer", area="001").json()
    assert district["area"] == "001" and district["site"] is None
    assert set(_people(district["overdue"])) == {outreach.people["chi"], outreach.people["em"]}
    hcm = outreach.due("province_officer_hcm", area="79").json()
    assert set(_people(hcm["due_soon"])) == {outreach.people["hoa"]}
    assert hcm["overdue"] == []


def test_the_person_lists_stop_at_the_limit_but_the_totals_do_not(
    outreach: OutreachWorld,
) -> None:
    body = outreach.due("vaccinator", limit=1).json()
    assert len(body["overdue"]) == 1 and body["truncated"] is True
    assert body["totals"]["overdue_people"] == 2


def test_reading_a_list_is_audited_with_everyone_named(outreach: OutreachWorld) -> None:
    outreach.due("vaccinator")
    with outreach.world.sessions() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "outreach_list")
        ).one()
    people = outreach.people
    assert event.action == "read" and event.outcome == "allowed"
    assert sorted(event.detail["people"]) == sorted([people["an"], people["chi"], people["em"]])
    assert event.detail["site"] == "HN-BADINH-01" and event.detail["window_days"] == 30


def _batch_run(outreach: OutreachWorld, assessed: date, rows: list[tuple]) -> str:
    with transaction(outreach.world.sessions) as session:
        run = ForecastRun(
            schedule="vn",
            assessment_date=assessed,
            partitions=1,
            status="finished",
            finished=datetime.now(UTC),
        )
        session.add(run)
        session.flush()
        for person_id, group, dose, recommended, past_due in rows:
            session.add(
                ForecastResult(
                    run_id=run.id,
                    person_id=person_id,
                    vaccine_group=group,
                    partition=0,
                    status="Not complete",
                    dose_number=dose,
                    earliest=recommended,
                    recommended=recommended,
                    past_due=past_due,
                    overdue=False,
                )
            )
        return run.id


def test_the_lists_can_come_from_the_last_batch_run(outreach: OutreachWorld) -> None:
    people = outreach.people
    run_id = _batch_run(
        outreach,
        date(2026, 3, 1),
        [
            (people["an"], "Polio", 1, date(2026, 3, 10), date(2026, 4, 9)),
            (people["chi"], "DTP", 1, date(2025, 11, 1), date(2025, 11, 30)),
            (people["hoa"], "Polio", 1, date(2026, 3, 10), date(2026, 4, 9)),
        ],
    )
    body = outreach.due("vaccinator", source="batch").json()
    assert body["batch_run_id"] == run_id
    assert _people(body["due_soon"]) == {people["an"]: {"Polio"}}
    assert _people(body["overdue"]) == {people["chi"]: {"DTP"}}


def test_without_a_batch_run_the_batch_source_says_how_to_make_one(
    outreach: OutreachWorld,
) -> None:
    _batch_run(outreach, date(2026, 3, 5), [])  # assessed after the day asked about
    answer = outreach.due("vaccinator", source="batch")
    assert answer.status_code == 422
    assert "forecast-all" in answer.json()["detail"]


@pytest.mark.parametrize("window", [-1, 367])
def test_a_window_out_of_range_is_refused(outreach: OutreachWorld, window: int) -> None:
    assert outreach.due("vaccinator", window=window).status_code == 422
