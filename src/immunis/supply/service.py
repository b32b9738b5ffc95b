"""The supply room's use cases: vaccine lots and their release, the stock ledger, transfers down
the cold chain, multi-dose vials, the check of a lot before a dose, the dose given back when its
record is marked entered in error, and the recall of a lot.

Each function runs inside the caller's transaction, checks the actor's right to act, and writes
what it changed to the audit log. Quantities are doses, never vials.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from immunis.access.policy import Action, Actor
from immunis.access.service import audit, require
from immunis.db import utcnow
from immunis.errors import Conflict, Forbidden, InvalidInput, NotFound
from immunis.outreach import service as outreach
from immunis.registry import service as registry
from immunis.registry import sites
from immunis.registry.schemas import LotRecipient
from immunis.schedule.catalog import SCHEDULE_IDS, load_schedule
from immunis.schedule.model import normalize_cvx
from immunis.supply.fefo import LotStock, first_to_use
from immunis.supply.ledger import VVM_DISCARD_STAGE, MovementKind, WastageReason
from immunis.supply.models import (
    LotStatusChange,
    OpenedVial,
    StockBalance,
    StockMovement,
    StockTransfer,
    SupplyStore,
    VaccineLot,
)
from immunis.supply.release import RecallAction, ReleaseStatus, transition_refusal, usable
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
    StatusChangeOut,
    StoreOut,
    TransferIn,
    TransferOut,
    WastageIn,
)
from immunis.supply.stores import StoreFacts, StoreLevel, may_manage_stock_at

# The outbox template telling a person that a dose they had must be given again.
RECALL_TEMPLATE = "lot-recall-revaccinate"


def lot_out(lot: VaccineLot) -> LotOut:
    return LotOut(
        id=lot.id,
        cvx=lot.cvx,
        mvx=lot.mvx,
        product_name=lot.product_name,
        lot_number=lot.lot_number,
        expiry_date=lot.expiry_date,
        doses_per_vial=lot.doses_per_vial,
        hours_usable_after_opening=lot.hours_usable_after_opening,
        release_status=ReleaseStatus(lot.release_status),
        recall_action=RecallAction(lot.recall_action),
        status_reason=lot.status_reason,
        status_set_by=lot.status_set_by,
        status_set_at=lot.status_set_at,
        registered_at=lot.registered_at,
    )


def movement_out(row: StockMovement) -> MovementOut:
    return MovementOut(
        id=row.id,
        lot_id=row.lot_id,
        site_id=row.site_id,
        kind=MovementKind(row.kind),
        quantity=row.quantity,
        occurred_on=row.occurred_on,
        reason=row.reason,
        note=row.note,
        vvm_stage=row.vvm_stage,
        transfer_id=row.transfer_id,
        immunization_id=row.immunization_id,
        recorded_at=row.recorded_at,
    )


def transfer_out(row: StockTransfer) -> TransferOut:
    return TransferOut(
        id=row.id,
        lot_id=row.lot_id,
        from_site_id=row.from_site_id,
        to_site_id=row.to_site_id,
        quantity=row.quantity,
        status=row.status,  # type: ignore[arg-type]
        dispatched_on=row.dispatched_on,
        received_on=row.received_on,
    )


def _utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; every stored one is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _load_lot(session: Session, lot_id: str, *, lock: bool = False) -> VaccineLot:
    lot = session.get(VaccineLot, lot_id, with_for_update=lock, populate_existing=lock)
    if lot is None:
        raise NotFound(f"no vaccine lot {lot_id}")
    return lot


# --- Lots and their release ----------------------------------------------------------------------


def _known_cvx(cvx: str) -> bool:
    return any(load_schedule(s).vaccine(cvx) is not None for s in SCHEDULE_IDS)


def register_lot(session: Session, actor: Actor, data: LotIn) -> LotOut:
    """Register a manufacturer's lot; it waits, pending, for the laboratory's release."""
    require(actor, Action.REGISTER_LOT, "lot")
    if not _known_cvx(data.cvx):
        raise InvalidInput(f"CVX {data.cvx} is not a vaccine known to any shipped schedule")
    lot_number, mvx = data.lot_number.upper(), data.mvx.upper()
    clash = session.scalars(
        select(VaccineLot.id).where(VaccineLot.mvx == mvx, VaccineLot.lot_number == lot_number)
    ).first()
    if clash:
        raise Conflict(f"lot {lot_number} of manufacturer {mvx} is already registered")
    lot = VaccineLot(
        cvx=normalize_cvx(data.cvx),
        mvx=mvx,
        product_name=data.product_name,
        lot_number=lot_number,
        expiry_date=data.expiry_date,
        doses_per_vial=data.doses_per_vial,
        hours_usable_after_opening=data.hours_usable_after_opening,
        release_status=ReleaseStatus.PENDING.value,
        recall_action=RecallAction.NONE.value,
        status_set_by=actor.user_id,
        registered_by=actor.user_id,
    )
    session.add(lot)
    session.flush()
    session.add(
        LotStatusChange(
            lot_id=lot.id,
            to_status=ReleaseStatus.PENDING.value,
            reason="registered",
            changed_by=actor.user_id,
        )
    )
    audit(session, actor, "create", "lot", lot.id)
    return lot_out(lot)


def get_lot(session: Session, actor: Actor, lot_id: str) -> LotDetail:
    """A lot with its whole release history, oldest first."""
    require(actor, Action.VIEW_LOTS, "lot")
    lot = _load_lot(session, lot_id)
    history = session.scalars(
        select(LotStatusChange).where(LotStatusChange.lot_id == lot.id).order_by(LotStatusChange.id)
    )
    return LotDetail(
        **lot_out(lot).model_dump(),
        history=[
            StatusChangeOut(
                from_status=change.from_status,  # type: ignore[arg-type]
                to_status=change.to_status,  # type: ignore[arg-type]
                recall_action=change.recall_action,  # type: ignore[arg-type]
                reason=change.reason,
                changed_by=change.changed_by,
                changed_at=change.changed_at,
            )
            for change in history
        ],
    )


def list_lots(
    session: Session,
    actor: Actor,
    *,
    cvx: str | None = None,
    status: ReleaseStatus | None = None,
    lot_number: str | None = None,
    limit: int = 100,
) -> list[LotOut]:
    """Lots matching every criterion given, soonest expiry first."""
    require(actor, Action.VIEW_LOTS, "lot")
    query = select(VaccineLot)
    if cvx:
        query = query.where(VaccineLot.cvx == normalize_cvx(cvx))
    if status:
        query = query.where(VaccineLot.release_status == status.value)
    if lot_number:
        query = query.where(VaccineLot.lot_number == lot_number.strip().upper())
    query = query.order_by(VaccineLot.expiry_date, VaccineLot.lot_number).limit(min(limit, 500))
    return [lot_out(lot) for lot in session.scalars(query)]


def set_release_status(
    session: Session,
    actor: Actor,
    lot_id: str,
    to: ReleaseStatus,
    reason: str,
    recall_action: RecallAction | None = None,
) -> LotOut:
    """The laboratory's decision on a lot. Quarantine and recall block it at once, everywhere:
    the dose check refuses it from the moment this transaction commits. A recall also carries
    out the recall of the doses already given (`carry_out_recall`)."""
    require(actor, Action.RELEASE_LOT, "lot")
    lot = _load_lot(session, lot_id, lock=True)
    current = ReleaseStatus(lot.release_status)
    refusal = transition_refusal(current, to)
    if refusal:
        raise Conflict(f"lot {lot.lot_number}: {refusal}")
    if recall_action is not None and to is not ReleaseStatus.RECALLED:
        raise InvalidInput("a recall action is given only when recalling a lot")
    if to is ReleaseStatus.RECALLED:
        lot.recall_action = (recall_action or RecallAction.NONE).value
    lot.release_status = to.value
    lot.status_reason = reason
    lot.status_set_by = actor.user_id
    lot.status_set_at = utcnow()
    session.add(
        LotStatusChange(
            lot_id=lot.id,
            from_status=current.value,
            to_status=to.value,
            recall_action=lot.recall_action if to is ReleaseStatus.RECALLED else None,
            reason=reason,
            changed_by=actor.user_id,
        )
    )
    session.flush()
    audit(
        session,
        actor,
        "update",
        "lot",
        lot.id,
        detail={"from": current.value, "to": to.value, "reason": reason},
    )
    if to is ReleaseStatus.RECALLED:
        carry_out_recall(session, actor, lot.id)
    return lot_out(lot)


# --- The recall chain ----------------------------------------------------------------------------


def recall_list(session: Session, actor: Actor, lot_id: str) -> list[LotRecipient]:
    """Everyone recorded as given a dose from the lot, with how to reach them (lab and national
    officers; each person shown is written to the audit log by the registry)."""
    require(actor, Action.RECALL_LIST, "lot")
    lot = _load_lot(session, lot_id)
    return registry.recipients_of_lot(session, actor, lot.lot_number, lot.cvx, lot.mvx)


def carry_out_recall(session: Session, actor: Actor, lot_id: str) -> RecallSummary:
    """Flag every dose given from a recalled lot with the recall's action and, when the doses
    must be given again, queue one message to each person. Safe to run again (for doses
    reported after the recall): no dose is flagged twice, no person told twice."""
    require(actor, Action.RECALL_LIST, "lot")
    lot = _load_lot(session, lot_id)
    if lot.release_status != ReleaseStatus.RECALLED:
        raise Conflict(f"lot {lot.lot_number} is {lot.release_status}, not recalled")
    doses = registry.flag_doses_of_lot(
        session, actor, lot.lot_number, lot.cvx, lot.mvx, lot.recall_action
    )
    given_on: dict[str, list[str]] = defaultdict(list)
    for dose in doses:
        given_on[dose.person_id].append(dose.date_administered.isoformat())
    queued = 0
    if lot.recall_action == RecallAction.REVACCINATE:
        for person_id, dates in given_on.items():
            queued += outreach.queue_message(
                session,
                person_id=person_id,
                template=RECALL_TEMPLATE,
                reference=lot.id,
                payload={
                    "lot_number": lot.lot_number,
                    "cvx": lot.cvx,
                    "product_name": lot.product_name,
                    "doses_given_on": dates,
                },
            )
    audit(
        session,
        actor,
        "recall",
        "lot",
        lot.id,
        detail={"doses": len(doses), "people": len(given_on), "messages_queued": queued},
    )
    return RecallSummary(
        lot_id=lot.id, doses_flagged=len(doses), people=len(given_on), messages_queued=queued
    )


# --- Stores and who keeps them -------------------------------------------------------------------


def set_store_level(session: Session, actor: Actor, site_id: str, level: StoreLevel) -> StoreOut:
    """Register a site as a national, province or district store (or back to a station)."""
    require(actor, Action.MANAGE, "site")
    sites.get_site(session, actor, site_id)
    store = session.get(SupplyStore, site_id) or SupplyStore(site_id=site_id)
    store.level = level.value
    session.add(store)
    session.flush()
    audit(session, actor, "update", "store", site_id, detail={"level": level.value})
    return StoreOut(site_id=site_id, level=level)


def _store_facts(session: Session, actor: Actor, site_id: str) -> StoreFacts:
    site = sites.get_site(session, actor, site_id)
    store = session.get(SupplyStore, site_id)
    return StoreFacts(
        site_id=site.id,
        level=StoreLevel(store.level) if store else StoreLevel.STATION,
        province_code=site.address.province_code if site.address else None,
        district_code=site.address.district_code if site.address else None,
    )


def _require_stock_at(session: Session, actor: Actor, site_id: str) -> None:
    """Refuse (Forbidden) unless the actor keeps the stock of this site."""
    require(actor, Action.MANAGE_STOCK, "stock")
    if not may_manage_stock_at(actor, _store_facts(session, actor, site_id)):
        raise Forbidden(
            f"{actor.username} ({actor.role.value}) may not manage the stock of site {site_id}",
            user_id=actor.user_id,
            role=actor.role.value,
            action=Action.MANAGE_STOCK.value,
            entity_type="stock",
            entity_id=site_id,
        )


# --- The ledger ----------------------------------------------------------------------------------


def _locked_balance(session: Session, lot_id: str, site_id: str) -> StockBalance:
    """The balance row of a lot at a site, made if missing, locked until the transaction ends:
    on PostgreSQL by SELECT ... FOR UPDATE; on SQLite the insert first takes the database's
    single write lock, so nobody else can move stock until this transaction ends."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(StockBalance)
        .values(lot_id=lot_id, site_id=site_id, quantity=0)
        .on_conflict_do_nothing()
    )
    return session.scalars(
        select(StockBalance)
        .where(StockBalance.lot_id == lot_id, StockBalance.site_id == site_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _post(
    session: Session,
    actor: Actor | None,
    balance: StockBalance,
    kind: MovementKind,
    quantity: int,
    occurred_on: date,
    **details: str | int | None,
) -> StockMovement:
    """Write one ledger line and move the (locked) running balance with it."""
    balance.quantity += quantity
    movement = StockMovement(
        lot_id=balance.lot_id,
        site_id=balance.site_id,
        kind=kind.value,
        quantity=quantity,
        occurred_on=occurred_on,
        recorded_by=actor.user_id if actor else None,
        **details,
    )
    session.add(movement)
    session.flush()
    if actor is not None:
        audit(
            session,
            actor,
            "create",
            "stock_movement",
            str(movement.id),
            detail={"kind": kind.value, "lot_id": balance.lot_id, "site_id": balance.site_id},
        )
    return movement


def _ledger_balance(session: Session, lot_id: str, site_id: str, on_date: date) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
            StockMovement.lot_id == lot_id,
            StockMovement.site_id == site_id,
            StockMovement.occurred_on <= on_date,
        )
    )
    return int(total or 0)


