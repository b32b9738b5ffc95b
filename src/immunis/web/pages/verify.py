"""The certificate verification page: open to anyone holding a certificate's QR code."""

from __future__ import annotations

from fastapi import APIRouter, Response

from immunis.web.certificate import unseal
from immunis.web.pages.base import PageRoute, Visit
from immunis.web.session import secret_key

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/verify", name="verify")
def verify(page: Visit, c: str = "", s: str = "") -> Response:
    """Genuine: the content the certificate was sealed with. Otherwise a plain warning."""
    certificate = unseal(c, s, secret_key(page.settings)) if c and s else None
    return page.render(
        "verify.html",
        status=200 if certificate else 422,
        title=page.gettext("Certificate check"),
        certificate=certificate,
    )
