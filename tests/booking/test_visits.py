"""After booking: check-in, the doses recorded from the appointment (into the person's record and
out of the site's stock, in one transaction), cancelling, rescheduling and no-shows."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from immunis.booking import counters, planning, service
from immunis.booking.schemas import AppointmentOut, DoseGiven, DosesIn, RescheduleIn
from immunis.errors import Conflict, InvalidInput
from immunis.registry import service as registry
from immunis.registry.models import Immunization
from immunis.supply import service as supply
from immunis.supply.models import StockMovement
from immunis.supply.release import ReleaseStatus
from tests.booking.conftest import BCG, HEPB, MEASLES, NOW, TODAY, TOMORROW, BookingWorld

NOON = datetime.combine(TODAY, time(12)).astimezone()


def _arrived(booking: BookingWorld, *, vaccines: tuple[str, ...] = (HEPB,)) -> AppointmentOut:
    """A baby booked into this morning's session and checked in."""
    clinic = booking.plan(day=TODAY, start="08:00", end="11:00")
    booked = booking.book(booking.baby(), clinic, vaccines=vaccines)
    return booking.as_("vaccinator", service.check_in, booked.id, NOW)  # type: ignore[no-any-return]


def _record(booking: BookingWorld, appointment_id: str, body: dict | None = None) -> object:  # type: ignore[type-arg]
    return booking.world.client.post(
        f"/api/booking/appointments/{appointment_id}/doses",
        json=body,
        headers=booking.world.headers("vaccinator"),
    )


def _reserved(booking: BookingWorld, cvx: str) -> int:
    with booking.world.sessions() as session:
        return counters.reserved(session, booking.station, [cvx]).get(cvx, 0)


def _booked(booking: BookingWorld, session_id: str) -> int:
    return booking.as_("citizen", planning.get_session, session_id).booked  # type: ignore[no-any-return]


def test_the_dose_recorded_from_the_appointment_is_in_the_forecast_and_out_of_stock(
    booking: BookingWorld,
) -> None:
    lot = booking.stock("HB1001", 10)
    visit = _arrived(booking)
    assert (visit.status, _reserved(booking, HEPB)) == ("checked_in", 1)

    response = _record(booking, visit.id)

    assert response.status_code == 201, response.text
    done = response.json()
    assert done["status"] == "completed"
    [dose_id] = done["immunization_ids"]
    dose = booking.as_("vaccinator", registry.get_immunization, dose_id)
    assert (dose.cvx, dose.lot_number, dose.site_id, dose.date_administered) == (
        HEPB,
        "HB1001",
        booking.station,
        TODAY,
    )
    assert (dose.external_id.system, dose.external_id.value) == (
        "urn:immunis:appointment-dose",
        f"{visit.id}/{HEPB}",
    )
    assert booking.supply.balance("station", lot) == 9
    assert _reserved(booking, HEPB) == 0
    _, answer = booking.as_("citizen", registry.person_forecast, visit.person_id, TODAY, "vn")
    given = [d.dose_id for d in answer.vaccine_groups["HepB"].doses]
    assert given == [dose_id]


def test_recording_again_changes_nothing_and_answers_the_same_doses(
    booking: BookingWorld,
) -> None:
    lot = booking.stock("HB1001", 10)
    visit = _arrived(booking)
    first = _record(booking, visit.id)
    again = _record(booking, visit.id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert booking.supply.balance("station", lot) == 9
    with booking.world.sessions() as session:
        doses = session.scalar(select(func.count()).select_from(Immunization))
        taken = session.scalar(select(func.count()).where(StockMovement.kind == "administered"))
    assert (doses, taken) == (1, 1)
    assert _reserved(booking, HEPB) == 0


def test_a_multi_dose_vial_is_opened_by_the_first_dose_of_the_session(
    booking: BookingWorld,
) -> None:
    lot = booking.stock("BCG2001", 100, cvx=BCG, doses_per_vial=10, hours=6)
    visit = _arrived(booking, vaccines=(BCG,))
    assert _record(booking, visit.id).status_code == 201
    assert booking.supply.balance("station", lot) == 99
    slots = booking.as_("citizen", service.list_slots, booking.station, TODAY, TODAY, [BCG], NOW)
    assert slots[0].fills_open_vial


def test_a_dose_from_a_lot_quarantined_since_booking_is_refused_and_nothing_is_written(
    booking: BookingWorld,
) -> None:
    lot = booking.stock("HB1001", 10)
    visit = _arrived(booking)
    booking.as_("lab", supply.set_release_status, lot, ReleaseStatus.QUARANTINED, "AEFI cluster")
    response = _record(booking, visit.id, {"doses": [{"cvx": "08", "lot_number": "HB1001"}]})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "lot HB1001 is in quarantine (AEFI cluster): do not use it"
    )
    assert booking.as_("citizen", service.get_appointment, visit.id).status == "checked_in"
    assert booking.supply.balance("station", lot) == 10


