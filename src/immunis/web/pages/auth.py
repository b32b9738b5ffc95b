"""Signing in and out, the start page of each role, and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import RedirectResponse

from immunis.access.passwords import check_credentials, signed_in_actor
from immunis.access.service import audit
from immunis.web import i18n
from immunis.web.pages.base import Page, PageRoute, Visit, safe_next
from immunis.web.pages.forms import Submitted
from immunis.web.pages.navigation import home_of
from immunis.web.session import WebSession

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/")
def start(page: Visit) -> Response:
    """Each role starts on its own first page; visitors on the sign-in page."""
    if page.actor is None:
        return RedirectResponse("/login", status_code=303)
    home = home_of(page.actor)
    if home is None:
        return page.render("home.html", title=page.gettext("Welcome"))
    return RedirectResponse(home, status_code=303)


@router.get("/login")
def login_form(page: Visit, next: str = "") -> Response:
    return page.render(
        "login.html", title=page.gettext("Sign in"), values={"next": safe_next(next)}, errors={}
    )


@router.post("/login")
def login(page: Visit, form: Submitted) -> Response:
    username = form.text("username", page.gettext("Enter your username"), max_length=80)
    password = form.values.get("password", "")
    if not password:
        form.error("password", page.gettext("Enter your password"))
    user_id = None
    if form.ok and username:
        with page.transaction() as session:
            user = check_credentials(session, username, password)
            if user is not None:
                user_id = user.id
                actor = signed_in_actor(session, user.id)
                audit(session, actor, "sign_in", "user", user.id)
        if user_id is None:
            form.error("_credentials", page.gettext("The username or password is not right."))
    if not form.ok:
        return page.render(
            "login.html",
            status=422,
            title=page.gettext("Sign in"),
            values=form.values,
            errors=form.errors,
        )
    # A new session (and CSRF token) at sign-in: a session planted before it is worth nothing.
    page.request.state.page = Page(
        request=page.request, language=page.language, web=WebSession(user_id=user_id), actor=None
    )
    return page.redirect(safe_next(form.values.get("next")))


@router.post("/logout")
def logout(page: Visit) -> Response:
    page.request.state.page = Page(
        request=page.request, language=page.language, web=WebSession(), actor=None
    )
    return page.redirect("/login")


@router.get("/language/{code}")
def switch_language(code: str, page: Visit, next: str = "/") -> Response:
    """Remember the chosen language for a year and go back to the page it was chosen on."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", httponly=True
        )
    return response