def _doses_in_opened_vials(session: Session, lot_id: str, site_id: str) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(OpenedVial.doses_left), 0)).where(
            OpenedVial.lot_id == lot_id,
            OpenedVial.site_id == site_id,
            OpenedVial.closed_at.is_(None),
        )
    )
    return int(total or 0)


def _available(session: Session, balance: StockBalance, on_date: date) -> int:
    """Doses that may leave a site on `on_date`: as many as keep the balance of that day and of
    every later day at zero or more (a movement may be recorded after the fact), less the doses
    in opened vials, which stay with their vial."""
    daily_changes = session.execute(
        select(func.sum(StockMovement.quantity))
        .where(
            StockMovement.lot_id == balance.lot_id,
            StockMovement.site_id == balance.site_id,
            StockMovement.occurred_on > on_date,
        )
        .group_by(StockMovement.occurred_on)
        .order_by(StockMovement.occurred_on)
    ).scalars()
    start = _ledger_balance(session, balance.lot_id, balance.site_id, on_date)
    lowest = min(accumulate(daily_changes, initial=start))
    opened = _doses_in_opened_vials(session, balance.lot_id, balance.site_id)
    return min(lowest, balance.quantity - opened)


def _withdraw(
    session: Session,
    actor: Actor | None,
    balance: StockBalance,
    lot: VaccineLot,
    kind: MovementKind,
    quantity: int,
    on_date: date,
    **details: str | int | None,
) -> StockMovement:
    """Take doses out of a site's stock; never more than it holds, then or since."""
    available = _available(session, balance, on_date)
    if quantity > available:
        raise Conflict(
            f"only {max(available, 0)} doses of lot {lot.lot_number} can leave this site on "
            f"{on_date}, not {quantity}"
        )
    return _post(session, actor, balance, kind, -quantity, on_date, **details)