def test_doses_are_recorded_only_after_check_in(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    clinic = booking.plan(day=TODAY)
    booked = booking.book(booking.baby(), clinic)
    response = _record(booking, booked.id)
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "a booked appointment cannot be completed (only a checked_in one)"
    )


def test_a_vaccine_left_out_is_given_back_and_cannot_be_recorded_later(
    booking: BookingWorld,
) -> None:
    booking.stock("HB1001", 10)
    booking.stock("BCG2001", 100, cvx=BCG, doses_per_vial=10, hours=6)
    visit = _arrived(booking, vaccines=(BCG, HEPB))
    only_bcg = DosesIn(doses=[DoseGiven(cvx=BCG)])
    done, _ = booking.as_("vaccinator", service.record_doses, visit.id, only_bcg, NOW)
    assert len(done.immunization_ids) == 1
    assert (_reserved(booking, BCG), _reserved(booking, HEPB)) == (0, 0)
    late = DosesIn(doses=[DoseGiven(cvx=HEPB)])
    with pytest.raises(Conflict, match="completed without CVX 8: record a later dose"):
        booking.as_("vaccinator", service.record_doses, visit.id, late, NOW)


def test_check_in_is_on_the_appointments_day_by_its_sites_staff(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    booked = booking.book(booking.baby(), booking.plan(day=TOMORROW))
    with pytest.raises(InvalidInput, match=f"check-in is on the appointment's day, {TOMORROW}"):
        booking.as_("vaccinator", service.check_in, booked.id, NOW)
    response = booking.world.client.post(
        f"/api/booking/appointments/{booked.id}/check-in",
        headers=booking.world.headers("vaccinator_hcm"),
    )
    assert response.status_code == 403


def test_cancelling_gives_back_the_place_and_the_dose(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    clinic = booking.plan()
    booked = booking.book(booking.baby(), clinic)
    assert (_booked(booking, clinic.id), _reserved(booking, HEPB)) == (1, 1)
    url = f"/api/booking/appointments/{booked.id}/cancel"
    response = booking.world.client.post(url, headers=booking.world.headers("citizen"))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert (_booked(booking, clinic.id), _reserved(booking, HEPB)) == (0, 0)
    again = booking.world.client.post(url, headers=booking.world.headers("citizen"))
    assert again.json() == response.json()
    assert (_booked(booking, clinic.id), _reserved(booking, HEPB)) == (0, 0)


def test_rescheduling_books_the_new_slot_and_frees_the_old(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    morning = booking.plan()
    later = booking.plan(day=TOMORROW + timedelta(days=1))
    booked = booking.book(booking.baby(), morning)
    response = booking.world.client.post(
        f"/api/booking/appointments/{booked.id}/reschedule",
        json={"session_id": later.id, "slot_start": "09:00"},
        headers=booking.world.headers("citizen"),
    )
    assert response.status_code == 201, response.text
    moved = response.json()
    assert (moved["session_id"], moved["slot_start"], moved["rescheduled_from"]) == (
        later.id,
        "09:00:00",
        booked.id,
    )
    assert booking.as_("citizen", service.get_appointment, booked.id).status == "cancelled"
    assert (_booked(booking, morning.id), _booked(booking, later.id)) == (0, 1)
    assert _reserved(booking, HEPB) == 1


def test_rescheduling_within_a_full_session_moves_to_a_free_slot(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    clinic = booking.plan(end="09:00", capacity=2)
    first = booking.book(booking.baby("An"), clinic, at="08:00")
    moved = booking.as_(
        "citizen",
        service.reschedule,
        first.id,
        RescheduleIn(session_id=clinic.id, slot_start=time(8, 30)),
        NOW,
    )
    assert moved.slot_start == time(8, 30)
    assert _booked(booking, clinic.id) == 1


def test_a_reschedule_that_cannot_be_had_changes_nothing(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    morning = booking.plan()
    full = booking.plan(day=TOMORROW + timedelta(days=1), end="08:30", capacity=1)
    booking.book(booking.baby("Bình"), full)
    booked = booking.book(booking.baby("An"), morning)
    with pytest.raises(Conflict, match="no place left"):
        booking.as_(
            "citizen",
            service.reschedule,
            booked.id,
            RescheduleIn(session_id=full.id, slot_start=time(8)),
            NOW,
        )
    assert booking.as_("citizen", service.get_appointment, booked.id).status == "booked"
    assert (_booked(booking, morning.id), _booked(booking, full.id)) == (1, 1)
    assert _reserved(booking, HEPB) == 2


def test_a_reschedule_to_a_day_when_the_dose_is_not_due_is_refused(booking: BookingWorld) -> None:
    booking.stock("M3001", 10, cvx=MEASLES)
    nine_months_on = TOMORROW + timedelta(days=1)  # old enough then, not tomorrow
    baby = booking.baby(days_old=(TODAY - (nine_months_on - relativedelta(months=9))).days)
    later = booking.plan(day=TOMORROW + timedelta(days=1))
    booked = booking.book(baby, later, vaccines=(MEASLES,))
    with pytest.raises(InvalidInput, match="not due yet"):
        booking.as_(
            "citizen",
            service.reschedule,
            booked.id,
            RescheduleIn(session_id=booking.plan().id, slot_start=time(8)),
            NOW,
        )
    assert booking.as_("citizen", service.get_appointment, booked.id).status == "booked"


def test_a_no_show_is_marked_after_the_session_and_gives_the_dose_back(
    booking: BookingWorld,
) -> None:
    booking.stock("HB1001", 10)
    clinic = booking.plan(day=TODAY, end="11:00")
    booked = booking.book(booking.baby(), clinic)
    with pytest.raises(InvalidInput, match="a no-show is marked after the session"):
        booking.as_("vaccinator", service.mark_no_show, booked.id, NOW)
    missed = booking.as_("vaccinator", service.mark_no_show, booked.id, NOON)
    assert missed.status == "no_show"
    assert (_booked(booking, clinic.id), _reserved(booking, HEPB)) == (1, 0)


def test_the_day_list_shows_the_sites_appointments_with_the_people(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    clinic = booking.plan()
    for name, at in (("Bình", "09:00"), ("An", "08:00")):
        booking.book(booking.baby(name), clinic, at=at)
    response = booking.world.client.get(
        f"/api/booking/sites/{booking.station}/day-list",
        params={"day": TOMORROW.isoformat()},
        headers=booking.world.headers("vaccinator"),
    )
    assert response.status_code == 200, response.text
    listed = [(e["appointment"]["slot_start"], e["person"]["given_name"]) for e in response.json()]
    assert listed == [("08:00:00", "An"), ("09:00:00", "Bình")]
    other = booking.world.client.get(
        f"/api/booking/sites/{booking.station}/day-list",
        headers=booking.world.headers("citizen"),
    )
    assert other.status_code == 403


def test_a_citizen_sees_their_babys_appointments(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    baby = booking.baby()
    booked = booking.book(baby, booking.plan())
    response = booking.world.client.get(
        "/api/booking/appointments",
        params={"person_id": baby},
        headers=booking.world.headers("citizen"),
    )
    assert [a["id"] for a in response.json()] == [booked.id]
    stranger = booking.world.client.get(
        f"/api/booking/appointments/{booked.id}", headers=booking.world.headers("vaccinator_hcm")
    )
    assert stranger.status_code == 403
