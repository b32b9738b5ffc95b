"""The citizen's portal: the family's records, what is due, the certificate, a reaction."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from immunis.access.models import AuditEvent
from immunis.web.certificate import Certificate, CertifiedDose, render_pdf, seal
from tests.web.site import WebWorld, csrf_of


def test_the_family_page_shows_the_parent_and_the_child_with_what_is_due(web: WebWorld) -> None:
    page = web.client("citizen").get("/family").text
    assert "Nguyễn Thị Lan" in page
    assert "Trần Minh Khôi" in page
    # The child is 75 days old: the 2-month doses are due.
    assert re.search(r"Dose 1 of Diphtheria, tetanus, pertussis is (due|overdue)", page)


def test_what_is_due_is_said_in_vietnamese_too(web: WebWorld) -> None:
    page = web.client("citizen", language="vi").get(f"/people/{web.people['child']}").text
    assert "Mũi 1" in page
    assert "Bạch hầu, uốn ván, ho gà" in page


def test_a_citizen_cannot_open_another_familys_record(web: WebWorld) -> None:
    answer = web.client("citizen").get(f"/people/{web.people['stranger']}")
    assert answer.status_code == 403
    assert "Phạm" not in answer.text
    with web.world.sessions() as session:
        refusals = session.scalars(
            select(AuditEvent).where(
                AuditEvent.outcome == "denied", AuditEvent.person_id == web.people["stranger"]
            )
        ).all()
    assert [r.channel for r in refusals] == ["web"]


def test_a_citizen_cannot_download_another_familys_certificate(web: WebWorld) -> None:
    answer = web.client("citizen").get(f"/people/{web.people['stranger']}/certificate.pdf")
    assert answer.status_code == 403


def test_the_certificate_is_a_pdf(web: WebWorld) -> None:
    answer = web.client("citizen").get(f"/people/{web.people['child']}/certificate.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")


def _certificate() -> Certificate:
    return Certificate(
        person_id="p-1",
        name="Trần Minh Khôi",
        birth_date=date(2026, 9, 1),
        issued_on=date(2026, 11, 20),
        doses=(CertifiedDose(date(2026, 11, 3), "Quinvaxem", "PENTA01"),),
    )


def test_a_sealed_certificate_verifies_and_shows_what_it_said(web: WebWorld) -> None:
    code, signature = seal(_certificate(), "test-secret")
    page = web.client().get("/verify", params={"c": code, "s": signature})
    assert page.status_code == 200
    assert "This certificate is genuine." in page.text
    assert "Trần Minh Khôi" in page.text
    assert "PENTA01" in page.text


def test_a_changed_certificate_does_not_verify(web: WebWorld) -> None:
    _, signature = seal(_certificate(), "test-secret")
    other_code, _ = seal(
        Certificate(**{**_certificate().__dict__, "name": "Someone Else"}), "test-secret"
    )
    page = web.client().get("/verify", params={"c": other_code, "s": signature})
    assert page.status_code == 422
    assert "could not be verified" in page.text
    assert "Someone Else" not in page.text


def test_a_certificate_sealed_with_another_key_does_not_verify(web: WebWorld) -> None:
    code, signature = seal(_certificate(), "another server's key")
    assert web.client().get("/verify", params={"c": code, "s": signature}).status_code == 422


def test_the_certificate_pdf_prints_vietnamese_names() -> None:
    pdf = render_pdf(_certificate(), "http://127.0.0.1/verify?c=x&s=y", "vi", lambda m: m)
    assert pdf.startswith(b"%PDF")
    assert b"/Image" in pdf  # the QR code


def _report_form(web: WebWorld) -> tuple[object, str, str]:
    browser = web.client("citizen")
    child = web.people["child"]
    form = browser.get(f"/people/{child}/reactions/new").text
    dose_id = re.search(r'name="doses" value="([^"]+)"', form)
    assert dose_id
    return browser, child, dose_id.group(1)


def test_a_reaction_form_with_a_mistake_comes_back_with_everything_typed(web: WebWorld) -> None:
    browser, child, dose_id = _report_form(web)
    answer = browser.post(  # type: ignore[attr-defined]
        f"/people/{child}/reactions",
        data={
            "csrf_token": csrf_of(browser, "/family"),  # type: ignore[arg-type]
            "doses": dose_id,
            "onset_date": "31/02/2026",
            "events": "FEVER",
            "description": "Sốt 39 độ sau tiêm, quấy khóc cả đêm",
            "outcome": "recovering",
            "reporter_phone": "0912345678",
        },
    )
    assert answer.status_code == 422
    assert "Enter the date as day/month/year" in answer.text
    assert "Sốt 39 độ sau tiêm, quấy khóc cả đêm" in answer.text
    assert 'value="31/02/2026"' in answer.text
    assert 'value="FEVER" checked' in answer.text
    assert 'value="0912345678"' in answer.text


def test_a_reported_reaction_reaches_the_safety_officers_queue(web: WebWorld) -> None:
    browser, child, dose_id = _report_form(web)
    answer = browser.post(  # type: ignore[attr-defined]
        f"/people/{child}/reactions",
        data={
            "csrf_token": csrf_of(browser, "/family"),  # type: ignore[arg-type]
            "doses": dose_id,
            "onset_date": date.today().isoformat(),
            "events": "FEVER",
            "description": "High fever the evening after the injection",
            "outcome": "recovering",
        },
    )
    assert answer.status_code == 303
    assert "the reaction is reported" in browser.get(answer.headers["location"]).text  # type: ignore[attr-defined]
    queue = web.client("safety_officer").get("/aefi").text
    assert "FEVER" in queue


def test_the_vaccines_can_be_read_about_without_an_account(web: WebWorld) -> None:
    browser = web.client(language="vi")
    listing = browser.get("/vaccines")
    assert listing.status_code == 200
    page = browser.get("/vaccines/dtp-hepb-hib").text
    assert "bạch hầu" in page