def receive_stock(session: Session, actor: Actor, data: ReceiptIn) -> MovementOut:
    """Doses entering the chain at a store. A pending lot may be received: its stock waits in
    quarantine at the store (no dose check passes, no dispatch) until the laboratory releases
    it. A rejected, quarantined or recalled lot is refused."""
    _require_stock_at(session, actor, data.site_id)
    lot = _load_lot(session, data.lot_id)
    if lot.release_status not in (ReleaseStatus.PENDING, ReleaseStatus.RELEASED):
        raise Conflict(f"lot {lot.lot_number} is {lot.release_status}: it cannot be received")
    if lot.expiry_date < data.occurred_on:
        raise Conflict(f"lot {lot.lot_number} expired on {lot.expiry_date}")
    balance = _locked_balance(session, lot.id, data.site_id)
    movement = _post(
        session,
        actor,
        balance,
        MovementKind.RECEIPT,
        data.quantity,
        data.occurred_on,
        note=data.reference,
        vvm_stage=data.vvm_stage,
    )
    return movement_out(movement)


def dispatch(session: Session, actor: Actor, data: TransferIn) -> TransferOut:
    """Send released doses from one store to another; they leave the sender's stock now and
    join the receiver's when it records their arrival."""
    _require_stock_at(session, actor, data.from_site_id)
    if data.to_site_id == data.from_site_id:
        raise InvalidInput("a transfer goes to another site")
    sites.get_site(session, actor, data.to_site_id)
    lot = _load_lot(session, data.lot_id)
    if not usable(ReleaseStatus(lot.release_status)):
        raise Conflict(f"lot {lot.lot_number} is {lot.release_status}: only released lots move")
    if lot.expiry_date < data.dispatched_on:
        raise Conflict(f"lot {lot.lot_number} expired on {lot.expiry_date}")
    balance = _locked_balance(session, lot.id, data.from_site_id)
    transfer = StockTransfer(
        lot_id=lot.id,
        from_site_id=data.from_site_id,
        to_site_id=data.to_site_id,
        quantity=data.quantity,
        status="in_transit",
        dispatched_on=data.dispatched_on,
        dispatched_by=actor.user_id,
    )
    session.add(transfer)
    session.flush()
    _withdraw(
        session,
        actor,
        balance,
        lot,
        MovementKind.DISPATCH,
        data.quantity,
        data.dispatched_on,
        transfer_id=transfer.id,
    )
    return transfer_out(transfer)


