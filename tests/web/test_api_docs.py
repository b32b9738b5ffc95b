"""The API docs work offline: Swagger UI at /docs loads only files the app serves itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from immunis.app import create_app
from immunis.settings import Settings

# What each file Swagger UI loads must be served as, by the end of its URL.
CONTENT_TYPES = {
    ".js": "javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The app (its database is never opened: the docs read none)."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'docs.db'}", secret_key="x"))
    yield TestClient(app)
    app.state.engine.dispose()


def _loaded_urls(html: str) -> list[str]:
    """The stylesheet, icon and script the page links to, and the OpenAPI document it reads."""
    return re.findall(r'(?:href|src)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)


def test_the_docs_page_refers_to_nothing_outside_the_app(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text
    assert "http" not in page.text
    urls = _loaded_urls(page.text)
    assert len(urls) == 4
    assert all(url.startswith("/") and not url.startswith("//") for url in urls)


def test_every_file_the_docs_load_is_served(client: TestClient) -> None:
    for url in _loaded_urls(client.get("/docs").text):
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert CONTENT_TYPES[Path(url).suffix] in answer.headers["content-type"], url
    assert "/health" in client.get("/openapi.json").json()["paths"]


def test_the_vendored_swagger_ui_keeps_its_licence(client: TestClient) -> None:
    assert "Apache License" in client.get("/static/swagger/LICENSE").text
    assert "SmartBear" in client.get("/static/swagger/NOTICE").text


def test_redoc_is_off(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404
