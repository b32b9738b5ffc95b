"""How errors become HTTP answers, whatever raised them."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from immunis.errors import Conflict
from immunis.web import problems


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.get("/race")
    def race() -> None:
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key value"))

    @app.get("/conflict")
    def conflict() -> None:
        raise Conflict("national ID 001195000123 belongs to another person")

    return app


def test_a_lost_race_on_a_unique_constraint_is_a_409_not_a_500() -> None:
    response = TestClient(_app()).get("/race")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "concurrent write" in response.json()["detail"]
    assert "duplicate key" not in response.text  # no database internals leak out


def test_a_domain_conflict_keeps_its_message() -> None:
    response = TestClient(_app()).get("/conflict")
    assert response.status_code == 409
    assert response.json()["detail"] == "national ID 001195000123 belongs to another person"
