"""Every room's tables, imported so that the metadata (and Alembic) sees them all."""

from __future__ import annotations


def load_all_models() -> None:
    """Import each domain's models module; registering the tables is their side effect."""
    import immunis.access.models
    import immunis.registry.models  # noqa: F401
