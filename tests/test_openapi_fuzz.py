"""Schemathesis against the published OpenAPI document: whatever a signed-in client sends, the
answer is never a server error (SQLite; the PostgreSQL paths are covered by each room's tests)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from immunis.migrate import upgrade
from tests.world import build_world

_DATABASE = Path(tempfile.mkdtemp(prefix="immunis-fuzz-")) / "immunis.db"
upgrade(f"sqlite:///{_DATABASE}")
WORLD = build_world(f"sqlite:///{_DATABASE}")
schema = schemathesis.openapi.from_asgi("/openapi.json", WORLD.client.app)


@schema.parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case) -> None:  # type: ignore[no-untyped-def]
    for who in ("national_officer", "vaccinator", "citizen"):
        response = case.call(headers={"Authorization": f"Bearer {WORLD.tokens[who]}"})
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} as {who}: {response.status_code} "
            f"{response.text[:300]}"
        )
