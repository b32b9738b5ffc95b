"""A site's staff plan its bookable time: opening hours, vaccines offered, clinic sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from immunis.access.models import AuditEvent
from tests.booking.conftest import HEPB, TODAY, TOMORROW, BookingWorld


def _session(booking: BookingWorld, **changes: Any) -> dict[str, Any]:
    body = {
        "site_id": booking.station,
        "day": TOMORROW.isoformat(),
        "start_time": "08:00",
        "end_time": "11:00",
        "slot_minutes": 30,
        "capacity": 12,
        "vaccines": ["08"],
    }
    return {**body, **changes}


def _post(booking: BookingWorld, body: dict[str, Any], who: str = "vaccinator") -> Any:
    return booking.world.client.post(
        "/api/booking/sessions", json=body, headers=booking.world.headers(who)
    )


def test_a_vaccinator_plans_a_session_of_their_site(booking: BookingWorld) -> None:
    response = _post(booking, _session(booking))
    assert response.status_code == 201, response.text
    planned = response.json()
    assert (planned["status"], planned["booked"], planned["places_per_slot"]) == ("open", 0, 2)
    assert planned["vaccines"] == [HEPB]  # CVX codes are kept without leading zeros
    read = booking.world.client.get(
        f"/api/booking/sessions/{planned['id']}", headers=booking.world.headers("citizen")
    )
    assert read.json() == planned


def test_staff_of_another_site_may_not_plan_here_and_the_refusal_is_audited(
    booking: BookingWorld,
) -> None:
    response = _post(booking, _session(booking), who="vaccinator_hcm")
    assert response.status_code == 403
    assert "may not plan the sessions of site" in response.json()["detail"]
    with booking.world.sessions() as session:
        refused = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
    assert (refused.action, refused.entity_type) == ("plan", "site")


def test_an_administrator_may_plan_any_site(booking: BookingWorld) -> None:
    assert _post(booking, _session(booking), who="admin").status_code == 201


def test_a_session_outside_the_opening_hours_is_refused(booking: BookingWorld) -> None:
    response = _post(booking, _session(booking, start_time="16:00", end_time="18:00"))
    assert response.status_code == 422
    day = TOMORROW.strftime("%A")
    assert response.json()["detail"] == (
        f"the site is not open then: on {day} its hours are 07:00-17:00"
    )


def test_a_session_in_the_past_is_refused(booking: BookingWorld) -> None:
    yesterday = TODAY.toordinal() - 1
    body = _session(booking, day=TODAY.fromordinal(yesterday).isoformat())
    assert _post(booking, body).status_code == 422


def test_a_session_for_a_vaccine_the_site_does_not_offer_is_refused(booking: BookingWorld) -> None:
    response = _post(booking, _session(booking, vaccines=["08", "21"]))
    assert response.status_code == 422
    assert response.json()["detail"] == "the site does not offer CVX 21: offer it first"


def test_a_session_too_short_for_one_slot_is_refused(booking: BookingWorld) -> None:
    response = _post(booking, _session(booking, end_time="08:20"))
    assert response.status_code == 422
    assert "no slot of 30 minutes fits" in response.json()["detail"]


def test_opening_hours_are_replaced_whole_and_may_not_overlap(booking: BookingWorld) -> None:
    url = f"/api/booking/sites/{booking.station}/opening-hours"
    headers = booking.world.headers("vaccinator")
    split_day = [
        {"weekday": 0, "opens": "07:00", "closes": "11:30"},
        {"weekday": 0, "opens": "13:30", "closes": "17:00"},
    ]
    response = booking.world.client.put(url, json=split_day, headers=headers)
    assert response.status_code == 200, response.text
    assert [h["opens"] for h in response.json()] == ["07:00:00", "13:30:00"]
    overlapping = [*split_day, {"weekday": 0, "opens": "11:00", "closes": "12:00"}]
    refused = booking.world.client.put(url, json=overlapping, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["detail"] == "two stretches overlap on Monday (07:00, 11:00)"


def test_a_vaccine_can_be_offered_and_withdrawn(booking: BookingWorld) -> None:
    url = f"/api/booking/sites/{booking.station}/vaccines"
    headers = booking.world.headers("vaccinator")
    withdrawn = booking.world.client.put(url, json={"cvx": "05", "active": False}, headers=headers)
    assert withdrawn.json() == {"cvx": "5", "active": False}
    offered = booking.world.client.get(url, headers=booking.world.headers("citizen")).json()
    assert {v["cvx"]: v["active"] for v in offered} == {
        "18": True,
        "19": True,
        "5": False,
        "8": True,
    }
    unknown = booking.world.client.put(url, json={"cvx": "99999"}, headers=headers)
    assert unknown.status_code == 422


def test_capacity_can_grow_but_not_below_the_people_booked(booking: BookingWorld) -> None:
    booking.stock("HB1001", 20)
    clinic = booking.plan()
    for name, at in (("An", "08:00"), ("Bình", "08:00"), ("Châu", "08:30")):
        booking.book(booking.baby(name), clinic, at=at)
    url = f"/api/booking/sessions/{clinic.id}"
    headers = booking.world.headers("vaccinator")
    refused = booking.world.client.patch(url, json={"capacity": 2}, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["detail"] == "3 people are booked: the capacity cannot go below that"
    changed = booking.world.client.patch(
        url, json={"capacity": 3, "status": "closed"}, headers=headers
    )
    assert (changed.json()["capacity"], changed.json()["status"]) == (3, "closed")
