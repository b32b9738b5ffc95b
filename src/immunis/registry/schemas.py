"""The registry's data as it crosses the service boundary (API, FHIR and HL7 map to these)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Sex = Literal["female", "male", "other", "unknown"]
ImmunizationSource = Literal["administered", "historical"]
ImmunizationStatus = Literal["completed", "entered-in-error"]

# Vietnamese citizen identity card (CCCD) numbers have 12 digits; older ID cards (CMND) had 9.
NATIONAL_ID_PATTERN = r"^(\d{9}|\d{12})$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Identifier(_Strict):
    """An identifier issued by some authority: the FHIR (system, value) pair."""

    system: str = Field(min_length=1, max_length=200)
    value: str = Field(min_length=1, max_length=100)


class Address(_Strict):
    """Where the person lives: the GSO administrative unit codes and a free-text line."""

    line: str | None = Field(default=None, max_length=300)
    province_code: str | None = Field(default=None, pattern=r"^\d{2}$")
    district_code: str | None = Field(default=None, pattern=r"^\d{3}$")
    commune_code: str | None = Field(default=None, pattern=r"^\d{5}$")


class GuardianLink(_Strict):
    guardian_id: str = Field(min_length=1, max_length=36)
    relationship: str = Field(default="parent", min_length=1, max_length=40)


class PersonIn(_Strict):
    national_id: str | None = Field(default=None, pattern=NATIONAL_ID_PATTERN)
    identifiers: list[Identifier] = Field(default_factory=list, max_length=20)
    family_name: str = Field(min_length=1, max_length=100)
    given_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    sex: Sex = "unknown"
    phone: str | None = Field(default=None, pattern=r"^\+?\d{9,15}$")
    address: Address | None = None
    managing_site_id: str | None = Field(default=None, max_length=36)
    guardians: list[GuardianLink] = Field(default_factory=list, max_length=10)

    @field_validator("birth_date")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("birth date is in the future")
        if value.year < 1900:
            raise ValueError("birth date is before 1900")
        return value


class PersonOut(PersonIn):
    id: str
    active: bool = True
    merged_into_id: str | None = None
    created_at: datetime
    updated_at: datetime


class ImmunizationIn(_Strict):
    date_administered: date
    cvx: str = Field(min_length=1, max_length=10, pattern=r"^[0-9A-Za-z-]+$")
    mvx: str | None = Field(default=None, max_length=10)
    product_name: str | None = Field(default=None, max_length=200)
    lot_number: str | None = Field(default=None, max_length=50)
    expiration_date: date | None = None
    dose_volume_ml: float | None = Field(default=None, gt=0, le=5)
    site_id: str | None = Field(default=None, max_length=36)
    performer: str | None = Field(default=None, max_length=200)
    source: ImmunizationSource = "administered"
    external_id: Identifier | None = None

    @field_validator("date_administered")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("date administered is in the future")
        return value


class ImmunizationOut(ImmunizationIn):
    id: str
    person_id: str
    status: ImmunizationStatus = "completed"
    recorded_at: datetime


class ObservationIn(_Strict):
    """A CDSi observation about the person: immunity, contraindication, indication."""

    code: str = Field(min_length=1, max_length=10, pattern=r"^[0-9A-Za-z-]+$")
    start_date: date | None = None
    end_date: date | None = None
    note: str | None = Field(default=None, max_length=500)


class ObservationOut(ObservationIn):
    id: str
    person_id: str
    recorded_at: datetime


class PersonMatch(BaseModel):
    """A likely duplicate and why it is thought to be one."""

    person: PersonOut
    score: float
    reasons: list[str]


class MergeIn(_Strict):
    """Which record to merge into the survivor, and why."""

    merged_id: str = Field(min_length=1, max_length=36)
    reason: str = Field(min_length=1, max_length=500)


class MergeOut(BaseModel):
    """A merge as recorded: what moved where, by whom, why, and whether it was undone."""

    id: str
    survivor_id: str
    merged_id: str
    reason: str
    merged_at: datetime
    merged_by: str | None
    undone_at: datetime | None = None
    undone_by: str | None = None
    moved: dict[str, Any]


class OrganizationIn(_Strict):
    """A health organisation as sent by an administrator."""

    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["public", "private"] = "public"
    parent_id: str | None = Field(default=None, max_length=36)


class OrganizationOut(OrganizationIn):
    id: str


class SiteIn(_Strict):
    """A vaccination site as sent by an administrator."""

    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    organization_id: str | None = Field(default=None, max_length=36)
    kind: str = Field(default="commune-health-station", pattern=r"^[a-z][a-z-]{0,29}$")
    address: Address | None = None
    active: bool = True


class SiteOut(SiteIn):
    id: str


class LotRecipient(BaseModel):
    """A dose given from one lot, its recipient, and the phones to reach them about a recall."""

    person: PersonOut
    dose: ImmunizationOut
    recall_action: str | None
    # The person's own phone first, then their guardians' (most recipients are infants).
    contact_phones: list[str]