def record_arrival(
    session: Session, actor: Actor, transfer_id: str, data: ArrivalIn
) -> TransferOut:
    """The receiving store confirms a transfer arrived; its doses join that store's stock
    (whatever has happened to the lot since: a blocked lot's stock is still stock to account
    for). Damage found on arrival is recorded as wastage afterwards."""
    transfer = session.get(StockTransfer, transfer_id, with_for_update=True, populate_existing=True)
    if transfer is None:
        raise NotFound(f"no transfer {transfer_id}")
    _require_stock_at(session, actor, transfer.to_site_id)
    if transfer.status == "received":
        raise Conflict(f"transfer {transfer.id} was received on {transfer.received_on}")
    if data.received_on < transfer.dispatched_on:
        raise InvalidInput(f"received before it was dispatched ({transfer.dispatched_on})")
    balance = _locked_balance(session, transfer.lot_id, transfer.to_site_id)
    _post(
        session,
        actor,
        balance,
        MovementKind.ARRIVAL,
        transfer.quantity,
        data.received_on,
        transfer_id=transfer.id,
        vvm_stage=data.vvm_stage,
    )
    transfer.status = "received"
    transfer.received_on = data.received_on
    transfer.received_by = actor.user_id
    session.flush()
    return transfer_out(transfer)


