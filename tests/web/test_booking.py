"""Booking, moving and cancelling an appointment; the vaccinator's day list."""

from __future__ import annotations

import re
from datetime import date, timedelta

from immunis.supply import service as supply
from immunis.supply.release import ReleaseStatus
from tests.web.site import WebWorld, csrf_of


def _slots(page: str) -> list[str]:
    return re.findall(r'name="slot" id="[^"]+" value="([^"]+)"', page)


def _book(web: WebWorld, slot: str | None = None):  # type: ignore[no-untyped-def]
    parent = web.client("citizen")
    child = web.people["child"]
    form = parent.get(f"/people/{child}/appointments/new").text
    chosen = slot or _slots(form)[0]
    return parent, parent.post(
        f"/people/{child}/appointments",
        data={"cvx": ["198", "178"], "slot": chosen, "csrf_token": csrf_of(parent, "/family")},
    )


def test_the_booking_page_offers_the_due_vaccines_and_free_times(web: WebWorld) -> None:
    page = web.client("citizen").get(f"/people/{web.people['child']}/appointments/new").text
    assert "diphtheria, tetanus, pertussis, hepatitis B and Hib" in page
    assert "Trạm Y tế phường Phúc Xá" in page
    assert _slots(page)


def test_a_parent_books_and_sees_the_appointment(web: WebWorld) -> None:
    parent, answer = _book(web)
    assert answer.status_code == 303
    record = parent.get(answer.headers["location"]).text
    assert "The appointment is booked." in record
    assert "Cancel the appointment" in record


def test_a_booking_without_a_time_comes_back_with_the_vaccines_still_chosen(
    web: WebWorld,
) -> None:
    parent = web.client("citizen")
    answer = parent.post(
        f"/people/{web.people['child']}/appointments",
        data={"cvx": ["198"], "csrf_token": csrf_of(parent, "/family")},
    )
    assert answer.status_code == 422
    assert "Choose a time" in answer.text
    assert 'value="198" checked' in answer.text
    assert 'value="178" checked' not in answer.text


def test_a_slot_that_does_not_exist_is_refused_plainly(web: WebWorld) -> None:
    _, answer = _book(web, slot=f"{web.sessions[date.today()]}@03:07")
    assert answer.status_code == 422
    assert "This booking cannot be made" in answer.text


def test_a_parent_moves_the_appointment_to_tomorrow(web: WebWorld) -> None:
    parent, answer = _book(web)
    record = parent.get(answer.headers["location"]).text
    appointment = re.search(r'/appointments/([^/"]+)/move', record)
    assert appointment
    tomorrow = web.sessions[date.today() + timedelta(days=1)]
    moved = parent.post(
        f"/appointments/{appointment.group(1)}/move",
        data={"slot": f"{tomorrow}@08:00", "csrf_token": csrf_of(parent, "/family")},
    )
    assert moved.status_code == 303
    assert "08:00 to 08:15" in parent.get(moved.headers["location"]).text


def test_a_parent_cancels_the_appointment(web: WebWorld) -> None:
    parent, answer = _book(web)
    record = parent.get(answer.headers["location"]).text
    appointment = re.search(r'/appointments/([^/"]+)/cancel', record)
    assert appointment
    cancelled = parent.post(
        f"/appointments/{appointment.group(1)}/cancel",
        data={"csrf_token": csrf_of(parent, "/family")},
    )
    assert cancelled.status_code == 303
    assert "No appointment booked." in parent.get(cancelled.headers["location"]).text


def test_another_family_cannot_book_for_the_child(web: WebWorld) -> None:
    stranger = web.client("vaccinator_hcm")
    answer = stranger.get(f"/people/{web.people['child']}/appointments/new")
    assert answer.status_code == 403


def _checked_in(web: WebWorld):  # type: ignore[no-untyped-def]
    _book(web)
    vaccinator = web.client("vaccinator")
    day = vaccinator.get("/clinic/today").text
    assert "Trần Minh Khôi" in day
    appointment = re.search(r'/appointments/([^/"]+)/check-in', day)
    assert appointment
    vaccinator.post(
        f"/appointments/{appointment.group(1)}/check-in",
        data={"csrf_token": csrf_of(vaccinator, "/clinic")},
    )
    return vaccinator, appointment.group(1)


def test_the_vaccinator_records_the_doses_of_a_checked_in_appointment(web: WebWorld) -> None:
    vaccinator, appointment = _checked_in(web)
    answer = vaccinator.post(
        f"/appointments/{appointment}/doses",
        data={"lot_198": "penta01", "lot_178": "", "csrf_token": csrf_of(vaccinator, "/clinic")},
    )
    assert answer.status_code == 303
    record = web.client("citizen").get(f"/people/{web.people['child']}").text
    assert "PENTA01" in record
    assert "OPV01" in record  # the lot to use first, as none was typed


def test_a_lot_that_may_not_be_used_is_refused_at_the_appointment(web: WebWorld) -> None:
    vaccinator, appointment = _checked_in(web)
    answer = vaccinator.post(
        f"/appointments/{appointment}/doses",
        data={"lot_198": "penta02", "csrf_token": csrf_of(vaccinator, "/clinic")},
    )
    assert answer.status_code == 422
    assert "waiting for release" in answer.text
    assert 'value="penta02"' in answer.text


def test_the_day_list_warns_when_the_stock_no_longer_covers_the_people_booked(
    web: WebWorld,
) -> None:
    _book(web)
    vaccinator = web.client("vaccinator")
    assert "Not enough" not in vaccinator.get("/clinic/today").text
    # The laboratory holds the only pentavalent lot back after the booking was made.
    web.run(
        "lab",
        supply.set_release_status,
        web.lots["PENTA01"],
        ReleaseStatus.QUARANTINED,
        "cold chain",
    )
    day = vaccinator.get("/clinic/today").text
    assert 'id="shortfall-198"' in day
    assert "from today on: 1. Usable doses in stock today: 0. Appointments without a dose: 1" in day
    assert "No dose in stock: Combination vaccine for diphtheria" in day
    assert 'id="shortfall-178"' not in day  # the polio lot still covers the booking
    vietnamese = web.client("vaccinator", language="vi").get("/clinic/today").text
    assert "Không còn liều trong kho: " in vietnamese
