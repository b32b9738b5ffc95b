"""Every room's tables, imported so that the metadata (and Alembic) sees them all."""

from __future__ import annotations


def load_all_models() -> None:
    """Import each domain's models module; registering the tables is their side effect."""
    import immunis.access.models
    import immunis.batch.models
    import immunis.booking.models
    import immunis.importer.models
    import immunis.interop.hl7v2.models
    import immunis.outreach.models
    import immunis.registry.models
    import immunis.safety.models
    import immunis.supply.models  # noqa: F401
