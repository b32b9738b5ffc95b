"""A new appointment's database work (booking/placement.py): what it reports, and that a booking
the service then refuses leaves nothing behind. On PostgreSQL it is one statement (the functions
registry_person_record and booking_book), on SQLite the same steps one by one: every test runs
on both."""

from __future__ import annotations

import time as clock
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from httpx import Response
from sqlalchemy import func, select

from immunis.access.models import AccessGrant, AuditEvent
from immunis.access.service import audit, take_pending_audit_events
from immunis.booking.clock import wall_clock
from immunis.booking.models import Appointment, ClinicSession, VaccineReservation
from immunis.booking.placement import Intake, NewAppointment, Placement, PlaceTaken, intake
from immunis.db import new_id
from immunis.supply import availability
from immunis.supply import service as supply
from immunis.supply.release import ReleaseStatus
from tests.booking.conftest import BCG, HEPB, TODAY, TOMORROW, BookingWorld


def _new(booking: BookingWorld, clinic_id: str, person_id: str, *vaccines: str) -> NewAppointment:
    return NewAppointment(
        id=new_id(),
        person_id=person_id,
        session_id=clinic_id,
        slot_start=time(8),
        vaccines=tuple(sorted(vaccines)),
        schedule_id="vn",
        booked_by=booking.supply.actor("vaccinator").user_id,
        booked_at=datetime.now(UTC),
    )


def _intake_and_undo(booking: BookingWorld, new: NewAppointment) -> Intake:
    """Run `intake` and roll its transaction back, as the service does when it refuses."""
    with booking.world.sessions() as session:
        session.begin()
        found = intake(session, new)
        session.rollback()
    return found


def _place_and_undo(booking: BookingWorld, new: NewAppointment) -> Placement:
    found = _intake_and_undo(booking, new)
    assert found.placement is not None
    return found.placement


def _book_over_http(booking: BookingWorld, person_id: str, clinic_id: str, who: str) -> Response:
    """Book hepatitis B at 09:00 through the JSON API, as `who`."""
    return booking.world.client.post(
        "/api/booking/appointments",
        json={
            "person_id": person_id,
            "session_id": clinic_id,
            "slot_start": "09:00",
            "vaccines": [HEPB],
            "schedule": "vn",
        },
        headers=booking.world.headers(who),
    )


def _counters(booking: BookingWorld, clinic_id: str) -> tuple[int, int, int]:
    """The session's people, the station's hepatitis B doses promised, and appointments."""
    with booking.world.sessions() as session:
        booked = session.scalar(select(ClinicSession.booked).where(ClinicSession.id == clinic_id))
        reserved = session.scalar(
            select(VaccineReservation.reserved).where(
                VaccineReservation.site_id == booking.station, VaccineReservation.cvx == HEPB
            )
        )
        appointments = session.scalar(
            select(func.count()).where(Appointment.session_id == clinic_id)
        )
    return booked or 0, reserved or 0, appointments or 0


def test_placing_reports_the_session_the_slot_and_the_stock(booking: BookingWorld) -> None:
    booking.stock("HB1001", 3)
    booking.stock("BCG1001", 20, cvx=BCG, doses_per_vial=10, hours=6)
    clinic = booking.plan(capacity=12)  # six slots of two places
    booking.book(booking.baby("An"), clinic, at="08:00")
    placed = _place_and_undo(booking, _new(booking, clinic.id, booking.baby("Bình"), HEPB, BCG))
    assert placed == Placement(
        place=PlaceTaken(took=True, session_status="open", capacity=12, slot_taken=1),
        promised={BCG: 1, HEPB: 2},
        usable={BCG: 20, HEPB: 3},
    )
    assert _counters(booking, clinic.id) == (1, 1, 1)  # rolled back: nothing of it is left


