"""What every page shares: the signed-in visitor, their language, rendering, CSRF and errors.

Page routers use `PageRoute`, which checks the CSRF token of every form sent, turns domain
errors into error pages in the visitor's language (a refusal is written to the audit log, as on
the API), sends visitors who are not signed in to the sign-in page, and writes the session
cookie when it changed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session, sessionmaker

from immunis.access.passwords import signed_in_actor
from immunis.access.policy import Actor, Role
from immunis.errors import Forbidden, NotFound
from immunis.settings import Settings
from immunis.web import i18n
from immunis.web.pages.navigation import navigation
from immunis.web.problems import record_refusal
from immunis.web.session import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    MAX_AGE,
    SessionSigner,
    WebSession,
    secret_key,
)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class WebState:
    """The pages' share of the app (app.state.web): its settings, and the cookie signer."""

    settings: Settings

    @cached_property
    def signer(self) -> SessionSigner:
        # Made at the first page asked for: an app used only for its API writes no key file.
        return SessionSigner(secret_key(self.settings))


class SignInNeeded(Exception):
    """The page needs a signed-in visitor."""


@cache
def templates(language: str) -> Environment:
    """The template environment speaking `language` (one per language, made once)."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html", "xml")),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    environment.globals.update(
        language=language,
        languages=i18n.LANGUAGES,
        day=lambda d, style="long": i18n.format_day(d, language, style),
        number=lambda v, digits=0: i18n.format_number(v, language, digits),
    )
    return environment


@dataclass
class Page:
    """One request to a page: who asks, in which language, and how to answer them."""

    request: Request
    language: str
    web: WebSession
    actor: Actor | None

    @property
    def settings(self) -> Settings:
        state: WebState = self.request.app.state.web
        return state.settings

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """The request's unit of work: all of it is committed, or none of it."""
        factory: sessionmaker[Session] = self.request.app.state.sessions
        with factory() as session, session.begin():
            yield session

    def gettext(self, message: str, **values: Any) -> str:
        translated = i18n.translations(self.language).gettext(message)
        return translated % values if values else translated

    def signed_in(self, *roles: Role) -> Actor:
        """The signed-in actor; with `roles`, one of those roles (else Forbidden, audited)."""
        if self.actor is None:
            raise SignInNeeded
        if roles and self.actor.role not in roles:
            raise Forbidden(
                f"a {self.actor.role.value} may not open {self.request.url.path}",
                user_id=self.actor.user_id,
                role=self.actor.role.value,
                action="read",
                entity_type="page",
                entity_id=self.request.url.path[:36],
            )
        return self.actor

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = (
            templates(self.language)
            .get_template(template)
            .render(
                page=self,
                csrf_token=self.web.csrf,
                csrf_field=CSRF_FIELD,
                actor=self.actor,
                nav=navigation(self.actor, self.gettext),
                path=self.request.url.path,
                **context,
            )
        )
        return HTMLResponse(html, status_code=status)

    def redirect(self, url: str) -> Response:
        """Go to `url` after a form: htmx follows HX-Redirect, a plain browser the 303."""
        if self.request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    def partial(self) -> bool:
        """True when htmx asks for a part of the page rather than the whole page."""
        return bool(self.request.headers.get("HX-Request")) and not self.request.headers.get(
            "HX-Boosted"
        )


def _load_page(request: Request) -> Page:
    """Reads the session cookie and the signed-in user (once per request)."""
    cached: Page | None = getattr(request.state, "page", None)
    if cached is not None:
        return cached
    state: WebState = request.app.state.web
    web = state.signer.load(request.cookies.get(COOKIE))
    actor = None
    if web.user_id:
        factory: sessionmaker[Session] = request.app.state.sessions
        with factory() as session:
            actor = signed_in_actor(session, web.user_id)
        if actor is None:
            web = WebSession()  # the account is gone or deactivated: sign out
    language = i18n.choose_language(request.cookies.get(i18n.COOKIE), state.settings.language)
    page = Page(request=request, language=language, web=web, actor=actor)
    request.state.page = page
    return page


def page_context(request: Request) -> Page:
    return _load_page(request)


Visit = Annotated[Page, Depends(page_context)]


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else (another site) becomes "/"."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method not in SAFE_METHODS:
        target = request.headers.get("HX-Current-URL") or "/"
        target = urlsplit(target).path or "/"
    url = f"/login?next={quote(safe_next(target))}"
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(page: Page, status: int, message: str) -> HTMLResponse:
    titles = {
        403: page.gettext("Not allowed"),
        404: page.gettext("Not found"),
        422: page.gettext("That link is not right"),
    }
    response = page.render(
        "error.html",
        status=status,
        title=titles.get(status, page.gettext("Something went wrong")),
        message=message,
    )
    if page.request.headers.get("HX-Request"):
        # htmx swaps nothing on an error status: show the error page as a whole instead.
        response.headers["HX-Retarget"] = "body"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


async def _csrf_token(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if "form" not in content_type:
        return None
    value = (await request.form()).get(CSRF_FIELD)
    return value if isinstance(value, str) else None


def _write_cookie(request: Request, response: Response, page: Page) -> None:
    if not page.web.fresh:
        return
    state: WebState = request.app.state.web
    response.set_cookie(
        COOKIE,
        state.signer.dump(page.web),
        max_age=MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class PageRoute(APIRoute):
    """A page's route: CSRF check on forms, error pages, sign-in redirect, session cookie."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            page = await run_in_threadpool(_load_page, request)
            try:
                if request.method not in SAFE_METHODS and not page.web.csrf_matches(
                    await _csrf_token(request)
                ):
                    response: Response = error_page(
                        page,
                        403,
                        page.gettext(
                            "This form has expired or did not come from this site. Go back, "
                            "reload the page and send it again."
                        ),
                    )
                else:
                    response = await handler(request)
            except SignInNeeded:
                response = _sign_in_redirect(request)
            except Forbidden as refusal:
                await run_in_threadpool(record_refusal, request.app.state.sessions, refusal, "web")
                response = error_page(
                    page, 403, page.gettext("You may not see or change this record.")
                )
            except NotFound:
                response = error_page(page, 404, page.gettext("There is nothing at this address."))
            except RequestValidationError:
                response = error_page(
                    page, 422, page.gettext("This address is incomplete or mistyped.")
                )
            # The page handler may have signed someone in or out: it replaced request.state.page.
            _write_cookie(request, response, request.state.page)
            return response

        return route
