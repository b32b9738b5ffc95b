"""Booking over FHIR R4: a site's Schedule, its Slots, and Appointments booked, read, searched and
cancelled."""

from __future__ import annotations

from typing import Any

from tests.booking.conftest import HEPB, TOMORROW, BookingWorld
from tests.interop.fhir.helpers import CVX, issue, send, valid_r4


def _appointment(patient_id: str, slot_id: str, **changes: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "Appointment",
        "status": "booked",
        "serviceType": [{"coding": [{"system": CVX, "code": "08"}]}],
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
    }
    resource.update(changes)
    return resource


def _free_slot(booking: BookingWorld) -> dict[str, Any]:
    bundle = send(
        booking.world,
        "GET",
        f"/fhir/Slot?schedule=Schedule/{booking.station}&start={TOMORROW}"
        f"&service-type={CVX}|08&status=free",
        "citizen",
    ).json()
    return dict(bundle["entry"][0]["resource"])


def test_a_site_is_a_schedule_of_the_vaccines_it_offers(booking: BookingWorld) -> None:
    response = send(booking.world, "GET", f"/fhir/Schedule/{booking.station}", "citizen")
    assert response.status_code == 200, response.text
    schedule = valid_r4(response.json())
    assert schedule["active"] is True
    assert schedule["actor"][0]["reference"] == f"Location/{booking.station}"
    codes = [c["coding"][0]["code"] for c in schedule["serviceType"]]
    assert codes == ["18", "19", "5", "8"]
    assert schedule["comment"].startswith("Open Monday 07:00-17:00; Tuesday 07:00-17:00")
    found = send(booking.world, "GET", "/fhir/Schedule?service-type=08", "citizen").json()
    assert [e["resource"]["id"] for e in found["entry"]] == [booking.station]
    none = send(booking.world, "GET", "/fhir/Schedule?service-type=21", "citizen").json()
    assert none["total"] == 0


def test_slots_are_free_while_places_are_left(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    clinic = booking.plan(end="09:00", capacity=2)
    booking.book(booking.baby("An"), clinic, at="08:00")
    url = f"/fhir/Slot?schedule=Schedule/{booking.station}&start={TOMORROW}&service-type=08"
    bundle = valid_r4(send(booking.world, "GET", url, "citizen").json())
    slots = [valid_r4(e["resource"]) for e in bundle["entry"]]
    assert [(s["id"], s["status"]) for s in slots] == [
        (f"{clinic.id}.0800", "busy"),
        (f"{clinic.id}.0830", "free"),
    ]
    read = valid_r4(send(booking.world, "GET", f"/fhir/Slot/{clinic.id}.0830", "citizen").json())
    assert read["schedule"] == {"reference": f"Schedule/{booking.station}"}
    assert read["extension"][0]["valueUnsignedInt"] == 1
    assert read["start"].startswith(f"{TOMORROW}T08:30:00")
    missing = send(booking.world, "GET", f"/fhir/Slot/{clinic.id}.0815", "citizen")
    assert missing.status_code == 404


def test_an_appointment_created_over_fhir_is_a_booking(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    booking.plan()
    baby = booking.baby()
    slot = _free_slot(booking)

    response = send(
        booking.world, "POST", "/fhir/Appointment", "citizen", _appointment(baby, slot["id"])
    )

    assert response.status_code == 201, response.text
    booked = valid_r4(response.json())
    assert response.headers["location"].endswith(f"/fhir/Appointment/{booked['id']}")
    assert booked["status"] == "booked"
    assert booked["slot"] == [{"reference": f"Slot/{slot['id']}"}]
    assert booked["start"] == slot["start"]
    assert {p["actor"]["reference"] for p in booked["participant"]} == {
        f"Patient/{baby}",
        f"Location/{booking.station}",
    }
    assert booked["serviceType"][0]["coding"][0]["code"] == HEPB
    read = send(booking.world, "GET", f"/fhir/Appointment/{booked['id']}", "citizen").json()
    assert read == booked
    found = send(booking.world, "GET", f"/fhir/Appointment?patient=Patient/{baby}", "citizen")
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [booked["id"]]


def test_an_appointment_is_cancelled_by_an_update_to_cancelled(booking: BookingWorld) -> None:
    booking.stock("HB1001", 10)
    booking.plan()
    created = send(
        booking.world,
        "POST",
        "/fhir/Appointment",
        "citizen",
        _appointment(booking.baby(), _free_slot(booking)["id"]),
    ).json()
    url = f"/fhir/Appointment/{created['id']}"
    unchanged = send(booking.world, "PUT", url, "citizen", created)
    assert unchanged.status_code == 200
    assert unchanged.json()["status"] == "booked"
    arrived = send(booking.world, "PUT", url, "citizen", {**created, "status": "arrived"})
    assert arrived.status_code == 422
    assert issue(arrived)["code"] == "business-rule"

    cancelled = send(booking.world, "PUT", url, "citizen", {**created, "status": "cancelled"})

    assert cancelled.status_code == 200, cancelled.text
    assert valid_r4(cancelled.json())["status"] == "cancelled"
    assert _free_slot(booking)["extension"][0]["valueUnsignedInt"] == 2


def test_a_booking_refused_by_the_service_is_an_operation_outcome(booking: BookingWorld) -> None:
    slot_id = f"{booking.plan().id}.0800"  # no stock: not free, but there
    stranger = booking.baby("Dũng", guardian=False)
    forbidden = send(
        booking.world, "POST", "/fhir/Appointment", "citizen", _appointment(stranger, slot_id)
    )
    assert forbidden.status_code == 403
    assert issue(forbidden)["code"] == "forbidden"
    no_stock = send(
        booking.world,
        "POST",
        "/fhir/Appointment",
        "citizen",
        _appointment(booking.baby(), slot_id),
    )
    assert no_stock.status_code == 409
    assert "no dose left to book" in issue(no_stock)["diagnostics"]


def test_an_appointment_fhir_cannot_book_is_refused_with_the_elements_at_fault(
    booking: BookingWorld,
) -> None:
    unreadable = send(
        booking.world,
        "POST",
        "/fhir/Appointment",
        "citizen",
        _appointment("x", "not-a-slot", status="fulfilled", serviceType=[]),
    )
    assert unreadable.status_code == 422
    where = {i["expression"][0] for i in unreadable.json()["issue"]}
    assert where == {
        "Appointment.status",
        "Appointment.slot[0].reference",
        "Appointment.serviceType",
    }
    bad_code = send(
        booking.world, "POST", "/fhir/Appointment", "citizen", _appointment("x", "y", status="done")
    )
    assert bad_code.status_code == 400
    assert issue(bad_code)["expression"] == ["Appointment.status"]
    deleted = send(booking.world, "DELETE", "/fhir/Appointment/x", "citizen")
    assert deleted.status_code == 405
