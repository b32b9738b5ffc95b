"""The world the importer tests import into: tests/world.py's, on each database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.world import World, build_world


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]
