"""Guardians survive an update of the person's record, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.world import World, build_world


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_updating_a_person_keeps_or_changes_their_guardians(world: World) -> None:
    baby = {
        "family_name": "Trần",
        "given_name": "Minh Khôi",
        "birth_date": "2025-03-03",
        "guardians": [{"guardian_id": world.people["mother"], "relationship": "mother"}],
    }
    headers = world.headers("vaccinator")
    created = world.client.post("/api/persons", json=baby, headers=headers).json()
    url = f"/api/persons/{created['id']}"
    same = world.client.put(url, json={**baby, "phone": "0912345678"}, headers=headers)
    assert same.status_code == 200, same.text
    assert same.json()["guardians"] == baby["guardians"]
    carer = [{"guardian_id": world.people["mother"], "relationship": "guardian"}]
    changed = world.client.put(url, json={**baby, "guardians": carer}, headers=headers)
    assert changed.json()["guardians"] == carer