def test_the_intake_reads_the_session_and_the_record(booking: BookingWorld) -> None:
    booking.stock("HB1001", 3)
    clinic = booking.plan()
    baby = booking.baby("An")
    booking.book(baby, clinic, at="09:00")
    found = _intake_and_undo(booking, _new(booking, clinic.id, baby, HEPB))
    assert found.session is not None
    assert found.session.clinic.site_id == booking.station
    assert found.session.clinic.day == TOMORROW
    assert found.session.offered >= {HEPB, BCG}
    assert found.session.clash == HEPB  # the 09:00 appointment
    assert found.record is not None
    assert found.record.birth_date == TODAY - timedelta(days=70)
    assert found.record.facts.managing_site_id == booking.station


def test_nothing_is_written_for_a_session_or_a_person_that_does_not_exist(
    booking: BookingWorld,
) -> None:
    booking.stock("HB1001", 3)
    clinic = booking.plan()
    no_session = _intake_and_undo(booking, _new(booking, new_id(), booking.baby("An"), HEPB))
    assert no_session.session is None
    assert no_session.placement is None
    no_person = _intake_and_undo(booking, _new(booking, clinic.id, new_id(), HEPB))
    assert no_person.session is not None
    assert no_person.record is None
    assert no_person.placement is None
    assert _counters(booking, clinic.id) == (0, 0, 0)


def test_a_full_or_closed_session_is_reported_without_taking_anything(
    booking: BookingWorld,
) -> None:
    booking.stock("HB1001", 5)
    clinic = booking.plan(end="08:30", capacity=1)
    booking.book(booking.baby("An"), clinic)
    full = _place_and_undo(booking, _new(booking, clinic.id, booking.baby("Bình"), HEPB))
    assert full == Placement(PlaceTaken(False, "open", 1, 0), {}, {})
    booking.world.client.patch(
        f"/api/booking/sessions/{clinic.id}",
        json={"status": "closed"},
        headers=booking.world.headers("vaccinator"),
    )
    closed = _place_and_undo(booking, _new(booking, clinic.id, booking.baby("Châu"), HEPB))
    assert closed.place.took is False
    assert closed.place.session_status == "closed"


def test_a_refused_booking_gives_back_its_place_and_its_dose(booking: BookingWorld) -> None:
    booking.stock("HB1001", 1)
    clinic = booking.plan()
    booking.book(booking.baby("An"), clinic)
    refused = _book_over_http(booking, booking.baby("Bình"), clinic.id, "citizen")
    assert refused.status_code == 409  # the one dose is promised to An
    assert _counters(booking, clinic.id) == (1, 1, 1)


def test_usable_doses_are_released_unexpired_stock_at_the_site(booking: BookingWorld) -> None:
    """On PostgreSQL this is the function supply_usable_doses, which booking_book also calls;
    on SQLite, availability.py's own query: the same answers on both."""
    booking.stock("HB-RELEASED", 7)
    booking.stock("HB-SECOND", 4)
    booking.stock("HB-PENDING", 50, status=ReleaseStatus.PENDING)
    quarantined = booking.stock("HB-QUARANTINED", 50)
    booking.as_("lab", supply.set_release_status, quarantined, ReleaseStatus.QUARANTINED, "AEFI")
    booking.stock("HB-EXPIRING", 50, expiry=TODAY)  # expires before tomorrow
    booking.stock("HB-EMPTY", 0)
    elsewhere = booking.supply.lot("HB-DISTRICT")
    booking.supply.receive("district", elsewhere.id, 30)
    booking.stock("BCG1001", 20, cvx=BCG, doses_per_vial=10, hours=6)

    def usable(on: date, *cvxs: str) -> dict[str, int]:
        return booking.run(availability.usable_doses_by_cvx, booking.station, list(cvxs), on)

    assert usable(TOMORROW, HEPB, BCG, "18") == {HEPB: 11, BCG: 20}
    assert usable(TODAY, "08") == {HEPB: 61}  # the expiring lot still counts today
    assert usable(TODAY + timedelta(days=400), HEPB) == {}


