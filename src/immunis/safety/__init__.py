"""Vaccine safety: adverse events following immunization and signal detection."""
