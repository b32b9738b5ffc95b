"""The supply room's JSON API: lots and their release, stock movements, what is in stock."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from immunis.db import utcnow
from immunis.registry.schemas import LotRecipient
from immunis.supply import service
from immunis.supply.release import ReleaseStatus
from immunis.supply.schemas import (
    AdjustmentIn,
    ArrivalIn,
    ExpiryWarning,
    FefoChoice,
    LotBalance,
    LotDetail,
    LotIn,
    LotOut,
    MovementOut,
    RecallSummary,
    ReceiptIn,
    StatusChangeIn,
    StoreIn,
    StoreOut,
    TransferIn,
    TransferOut,
    WastageIn,
)
from immunis.web.context import ApiContext

router = APIRouter(prefix="/api", tags=["supply"])

SiteId = Annotated[str, Query(max_length=36)]


@router.post("/lots", status_code=status.HTTP_201_CREATED)
def register_lot(data: LotIn, context: ApiContext) -> LotOut:
    with context.transaction() as session:
        return service.register_lot(session, context.actor, data)


@router.get("/lots")
def list_lots(
    context: ApiContext,
    cvx: Annotated[str | None, Query(max_length=10)] = None,
    release_status: ReleaseStatus | None = None,
    lot_number: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[LotOut]:
    with context.transaction() as session:
        return service.list_lots(
            session,
            context.actor,
            cvx=cvx,
            status=release_status,
            lot_number=lot_number,
            limit=limit,
        )


@router.get("/lots/{lot_id}")
def read_lot(lot_id: str, context: ApiContext) -> LotDetail:
    with context.transaction() as session:
        return service.get_lot(session, context.actor, lot_id)


@router.post("/lots/{lot_id}/status")
def set_release_status(lot_id: str, data: StatusChangeIn, context: ApiContext) -> LotOut:
    """The laboratory's decision; quarantine and recall block the lot everywhere at once."""
    with context.transaction() as session:
        return service.set_release_status(
            session, context.actor, lot_id, data.to, data.reason, data.recall_action
        )


@router.get("/lots/{lot_id}/recall-list")
def recall_list(lot_id: str, context: ApiContext) -> list[LotRecipient]:
    with context.transaction() as session:
        return service.recall_list(session, context.actor, lot_id)


@router.post("/lots/{lot_id}/recall")
def carry_out_recall(lot_id: str, context: ApiContext) -> RecallSummary:
    """Run a recalled lot's recall again, for doses reported since; nobody is told twice."""
    with context.transaction() as session:
        return service.carry_out_recall(session, context.actor, lot_id)


@router.put("/stock/stores/{site_id}")
def set_store_level(site_id: str, data: StoreIn, context: ApiContext) -> StoreOut:
    with context.transaction() as session:
        return service.set_store_level(session, context.actor, site_id, data.level)


@router.post("/stock/receipts", status_code=status.HTTP_201_CREATED)
def receive_stock(data: ReceiptIn, context: ApiContext) -> MovementOut:
    with context.transaction() as session:
        return service.receive_stock(session, context.actor, data)


@router.post("/stock/transfers", status_code=status.HTTP_201_CREATED)
def dispatch(data: TransferIn, context: ApiContext) -> TransferOut:
    with context.transaction() as session:
        return service.dispatch(session, context.actor, data)


@router.get("/stock/transfers")
def list_transfers(
    context: ApiContext, site: SiteId, in_transit: bool = False
) -> list[TransferOut]:
    with context.transaction() as session:
        return service.list_transfers(session, context.actor, site, in_transit_only=in_transit)


@router.post("/stock/transfers/{transfer_id}/arrival")
def record_arrival(transfer_id: str, data: ArrivalIn, context: ApiContext) -> TransferOut:
    with context.transaction() as session:
        return service.record_arrival(session, context.actor, transfer_id, data)


@router.post("/stock/wastage", status_code=status.HTTP_201_CREATED)
def record_wastage(data: WastageIn, context: ApiContext) -> MovementOut:
    with context.transaction() as session:
        return service.record_wastage(session, context.actor, data)


@router.post("/stock/adjustments", status_code=status.HTTP_201_CREATED)
def adjust(data: AdjustmentIn, context: ApiContext) -> MovementOut:
    with context.transaction() as session:
        return service.adjust(session, context.actor, data)


@router.get("/stock/balances")
def site_balances(context: ApiContext, site: SiteId, on: date | None = None) -> list[LotBalance]:
    """What the site held at the end of a day (default: today), lot by lot."""
    with context.transaction() as session:
        return service.site_balances(session, context.actor, site, on or date.today())


@router.get("/stock/expiry-warnings")
def expiry_warnings(
    context: ApiContext,
    days: Annotated[int, Query(ge=0, le=730)] = 60,
    site: Annotated[str | None, Query(max_length=36)] = None,
) -> list[ExpiryWarning]:
    with context.transaction() as session:
        return service.expiry_warnings(session, context.actor, date.today(), days, site)


@router.get("/stock/fefo")
def suggest_lot(
    context: ApiContext, site: SiteId, cvx: Annotated[str, Query(max_length=10)]
) -> FefoChoice:
    """The lot the next dose of this vaccine should come from at the site."""
    with context.transaction() as session:
        return service.suggest_lot(session, context.actor, site, cvx, utcnow())
