"""The server-rendered pages (Jinja2 + htmx): citizens, vaccinators, programme, lab and safety."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from immunis.settings import Settings
from immunis.web.pages import (
    aefi,
    auth,
    booking,
    clinic,
    lots,
    people,
    programme,
    reactions,
    reminders,
    vaccines,
    verify,
)
from immunis.web.pages.base import WebState

STATIC = Path(__file__).resolve().parent.parent / "static"


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the pages and their static files on `app`."""
    app.state.web = WebState(settings)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # /people/new before /people/{person_id}: the first route that matches answers.
    for module in (
        auth,
        clinic,
        booking,
        people,
        reactions,
        vaccines,
        verify,
        lots,
        programme,
        reminders,
        aefi,
    ):
        app.include_router(module.router)