def list_transfers(
    session: Session, actor: Actor, site_id: str, *, in_transit_only: bool = False
) -> list[TransferOut]:
    """Transfers from or to a site, newest first: what is on its way, what was sent."""
    _require_stock_at(session, actor, site_id)
    query = select(StockTransfer).where(
        (StockTransfer.from_site_id == site_id) | (StockTransfer.to_site_id == site_id)
    )
    if in_transit_only:
        query = query.where(StockTransfer.status == "in_transit")
    query = query.order_by(StockTransfer.dispatched_on.desc(), StockTransfer.id).limit(500)
    return [transfer_out(t) for t in session.scalars(query)]


def record_wastage(session: Session, actor: Actor, data: WastageIn) -> MovementOut:
    """Write off doses that cannot be used. Heat damage is recorded with the vaccine vial
    monitor stage seen, which must be past the discard point."""
    _require_stock_at(session, actor, data.site_id)
    if data.reason is WastageReason.HEAT_EXPOSURE and (
        data.vvm_stage is None or data.vvm_stage < VVM_DISCARD_STAGE
    ):
        raise InvalidInput(
            "heat exposure is recorded with the VVM stage seen, 3 or 4 (past the discard point)"
        )
    lot = _load_lot(session, data.lot_id)
    balance = _locked_balance(session, lot.id, data.site_id)
    movement = _withdraw(
        session,
        actor,
        balance,
        lot,
        MovementKind.WASTED,
        data.quantity,
        data.occurred_on,
        reason=data.reason.value,
        note=data.note,
        vvm_stage=data.vvm_stage,
    )
    return movement_out(movement)


def adjust(session: Session, actor: Actor, data: AdjustmentIn) -> MovementOut:
    """Correct the books after a physical count, saying why."""
    _require_stock_at(session, actor, data.site_id)
    lot = _load_lot(session, data.lot_id)
    balance = _locked_balance(session, lot.id, data.site_id)
    if data.quantity > 0:
        movement = _post(
            session,
            actor,
            balance,
            MovementKind.ADJUSTMENT,
            data.quantity,
            data.occurred_on,
            reason=data.reason,
        )
    else:
        movement = _withdraw(
            session,
            actor,
            balance,
            lot,
            MovementKind.ADJUSTMENT,
            -data.quantity,
            data.occurred_on,
            reason=data.reason,
        )
    return movement_out(movement)


# --- What is in stock ----------------------------------------------------------------------------


def balance(session: Session, actor: Actor, site_id: str, lot_id: str, on_date: date) -> int:
    """Doses of a lot at a site at the end of `on_date`, from the ledger (any past date)."""
    _require_stock_at(session, actor, site_id)
    return _ledger_balance(session, lot_id, site_id, on_date)


def site_balances(session: Session, actor: Actor, site_id: str, on_date: date) -> list[LotBalance]:
    """Every lot a site held at the end of `on_date`, soonest expiry first."""
    _require_stock_at(session, actor, site_id)
    held = (
        select(StockMovement.lot_id, func.sum(StockMovement.quantity).label("quantity"))
        .where(StockMovement.site_id == site_id, StockMovement.occurred_on <= on_date)
        .group_by(StockMovement.lot_id)
        .having(func.sum(StockMovement.quantity) != 0)
        .subquery()
    )
    rows = session.execute(
        select(VaccineLot, held.c.quantity)
        .join(held, held.c.lot_id == VaccineLot.id)
        .order_by(VaccineLot.expiry_date, VaccineLot.lot_number)
    )
    return [LotBalance(lot=lot_out(lot), quantity=int(quantity)) for lot, quantity in rows]


def expiry_warnings(
    session: Session,
    actor: Actor,
    today: date,
    within_days: int,
    site_id: str | None = None,
) -> list[ExpiryWarning]:
    """Stock that expires within `within_days` of `today` (or has expired), at one site or at
    every store the actor keeps; soonest first."""
    require(actor, Action.MANAGE_STOCK, "stock")
    query = (
        select(StockBalance, VaccineLot)
        .join(VaccineLot, VaccineLot.id == StockBalance.lot_id)
        .where(
            StockBalance.quantity > 0,
            VaccineLot.expiry_date <= today + timedelta(days=within_days),
        )
        .order_by(VaccineLot.expiry_date, StockBalance.site_id, VaccineLot.lot_number)
    )
    if site_id is not None:
        _require_stock_at(session, actor, site_id)
        query = query.where(StockBalance.site_id == site_id)
    kept: dict[str, bool] = {}
    warnings = []
    for stock, lot in session.execute(query):
        if stock.site_id not in kept:
            facts = _store_facts(session, actor, stock.site_id)
            kept[stock.site_id] = may_manage_stock_at(actor, facts)
        if kept[stock.site_id]:
            warnings.append(
                ExpiryWarning(
                    site_id=stock.site_id,
                    lot=lot_out(lot),
                    quantity=stock.quantity,
                    days_left=(lot.expiry_date - today).days,
                )
            )
    return warnings


