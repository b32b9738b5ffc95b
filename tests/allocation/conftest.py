"""The supply world fixture, shared with the supply tests."""

from tests.supply.conftest import supply

__all__ = ["supply"]
