"""Allocating the national store's doses of one vaccine between provinces, and turning the
allocation into stock transfers from the national store to each province's store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from immunis.access.policy import Actor
from immunis.access.service import audit
from immunis.allocation.allocate import Allocation, Lot, Policy, Province, allocate
from immunis.errors import InvalidInput
from immunis.schedule.model import normalize_cvx
from immunis.supply import service as supply
from immunis.supply.release import ReleaseStatus
from immunis.supply.schemas import TransferIn, TransferOut


@dataclass(frozen=True, slots=True)
class ProvinceStore:
    """A province as the allocation sees it, and the store its doses are sent to."""

    province: Province
    store_site_id: str


@dataclass(frozen=True, slots=True)
class AllocationPlan:
    allocation: Allocation
    transfers: list[TransferOut]


def available_lots(
    session: Session, actor: Actor, store_site_id: str, cvx: str, on_date: date
) -> list[Lot]:
    """The released, unexpired lots of a vaccine the store holds on `on_date`."""
    wanted = normalize_cvx(cvx)
    return [
        Lot(held.lot.id, held.quantity, held.lot.expiry_date)
        for held in supply.site_balances(session, actor, store_site_id, on_date)
        if held.lot.cvx == wanted
        and held.lot.release_status is ReleaseStatus.RELEASED
        and held.lot.expiry_date >= on_date
        and held.quantity > 0
    ]


def allocate_and_dispatch(
    session: Session,
    actor: Actor,
    *,
    from_store_id: str,
    cvx: str,
    provinces: Sequence[ProvinceStore],
    policy: Policy,
    on_date: date,
    dispatch: bool,
) -> AllocationPlan:
    """Allocate the store's doses of `cvx` fairly; with `dispatch`, send each province its lots
    (every transfer in this one transaction, so the plan is carried out whole or not at all)."""
    if not provinces:
        raise InvalidInput("give at least one province")
    lots = available_lots(session, actor, from_store_id, cvx, on_date)
    result = allocate(lots, [p.province for p in provinces], policy)
    store_of = {p.province.code: p.store_site_id for p in provinces}
    transfers = []
    if dispatch:
        for share in result.lots:
            transfers.append(
                supply.dispatch(
                    session,
                    actor,
                    TransferIn(
                        from_site_id=from_store_id,
                        to_site_id=store_of[share.province_code],
                        lot_id=share.lot_id,
                        quantity=share.doses,
                        dispatched_on=on_date,
                    ),
                )
            )
    audit(
        session,
        actor,
        "allocate",
        "vaccine_stock",
        from_store_id,
        detail={
            "cvx": cvx,
            "doses": result.doses,
            "unallocated": result.unallocated,
            "dispatched": dispatch,
            "steps": result.steps,
        },
    )
    return AllocationPlan(result, transfers)