def suggest_lot(session: Session, actor: Actor, site_id: str, cvx: str, at: datetime) -> FefoChoice:
    """The lot the next dose of this vaccine should come from at the site: a usable opened vial
    first, then the released, unexpired lot with stock that expires first."""
    _require_stock_at(session, actor, site_id)
    at = _utc(at)
    rows = session.execute(
        select(VaccineLot, StockBalance.quantity)
        .join(StockBalance, StockBalance.lot_id == VaccineLot.id)
        .where(
            StockBalance.site_id == site_id,
            StockBalance.quantity > 0,
            VaccineLot.cvx == normalize_cvx(cvx),
            VaccineLot.release_status == ReleaseStatus.RELEASED.value,
            VaccineLot.expiry_date >= at.date(),
        )
    )
    lots = {}
    stock = []
    for lot, quantity in rows:
        vials = list(_open_vials(session, lot.id, site_id))
        usable_vials = [v for v in vials if _utc(v.discard_after) > at]
        lots[lot.id] = lot
        stock.append(
            LotStock(
                lot_id=lot.id,
                lot_number=lot.lot_number,
                expiry_date=lot.expiry_date,
                unopened_doses=quantity - sum(v.doses_left for v in vials),
                opened_vial_doses=sum(v.doses_left for v in usable_vials),
                opened_vial_discard_after=min(
                    (_utc(v.discard_after) for v in usable_vials), default=None
                ),
            )
        )
    choice = first_to_use(stock)
    if choice is None:
        raise NotFound(f"no released, unexpired stock of CVX {cvx} at site {site_id}")
    return FefoChoice(
        lot=lot_out(lots[choice.lot_id]),
        opened_vial=choice.opened_vial_doses > 0,
        doses_in_opened_vial=choice.opened_vial_doses,
        unopened_doses=choice.unopened_doses,
    )


# --- Giving a dose -------------------------------------------------------------------------------

_WHY_NOT_USABLE = {
    ReleaseStatus.PENDING: "is waiting for release by the national control laboratory",
    ReleaseStatus.REJECTED: "was rejected by the national control laboratory",
    ReleaseStatus.QUARANTINED: "is in quarantine",
    ReleaseStatus.RECALLED: "has been recalled",
}


def site_keeps_stock(session: Session, site_id: str) -> bool:
    """Whether the site's vaccine stock is kept in immunis (it has ever held a lot here)."""
    return (
        session.scalars(select(StockBalance.lot_id).where(StockBalance.site_id == site_id)).first()
        is not None
    )


def check_known_lot(
    session: Session, lot_number: str, cvx: str, on_date: date, *, mvx: str | None = None
) -> None:
    """For a site whose stock is kept elsewhere: a lot immunis knows must still be usable (not
    pending, rejected, quarantined, recalled or expired); a lot it does not know passes."""
    wanted = lot_number.strip().upper()
    query = select(VaccineLot).where(
        VaccineLot.lot_number == wanted, VaccineLot.cvx == normalize_cvx(cvx)
    )
    if mvx:
        query = query.where(VaccineLot.mvx == mvx.upper())
    for lot in session.scalars(query):
        status = ReleaseStatus(lot.release_status)
        if not usable(status):
            reason = f" ({lot.status_reason})" if lot.status_reason else ""
            raise InvalidInput(f"lot {wanted} {_WHY_NOT_USABLE[status]}{reason}: do not use it")
        if lot.expiry_date < on_date:
            raise InvalidInput(f"lot {wanted} expired on {lot.expiry_date}")


def check_lot_for_dose(
    session: Session,
    site_id: str,
    lot_number: str,
    cvx: str,
    on_date: date,
    *,
    mvx: str | None = None,
) -> VaccineLot:
    """The lot a dose about to be recorded was given from, if that dose may be given: the lot
    is registered, of this vaccine, released, unexpired on `on_date`, and in stock at the site.
    Otherwise InvalidInput saying which of these fails."""
    wanted = lot_number.strip().upper()
    query = select(VaccineLot).where(VaccineLot.lot_number == wanted)
    if mvx:
        query = query.where(VaccineLot.mvx == mvx.upper())
    lots = list(session.scalars(query))
    if not lots:
        raise InvalidInput(f"lot {wanted} is not a registered vaccine lot")
    of_this_vaccine = [lot for lot in lots if lot.cvx == normalize_cvx(cvx)]
    if not of_this_vaccine:
        raise InvalidInput(f"lot {wanted} is CVX {lots[0].cvx}, not CVX {cvx}")
    if len(of_this_vaccine) > 1:
        raise InvalidInput(f"lot number {wanted} is used by several manufacturers: give the MVX")
    lot = of_this_vaccine[0]
    status = ReleaseStatus(lot.release_status)
    if not usable(status):
        reason = f" ({lot.status_reason})" if lot.status_reason else ""
        raise InvalidInput(f"lot {wanted} {_WHY_NOT_USABLE[status]}{reason}: do not use it")
    if lot.expiry_date < on_date:
        raise InvalidInput(f"lot {wanted} expired on {lot.expiry_date}")
    stock = session.get(StockBalance, (lot.id, site_id))
    if stock is None or stock.quantity < 1:
        raise InvalidInput(f"lot {wanted} has no stock at this site")
    return lot


