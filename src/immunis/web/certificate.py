"""Vaccination certificates: the record's content sealed with an HMAC, printed as a PDF with a QR
code that opens the verification page.

The seal covers exactly what the certificate shows (name, birth date, doses, issue date), packed
into the QR code itself: `/verify` checks it with the server's key and shows the content back, so
a verifier needs no account and reads no more than the holder chose to show. The key is derived
from the server's secret key for this one purpose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib
from binascii import Error as Base64Error
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from pathlib import Path

import matplotlib
import segno
from fpdf import FPDF

from immunis.registry.schemas import ImmunizationOut, PersonOut
from immunis.web.i18n import format_day

VERSION = 1
# DejaVu Sans has every Vietnamese letter; matplotlib, already a dependency, ships it.
FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@dataclass(frozen=True)
class CertifiedDose:
    given_on: date
    vaccine: str
    lot_number: str


@dataclass(frozen=True)
class Certificate:
    """What a certificate says, and nothing more."""

    person_id: str
    name: str
    birth_date: date
    issued_on: date
    doses: tuple[CertifiedDose, ...]


def certificate_of(
    person: PersonOut,
    doses: list[ImmunizationOut],
    issued_on: date,
    vaccine_name: Callable[[ImmunizationOut], str],
) -> Certificate:
    """The certificate of a person's completed doses, oldest first."""
    return Certificate(
        person_id=person.id,
        name=f"{person.family_name} {person.given_name}",
        birth_date=person.birth_date,
        issued_on=issued_on,
        doses=tuple(
            CertifiedDose(d.date_administered, vaccine_name(d), d.lot_number or "")
            for d in sorted(doses, key=lambda d: d.date_administered)
            if d.status == "completed"
        ),
    )


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"immunis certificate seal", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(certificate: Certificate, secret: str) -> tuple[str, str]:
    """The certificate packed for the QR code, and its signature."""
    content = {
        "v": VERSION,
        "p": certificate.person_id,
        "n": certificate.name,
        "b": certificate.birth_date.isoformat(),
        "i": certificate.issued_on.isoformat(),
        "d": [[d.given_on.isoformat(), d.vaccine, d.lot_number] for d in certificate.doses],
    }
    packed = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    code = _b64(zlib.compress(packed, 9))
    return code, _b64(hmac.new(_key(secret), code.encode(), hashlib.sha256).digest())


def unseal(code: str, signature: str, secret: str) -> Certificate | None:
    """The certificate if the signature is the server's for exactly this content, else None."""
    expected = _b64(hmac.new(_key(secret), code.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        content = json.loads(zlib.decompress(_unb64(code)))
    except (Base64Error, zlib.error, ValueError):
        return None
    if content.get("v") != VERSION:
        return None
    return Certificate(
        person_id=content["p"],
        name=content["n"],
        birth_date=date.fromisoformat(content["b"]),
        issued_on=date.fromisoformat(content["i"]),
        doses=tuple(CertifiedDose(date.fromisoformat(d), v, lot) for d, v, lot in content["d"]),
    )


def render_pdf(
    certificate: Certificate, verify_url: str, language: str, gettext: Callable[[str], str]
) -> bytes:
    """An A4 certificate: who, every dose, and the QR code of the verification link."""
    pdf = FPDF(format="A4")
    pdf.set_title(gettext("Vaccination certificate"))
    pdf.set_author("immunis")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 20)
    pdf.cell(0, 12, gettext("Vaccination certificate"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 12)
    for label, value in (
        (gettext("Name"), certificate.name),
        (gettext("Date of birth"), format_day(certificate.birth_date, language)),
        (gettext("Issued on"), format_day(certificate.issued_on, language)),
    ):
        pdf.set_font("DejaVu", "B", 12)
        pdf.cell(45, 8, label)
        pdf.set_font("DejaVu", "", 12)
        pdf.cell(0, 8, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 10)
    with pdf.table(col_widths=(30, 110, 40), first_row_as_headings=True) as table:
        table.row([gettext("Date"), gettext("Vaccine"), gettext("Lot")])
        for dose in certificate.doses:
            table.row([format_day(dose.given_on, language, "short"), dose.vaccine, dose.lot_number])
    if not certificate.doses:
        pdf.cell(0, 8, gettext("No doses are recorded."), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    qr = BytesIO()
    segno.make(verify_url, error="m").save(qr, kind="png", scale=4, border=2)
    qr.seek(0)
    top = pdf.get_y()
    pdf.image(qr, x=pdf.l_margin, y=top, w=45)
    pdf.set_xy(pdf.l_margin + 50, top)
    pdf.multi_cell(
        0,
        6,
        gettext(
            "Scan the code to check this certificate: the verification page shows what the "
            "record said when the certificate was issued, if the certificate is genuine."
        ),
    )
    return bytes(pdf.output())
