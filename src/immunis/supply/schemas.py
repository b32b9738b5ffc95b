"""The supply room's data as it crosses the service boundary."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from immunis.supply.ledger import MovementKind, WastageReason
from immunis.supply.release import RecallAction, ReleaseStatus
from immunis.supply.stores import StoreLevel

CVX = Field(min_length=1, max_length=10, pattern=r"^[0-9A-Za-z-]+$")
Quantity = Field(gt=0, le=10_000_000, description="doses")
VvmStage = Field(default=None, ge=1, le=4, description="vaccine vial monitor stage seen")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LotIn(_Strict):
    """A manufacturer's lot as registered by the laboratory or the programme."""

    cvx: str = CVX
    mvx: str = Field(min_length=1, max_length=10, pattern=r"^[0-9A-Za-z]+$")
    product_name: str | None = Field(default=None, max_length=200)
    lot_number: str = Field(min_length=1, max_length=50)
    expiry_date: date
    doses_per_vial: int = Field(default=1, ge=1, le=50)
    hours_usable_after_opening: int | None = Field(default=None, ge=1, le=28 * 24)

    @model_validator(mode="after")
    def _multi_dose_vials_say_how_long_they_last(self) -> LotIn:
        if self.doses_per_vial > 1 and self.hours_usable_after_opening is None:
            raise ValueError("a multi-dose lot needs hours_usable_after_opening")
        return self


class LotOut(LotIn):
    id: str
    release_status: ReleaseStatus
    recall_action: RecallAction
    status_reason: str | None
    status_set_by: str | None
    status_set_at: datetime
    registered_at: datetime


class StatusChangeIn(_Strict):
    to: ReleaseStatus
    reason: str = Field(min_length=1, max_length=500)
    recall_action: RecallAction | None = Field(
        default=None, description="only when recalling: what it means for doses already given"
    )


class StatusChangeOut(BaseModel):
    from_status: ReleaseStatus | None
    to_status: ReleaseStatus
    recall_action: RecallAction | None
    reason: str
    changed_by: str | None
    changed_at: datetime


class LotDetail(LotOut):
    history: list[StatusChangeOut]


class RecallSummary(BaseModel):
    lot_id: str
    doses_flagged: int
    people: int
    messages_queued: int  # new ones: a person already told is not told twice


class StoreIn(_Strict):
    level: StoreLevel


class StoreOut(StoreIn):
    site_id: str


class ReceiptIn(_Strict):
    """Doses entering the chain at a store: a delivery from the manufacturer, an import."""

    site_id: str = Field(max_length=36)
    lot_id: str = Field(max_length=36)
    quantity: int = Quantity
    occurred_on: date
    reference: str | None = Field(default=None, max_length=200, description="delivery note")
    vvm_stage: int | None = VvmStage


class TransferIn(_Strict):
    from_site_id: str = Field(max_length=36)
    to_site_id: str = Field(max_length=36)
    lot_id: str = Field(max_length=36)
    quantity: int = Quantity
    dispatched_on: date


class ArrivalIn(_Strict):
    received_on: date
    vvm_stage: int | None = VvmStage


class TransferOut(BaseModel):
    id: str
    lot_id: str
    from_site_id: str
    to_site_id: str
    quantity: int
    status: Literal["in_transit", "received"]
    dispatched_on: date
    received_on: date | None


class WastageIn(_Strict):
    site_id: str = Field(max_length=36)
    lot_id: str = Field(max_length=36)
    quantity: int = Quantity
    occurred_on: date
    reason: WastageReason
    vvm_stage: int | None = VvmStage
    note: str | None = Field(default=None, max_length=200)


class AdjustmentIn(_Strict):
    """A correction after a physical count: positive when more doses were found."""

    site_id: str = Field(max_length=36)
    lot_id: str = Field(max_length=36)
    quantity: int = Field(ge=-10_000_000, le=10_000_000)
    occurred_on: date
    reason: str = Field(min_length=1, max_length=200)

    @field_validator("quantity")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("an adjustment changes the stock: give a quantity other than 0")
        return value


class MovementOut(BaseModel):
    id: int
    lot_id: str
    site_id: str
    kind: MovementKind
    quantity: int
    occurred_on: date
    reason: str | None
    note: str | None
    vvm_stage: int | None
    transfer_id: str | None
    immunization_id: str | None
    recorded_at: datetime


class LotBalance(BaseModel):
    lot: LotOut
    quantity: int


class ExpiryWarning(BaseModel):
    site_id: str
    lot: LotOut
    quantity: int
    days_left: int  # negative: already expired


class FefoChoice(BaseModel):
    """The lot to take the next dose from at a site."""

    lot: LotOut
    opened_vial: bool  # take it from the vial already open
    doses_in_opened_vial: int
    unopened_doses: int