def _open_vials(session: Session, lot_id: str, site_id: str) -> list[OpenedVial]:
    return list(
        session.scalars(
            select(OpenedVial)
            .where(
                OpenedVial.lot_id == lot_id,
                OpenedVial.site_id == site_id,
                OpenedVial.closed_at.is_(None),
            )
            .order_by(OpenedVial.discard_after)
            .execution_options(populate_existing=True)
        )
    )


def _discard(session: Session, vial: OpenedVial, balance: StockBalance, now: datetime) -> None:
    """Close a vial whose time is up, writing its remaining doses off as wasted."""
    if vial.doses_left:
        _post(
            session,
            None,
            balance,
            MovementKind.WASTED,
            -vial.doses_left,
            _utc(vial.discard_after).date(),
            reason=WastageReason.OPENED_VIAL_DISCARDED.value,
        )
    vial.doses_left = 0
    vial.closed_at = now


def consume_dose(
    session: Session,
    actor: Actor,
    site_id: str,
    lot: VaccineLot,
    immunization_id: str,
    on_date: date,
    *,
    at: datetime | None = None,
) -> None:
    """Take the dose of a just-recorded immunization out of the site's stock. From a multi-dose
    lot the dose comes from the vial already open, or a new vial is opened (and any vial whose
    time is up is discarded first). `at` is when the dose was given (default: now). An
    immunization that holds its dose already (taken and not returned) takes nothing more."""
    _require_stock_at(session, actor, site_id)
    balance = _locked_balance(session, lot.id, site_id)
    # Read under the balance's lock: two requests for one immunization cannot both take a dose.
    if _doses_held(_dose_movements(session, immunization_id)):
        return
    _take_dose(session, actor, balance, lot, immunization_id, on_date, _utc(at or utcnow()))


def _take_dose(
    session: Session,
    actor: Actor,
    balance: StockBalance,
    lot: VaccineLot,
    immunization_id: str,
    on_date: date,
    at: datetime,
) -> None:
    """One dose out of the (locked) balance; from a multi-dose lot, out of the vial in use."""
    if lot.doses_per_vial == 1:
        _withdraw(
            session,
            actor,
            balance,
            lot,
            MovementKind.ADMINISTERED,
            1,
            on_date,
            immunization_id=immunization_id,
        )
        return
    vial = _vial_in_use(session, balance, lot, on_date, at)
    vial.doses_left -= 1
    if vial.doses_left == 0:
        vial.closed_at = at
    _post(
        session,
        actor,
        balance,
        MovementKind.ADMINISTERED,
        -1,
        on_date,
        immunization_id=immunization_id,
    )


def _vial_in_use(
    session: Session, balance: StockBalance, lot: VaccineLot, on_date: date, at: datetime
) -> OpenedVial:
    """The opened vial the next dose comes from. Vials whose time is up are discarded first; a
    new vial is opened when none is left (a whole one, or what remains of the stock)."""
    in_use = None
    for vial in _open_vials(session, lot.id, balance.site_id):
        if _utc(vial.discard_after) <= at:
            _discard(session, vial, balance, at)
        elif in_use is None:
            in_use = vial
    if in_use is not None:
        return in_use
    available = _available(session, balance, on_date)
    if available < 1:
        raise Conflict(f"lot {lot.lot_number} has no unopened stock at this site")
    opened = OpenedVial(
        site_id=balance.site_id,
        lot_id=lot.id,
        opened_at=at,
        doses_left=min(lot.doses_per_vial, available),
        discard_after=at + timedelta(hours=lot.hours_usable_after_opening or 0),
    )
    session.add(opened)
    return opened


def close_expired_vials(session: Session, now: datetime) -> int:
    """Discard every opened vial whose time is up, writing its remaining doses off as wasted;
    run by a scheduled job (and at each dose for its own lot). How many vials were closed."""
    now = _utc(now)
    vials = list(
        session.scalars(
            select(OpenedVial)
            .where(OpenedVial.closed_at.is_(None), OpenedVial.discard_after <= now)
            # One lock order for every caller, so two jobs cannot deadlock.
            .order_by(OpenedVial.lot_id, OpenedVial.site_id, OpenedVial.id)
        )
    )
    closed = 0
    for vial in vials:
        balance = _locked_balance(session, vial.lot_id, vial.site_id)
        session.refresh(vial)  # a dose given meanwhile may have closed it
        if vial.closed_at is None:
            _discard(session, vial, balance, now)
            closed += 1
    session.flush()
    return closed


# --- Correcting a dose's record ------------------------------------------------------------------

# The reasons written on a returned dose's ledger line: its record marked entered in error, or
# corrected to another lot or site (the dose then comes out of that one).
ENTERED_IN_ERROR = "entered-in-error"
CORRECTED = "corrected"


