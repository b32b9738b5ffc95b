"""The cold chain's stores and who keeps each one's stock, as pure functions.

Vaccines flow from the national store to provincial and district stores and on to the commune
health stations (and, for private chains, from a warehouse to its centres). A site is a station
unless it is registered as a store of a higher level.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from immunis.access.policy import SITE_ROLES, Action, Actor, Role, may


class StoreLevel(StrEnum):
    NATIONAL = "national"
    PROVINCE = "province"
    DISTRICT = "district"
    STATION = "station"


@dataclass(frozen=True, slots=True)
class StoreFacts:
    """What the rule needs to know about a site that holds stock."""

    site_id: str
    level: StoreLevel
    province_code: str | None
    district_code: str | None


def may_manage_stock_at(actor: Actor, store: StoreFacts) -> bool:
    """Vaccinators keep their own site's stock; a province officer the province's stores and
    stations (not the national store, though it stands in a province); a district officer the
    district's store and stations; national officers every store."""
    if not may(actor, Action.MANAGE_STOCK):
        return False
    if actor.role is Role.NATIONAL_OFFICER:
        return True
    if actor.role in SITE_ROLES:
        return actor.site_id == store.site_id
    if actor.role is Role.PROVINCE_OFFICER:
        return store.level is not StoreLevel.NATIONAL and store.province_code == actor.area_code
    if actor.role is Role.DISTRICT_OFFICER:
        return (
            store.level in (StoreLevel.DISTRICT, StoreLevel.STATION)
            and store.district_code == actor.area_code
        )
    return False