def _log_of(booking: BookingWorld, person_id: str) -> list[tuple[str, str, str | None, str]]:
    with booking.world.sessions() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.role)
            .where(AuditEvent.person_id == person_id)
            .order_by(AuditEvent.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_booking_logs_the_forecast_read_and_the_appointment(booking: BookingWorld) -> None:
    booking.stock("HB1001", 2)
    clinic = booking.plan()
    baby = booking.baby("An")
    before = _log_of(booking, baby)
    booked = booking.book(baby, clinic, who="vaccinator")
    with booking.world.sessions() as session:
        detail = session.scalar(
            select(AuditEvent.detail).where(
                AuditEvent.entity_id == booked.id, AuditEvent.action == "create"
            )
        )
    assert _log_of(booking, baby)[len(before) :] == [
        ("read", "forecast", None, "vaccinator"),
        ("create", "appointment", booked.id, "vaccinator"),
    ]
    assert detail == {"session_id": clinic.id, "slot_start": "08:00:00", "cvx": [HEPB]}


def test_a_refused_booking_leaves_no_log_of_it(booking: BookingWorld) -> None:
    booking.stock("HB1001", 1)
    clinic = booking.plan()
    booking.book(booking.baby("An"), clinic)
    baby = booking.baby("Bình")
    before = _log_of(booking, baby)
    refused = _book_over_http(booking, baby, clinic.id, "vaccinator")
    assert refused.status_code == 409  # the one dose is promised to An
    assert _log_of(booking, baby) == before


def test_on_postgresql_the_intake_statement_writes_the_waiting_log(booking: BookingWorld) -> None:
    booking.stock("HB1001", 2)
    clinic = booking.plan()
    baby = booking.baby("An")
    vaccinator = booking.supply.actor("vaccinator")
    with booking.world.sessions() as session, session.begin():
        audit(session, vaccinator, "read", "forecast", person_id=baby)
        intake(session, _new(booking, clinic.id, baby, HEPB))
        written = session.scalar(
            select(func.count()).where(AuditEvent.person_id == baby, AuditEvent.action == "read")
        )
        waiting = take_pending_audit_events(session)
        session.rollback()
    on_postgresql = session.get_bind().dialect.name == "postgresql"
    # One statement on PostgreSQL: the event is in the table already, none waits for the commit.
    # SQLite takes the steps one by one, and the event waits for the commit as every event does.
    assert (written, len(waiting)) == ((1, 0) if on_postgresql else (0, 1))


def _grants(booking: BookingWorld, person_id: str) -> list[tuple[str, str, datetime]]:
    with booking.world.sessions() as session:
        rows = session.execute(
            select(AccessGrant.site_id, AccessGrant.reason, AccessGrant.expires_at).where(
                AccessGrant.person_id == person_id
            )
        )
        return [
            (site, reason, expires.replace(tzinfo=expires.tzinfo or UTC))
            for site, reason, expires in rows
        ]


@pytest.fixture(params=["UTC", "Asia/Ho_Chi_Minh"])
def sites_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The server's (so the sites') time zone for one test."""
    monkeypatch.setenv("TZ", request.param)
    clock.tzset()
    yield request.param
    monkeypatch.undo()
    clock.tzset()


def test_a_parents_booking_lets_the_station_see_the_record_until_the_day_after(
    booking: BookingWorld, sites_zone: str
) -> None:
    booking.stock("HB1001", 2)
    clinic = booking.plan()
    baby = booking.baby("An")
    assert _grants(booking, baby) == []
    booking.book(baby, clinic, who="citizen")
    until = wall_clock(clinic.day + timedelta(days=2), time())
    assert _grants(booking, baby) == [(booking.station, "booked an appointment", until)]


def test_a_vaccinators_booking_or_a_refused_one_grants_nothing(booking: BookingWorld) -> None:
    booking.stock("HB1001", 1)
    clinic = booking.plan()
    staff_booked = booking.baby("An")
    booking.book(staff_booked, clinic, who="vaccinator")
    assert _grants(booking, staff_booked) == []
    refused = booking.baby("Bình")
    answer = _book_over_http(booking, refused, clinic.id, "citizen")
    assert answer.status_code == 409  # the one dose is promised to An
    assert _grants(booking, refused) == []