class _DoseStock(NamedTuple):
    """Where an immunization's dose was taken from: its last `administered` line, the (locked)
    balance of that lot at that site, the lot, and every ledger line of the immunization."""

    given: StockMovement
    balance: StockBalance
    lot: VaccineLot
    movements: list[StockMovement]


def _dose_movements(session: Session, immunization_id: str) -> list[StockMovement]:
    return list(
        session.scalars(
            select(StockMovement)
            .where(StockMovement.immunization_id == immunization_id)
            .order_by(StockMovement.id)
        )
    )


def _doses_held(movements: list[StockMovement]) -> int:
    """Doses an immunization has out of stock: taken, less returned (0 or 1)."""
    counted = (MovementKind.ADMINISTERED, MovementKind.RETURNED)
    return -sum(m.quantity for m in movements if m.kind in counted)


def _doses_written_off(movements: list[StockMovement]) -> int:
    """Returned doses of an immunization that no open vial could take back (0 or 1)."""
    return -sum(m.quantity for m in movements if m.kind == MovementKind.WASTED)


def _stock_of_dose(
    session: Session, actor: Actor, immunization_id: str, *, held: int
) -> _DoseStock | None:
    """The stock an immunization's dose came from, locked, if the immunization holds `held`
    doses of it (checked again under the lock); None when it does not, or never took a dose
    from stock (then no right to keep stock is needed: nothing will change)."""
    movements = _dose_movements(session, immunization_id)
    given = next((m for m in reversed(movements) if m.kind == MovementKind.ADMINISTERED), None)
    if given is None or _doses_held(movements) != held:
        return None
    _require_stock_at(session, actor, given.site_id)
    balance = _locked_balance(session, given.lot_id, given.site_id)
    movements = _dose_movements(session, immunization_id)
    if _doses_held(movements) != held:
        return None
    return _DoseStock(given, balance, _load_lot(session, given.lot_id), movements)


def return_dose(
    session: Session, actor: Actor, immunization_id: str, *, reason: str = ENTERED_IN_ERROR
) -> None:
    """Give back to stock the dose an immunization took, now that its record is marked entered
    in error (or corrected to another lot or site: `reason`): a `returned` line, dated like the
    dose it reverses. A dose of a multi-dose lot goes back into a vial of that lot open at the
    site and still usable; when there is none, it cannot come back, so it is written off as
    wasted with its vial and the balance stays as it was.
    An immunization holding no dose from stock (reported, given where stock is kept elsewhere,
    or returned already) changes nothing."""
    found = _stock_of_dose(session, actor, immunization_id, held=1)
    if found is None:
        return
    given, balance, lot, _ = found
    _post(
        session,
        actor,
        balance,
        MovementKind.RETURNED,
        1,
        given.occurred_on,
        immunization_id=immunization_id,
        reason=reason,
    )
    if lot.doses_per_vial > 1 and not _back_into_open_vial(session, balance, lot, utcnow()):
        _post(
            session,
            actor,
            balance,
            MovementKind.WASTED,
            -1,
            given.occurred_on,
            immunization_id=immunization_id,
            reason=WastageReason.OPENED_VIAL_DISCARDED.value,
            note=f"{reason} after its vial was closed: the dose went with the vial",
        )


def _back_into_open_vial(
    session: Session, balance: StockBalance, lot: VaccineLot, now: datetime
) -> bool:
    """Put one dose back into a vial of the lot open at the site, usable now and not full;
    vials whose time is up are discarded first. False when no vial can take it."""
    for vial in _open_vials(session, lot.id, balance.site_id):
        if _utc(vial.discard_after) <= now:
            _discard(session, vial, balance, now)
        elif vial.doses_left < lot.doses_per_vial:
            vial.doses_left += 1
            return True
    return False


def take_dose_again(session: Session, actor: Actor, immunization_id: str, on_date: date) -> None:
    """Take out of stock again the dose of an immunization restored to completed after being
    marked entered in error: from the lot and site it was first taken from, as `consume_dose`
    does (a multi-dose vial open now, or one opened). A returned dose that was written off with
    its vial is not taken from another vial: the write-off is reversed (it was given after all)
    and the dose counted as administered. An immunization that holds its dose already, or never
    took one from stock, changes nothing."""
    found = _stock_of_dose(session, actor, immunization_id, held=0)
    if found is None:
        return
    given, balance, lot, movements = found
    if not _doses_written_off(movements):
        _take_dose(session, actor, balance, lot, immunization_id, on_date, utcnow())
        return
    _post(
        session,
        actor,
        balance,
        MovementKind.WASTED,
        1,
        given.occurred_on,
        immunization_id=immunization_id,
        reason=WastageReason.OPENED_VIAL_DISCARDED.value,
        note="restored to completed: the dose written off was given after all",
    )
    _withdraw(
        session,
        actor,
        balance,
        lot,
        MovementKind.ADMINISTERED,
        1,
        on_date,
        immunization_id=immunization_id,
    )
