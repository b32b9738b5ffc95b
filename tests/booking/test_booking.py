"""Booking a slot: for oneself or a dependant, the doses the forecast says are due (or a services
vaccine), within capacity and usable stock; every refusal says why."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from httpx import Response
from sqlalchemy import select

from immunis.access.models import AuditEvent
from immunis.booking import counters
from immunis.booking.schemas import SessionOut
from immunis.registry import service as registry
from immunis.registry.schemas import GuardianLink, PersonIn
from immunis.supply import service as supply
from immunis.supply.release import ReleaseStatus
from tests.booking.conftest import (
    BCG,
    HEPB,
    HO_CHI_MINH,
    MEASLES,
    RABIES,
    TODAY,
    TOMORROW,
    BookingWorld,
)


def _book(
    booking: BookingWorld,
    person_id: str,
    clinic: SessionOut,
    *,
    at: str = "08:00",
    vaccines: tuple[str, ...] = ("08",),
    who: str = "citizen",
) -> Response:
    body = {
        "person_id": person_id,
        "session_id": clinic.id,
        "slot_start": at,
        "vaccines": list(vaccines),
        "schedule": "vn",
    }
    return booking.world.client.post(
        "/api/booking/appointments", json=body, headers=booking.world.headers(who)
    )


def _slots(booking: BookingWorld, vaccine: str = "08", who: str = "citizen") -> list[Any]:
    response = booking.world.client.get(
        "/api/booking/slots",
        params={"site_id": booking.station, "vaccine": vaccine, "from": TOMORROW.isoformat()},
        headers=booking.world.headers(who),
    )
    assert response.status_code == 200, response.text
    return list(response.json())


def _reserved(booking: BookingWorld, cvx: str) -> int:
    with booking.world.sessions() as session:
        return counters.reserved(session, booking.station, [cvx]).get(cvx, 0)


def test_a_citizen_books_a_due_dose_for_their_baby(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    clinic = booking.plan()
    baby = booking.baby()
    assert _slots(booking)[0]["places_left"] == 2

    response = _book(booking, baby, clinic)

    assert response.status_code == 201, response.text
    booked = response.json()
    assert (booked["person_id"], booked["status"], booked["vaccines"]) == (baby, "booked", [HEPB])
    assert (booked["day"], booked["slot_start"], booked["slot_end"]) == (
        TOMORROW.isoformat(),
        "08:00:00",
        "08:30:00",
    )
    assert _slots(booking)[0]["places_left"] == 1
    assert _reserved(booking, HEPB) == 1
    with booking.world.sessions() as session:
        made = session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "appointment", AuditEvent.action == "create"
            )
        ).one()
    assert (made.entity_id, made.person_id) == (booked["id"], baby)


def test_a_citizen_may_not_book_for_someone_elses_child(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    clinic = booking.plan()
    stranger = booking.baby("Dũng", guardian=False)
    response = _book(booking, stranger, clinic)
    assert response.status_code == 403
    assert response.json()["detail"] == "citizen (citizen) may not read this person's record"
    assert _reserved(booking, HEPB) == 0
    with booking.world.sessions() as session:
        refused = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
    assert refused.person_id == stranger


def test_a_dose_not_due_yet_is_refused_with_its_earliest_date(booking: BookingWorld) -> None:
    clinic = booking.plan()
    response = _book(booking, booking.baby(), clinic, vaccines=(MEASLES,))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith(f"CVX 5 (measles): not due yet on {TOMORROW}; the earliest date is ")


def test_a_series_already_complete_is_refused(booking: BookingWorld) -> None:
    booking.stock("BCG2001", 100, cvx=BCG, doses_per_vial=10, hours=6)
    baby = booking.baby()
    booking.supply.give(baby, "BCG2001", cvx=BCG)
    response = _book(booking, baby, booking.plan(), vaccines=(BCG,))
    assert response.status_code == 422
    assert response.json()["detail"] == "CVX 19 (BCG): the BCG series is complete"


def test_a_services_vaccine_the_schedule_does_not_recommend_may_be_chosen(
    booking: BookingWorld,
) -> None:
    booking.stock("RAB3001", 5, cvx=RABIES)
    response = _book(booking, booking.baby(), booking.plan(), vaccines=(RABIES,))
    assert response.status_code == 201, response.text


def test_a_full_slot_and_a_full_session_are_refused(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    clinic = booking.plan(end="09:00", capacity=2)  # two slots of one place
    assert _book(booking, booking.baby("An"), clinic, at="08:00").status_code == 201
    second = _book(booking, booking.baby("Bình"), clinic, at="08:00")
    assert second.status_code == 409
    assert second.json()["detail"] == f"no place left in the 08:00 slot on {TOMORROW}"
    assert _book(booking, booking.baby("Châu"), clinic, at="08:30").status_code == 201
    full = _book(booking, booking.baby("Dũng"), clinic, at="08:30")
    assert full.status_code == 409
    assert full.json()["detail"] == f"no place left in the session on {TOMORROW} from 08:00"
    assert _slots(booking) == []


def test_a_booking_is_capped_by_the_stock_not_yet_promised(booking: BookingWorld) -> None:
    booking.stock("HB1001", 1)
    clinic = booking.plan()
    assert _book(booking, booking.baby("An"), clinic).status_code == 201
    refused = _book(booking, booking.baby("Bình"), clinic, at="08:30")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"CVX 8 (Hep B, adolescent or pediatric): no dose left to book for {TOMORROW} at this "
        "site (1 released, unexpired doses on hand, 1 already booked)"
    )
    assert _slots(booking) == []  # the session has no dose left to promise


def test_stock_of_a_lot_not_released_or_expired_by_the_day_cannot_be_booked(
    booking: BookingWorld,
) -> None:
    booking.stock("HB-PENDING", 50, status=ReleaseStatus.PENDING)
    quarantined = booking.stock("HB-QUARANTINED", 50)
    booking.as_("lab", supply.set_release_status, quarantined, ReleaseStatus.QUARANTINED, "AEFI")
    booking.stock("HB-EXPIRING", 50, expiry=TODAY)  # expires before tomorrow's session
    refused = _book(booking, booking.baby(), booking.plan())
    assert refused.status_code == 409
    assert "(0 released, unexpired doses on hand, 0 already booked)" in refused.json()["detail"]


def test_a_closed_session_takes_no_booking(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    clinic = booking.plan()
    booking.world.client.patch(
        f"/api/booking/sessions/{clinic.id}",
        json={"status": "closed"},
        headers=booking.world.headers("vaccinator"),
    )
    refused = _book(booking, booking.baby(), clinic)
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"the session on {TOMORROW} at 08:00 is closed to bookings"


def test_a_slot_that_is_not_in_the_session_is_refused(booking: BookingWorld) -> None:
    refused = _book(booking, booking.baby(), booking.plan(), at="08:15")
    assert refused.status_code == 422
    assert refused.json()["detail"] == (
        "no slot starts at 08:15 in this session; they start at "
        "08:00, 08:30, 09:00, 09:30, 10:00, 10:30"
    )


def test_booking_lets_the_site_see_a_dependant_registered_elsewhere(
    booking: BookingWorld,
) -> None:
    booking.stock("HB1001", 10)
    mother = booking.world.people["mother"]
    visitor = booking.run(
        registry.create_person,
        booking.supply.actor("vaccinator_hcm"),
        PersonIn(
            family_name="Lê",
            given_name="Minh",
            birth_date=TODAY - timedelta(days=70),
            address=HO_CHI_MINH,
            guardians=[GuardianLink(guardian_id=mother, relationship="mother")],
        ),
    ).id
    url = f"/api/persons/{visitor}"
    headers = booking.world.headers("vaccinator")
    assert booking.world.client.get(url, headers=headers).status_code == 403
    assert _book(booking, visitor, booking.plan()).status_code == 201
    assert booking.world.client.get(url, headers=headers).status_code == 200


def test_the_site_staff_book_a_person_of_their_site_but_not_elsewhere(
    booking: BookingWorld,
) -> None:
    booking.stock("HB1001", 10)
    baby = booking.baby(guardian=False)
    assert _book(booking, baby, booking.plan(), who="vaccinator").status_code == 201
    assert _book(booking, baby, booking.plan(), who="vaccinator_hcm").status_code == 403


def test_a_second_booking_for_the_same_vaccine_is_refused(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    baby = booking.baby()
    assert _book(booking, baby, booking.plan()).status_code == 201
    again = _book(booking, baby, booking.plan(day=TOMORROW + timedelta(days=1)))
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"already booked for CVX 8 on {TOMORROW}: reschedule that appointment"
    )
