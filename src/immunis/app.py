"""The HTTP application: every face's router on one FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from immunis import __version__
from immunis.analytics.views import router as analytics_router
from immunis.booking.views import router as booking_router
from immunis.db import make_engine, make_sessionmaker
from immunis.education.views import router as education_router
from immunis.interop.fhir.outcome import format_error as fhir_error
from immunis.interop.fhir.views import router as fhir_router
from immunis.interop.hl7v2.views import router as hl7v2_router
from immunis.outreach.views import router as outreach_router
from immunis.registry.views import router as registry_router
from immunis.safety.views import router as safety_router
from immunis.settings import Settings, get_settings
from immunis.supply.views import router as supply_router
from immunis.web import api_docs, pages, problems


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for `settings` (default: from IMMUNIS_* environment variables)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="immunis",
        version=__version__,
        description="Lifelong immunization records, CDSi forecasting, FHIR R4 and HL7 v2.",
        # Swagger UI is served from vendored files (web/api_docs.py); ReDoc would need a CDN.
        docs_url=None,
        redoc_url=None,
    )
    engine = make_engine(settings.database_url)
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    problems.install(app)
    app.include_router(registry_router)
    app.include_router(fhir_router)
    app.include_router(hl7v2_router)
    app.include_router(supply_router)
    app.include_router(safety_router)
    app.include_router(analytics_router)
    app.include_router(booking_router)
    app.include_router(outreach_router)
    app.include_router(education_router)
    problems.register_formatter(app, "/fhir", fhir_error)
    pages.install(app, settings)
    api_docs.install(app)

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
