"""Outreach: reminder and recall lists from the forecasts, messages to people or their guardians,
the outbox and its delivery adapters (docs/outreach.md)."""
