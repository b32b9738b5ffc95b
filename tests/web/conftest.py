"""The pages' test world, built fresh for each test on each database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.site import WebWorld, build_web_world


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    built = build_web_world(database_url)
    yield built
    built.close()
