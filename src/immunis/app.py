"""The HTTP application: every face's router on one FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from immunis import __version__
from immunis.db import make_engine, make_sessionmaker
from immunis.registry.views import router as registry_router
from immunis.settings import Settings, get_settings
from immunis.web import problems


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for `settings` (default: from IMMUNIS_* environment variables)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="immunis",
        version=__version__,
        description="Lifelong immunization records, CDSi forecasting, FHIR R4 and HL7 v2.",
    )
    engine = make_engine(settings.database_url)
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    problems.install(app)
    app.include_router(registry_router)

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
