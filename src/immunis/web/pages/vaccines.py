"""Reading about each vaccine: the education room's content, in the visitor's language. Public:
a parent may read it before they have an account."""

from __future__ import annotations

from fastapi import APIRouter, Response

from immunis.education import service as education
from immunis.web.pages.base import PageRoute, Visit

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/vaccines")
def vaccines(page: Visit) -> Response:
    return page.render(
        "vaccines.html",
        title=page.gettext("About the vaccines"),
        vaccines=sorted(education.list_vaccines(page.language), key=lambda v: v.name.lower()),
    )


@router.get("/vaccines/{key}")
def vaccine(key: str, page: Visit) -> Response:
    info = education.get_vaccine(key, page.language)
    return page.render("vaccine.html", title=info.name, vaccine=info)
