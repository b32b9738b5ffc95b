"""The registry's JSON API: people, their doses, observations and forecast."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from immunis.forecast_report import forecast_to_dict
from immunis.registry import duplicates, merge, service
from immunis.registry.schemas import (
    Identifier,
    ImmunizationIn,
    ImmunizationOut,
    MergeIn,
    MergeOut,
    ObservationIn,
    ObservationOut,
    PersonIn,
    PersonMatch,
    PersonOut,
)
from immunis.schedule.catalog import SCHEDULE_IDS
from immunis.settings import get_settings
from immunis.web.context import ApiContext

router = APIRouter(prefix="/api", tags=["registry"])


@router.post("/persons", status_code=status.HTTP_201_CREATED)
def create_person(data: PersonIn, context: ApiContext, response: Response) -> PersonOut:
    """Register a person. Records that may be the same person are named, not refused, in the
    X-Possible-Duplicates header (ids, best match first)."""
    with context.transaction() as session:
        created = service.create_person(session, context.actor, data)
        matches = duplicates.find_likely_duplicates(
            session, context.actor, data, excluding=created.id
        )
    if matches:
        response.headers["X-Possible-Duplicates"] = ",".join(m.person.id for m in matches)
    return created


@router.post("/persons/match")
def match_person(data: PersonIn, context: ApiContext) -> list[PersonMatch]:
    """The recorded people who may be the person described, best first, with the reasons."""
    with context.transaction() as session:
        return duplicates.find_likely_duplicates(session, context.actor, data)


@router.get("/persons")
def search_persons(
    context: ApiContext,
    national_id: Annotated[str | None, Query(pattern=r"^(\d{9}|\d{12})$")] = None,
    identifier_system: Annotated[str | None, Query(max_length=200)] = None,
    identifier_value: Annotated[str | None, Query(max_length=100)] = None,
    name: Annotated[str | None, Query(min_length=2, max_length=200)] = None,
    birth_date: date | None = None,
    phone: Annotated[str | None, Query(pattern=r"^\+?\d{9,15}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[PersonOut]:
    identifier = None
    if identifier_system and identifier_value:
        identifier = Identifier(system=identifier_system, value=identifier_value)
    with context.transaction() as session:
        return service.search_persons(
            session,
            context.actor,
            national_id=national_id,
            identifier=identifier,
            name=name,
            birth_date=birth_date,
            phone=phone,
            limit=limit,
        )


@router.get("/persons/{person_id}")
def read_person(person_id: str, context: ApiContext) -> PersonOut:
    with context.transaction() as session:
        return service.get_person(session, context.actor, person_id)


@router.put("/persons/{person_id}")
def update_person(person_id: str, data: PersonIn, context: ApiContext) -> PersonOut:
    with context.transaction() as session:
        return service.update_person(session, context.actor, person_id, data)


@router.get("/persons/{person_id}/immunizations")
def list_immunizations(person_id: str, context: ApiContext) -> list[ImmunizationOut]:
    with context.transaction() as session:
        return service.list_immunizations(session, context.actor, person_id)


@router.post("/persons/{person_id}/immunizations", status_code=status.HTTP_201_CREATED)
def record_immunization(
    person_id: str, data: ImmunizationIn, context: ApiContext, response: Response
) -> ImmunizationOut:
    with context.transaction() as session:
        recorded, created = service.record_immunization(session, context.actor, person_id, data)
    if not created:
        response.status_code = status.HTTP_200_OK
    return recorded


@router.post("/persons/{person_id}/observations", status_code=status.HTTP_201_CREATED)
def add_observation(person_id: str, data: ObservationIn, context: ApiContext) -> ObservationOut:
    with context.transaction() as session:
        return service.add_observation(session, context.actor, person_id, data)


@router.get("/persons/{person_id}/forecast")
def person_forecast(
    person_id: str,
    context: ApiContext,
    on: Annotated[date | None, Query(alias="date")] = None,
    schedule: Annotated[str | None, Query(pattern="^(" + "|".join(SCHEDULE_IDS) + ")$")] = None,
) -> dict[str, Any]:
    """The person's doses evaluated and what is due, under the chosen schedule."""
    with context.transaction() as session:
        person, answer = service.person_forecast(
            session,
            context.actor,
            person_id,
            on or date.today(),
            schedule or get_settings().default_schedule,
        )
    return {"person_id": person.id, **forecast_to_dict(answer)}


@router.post("/persons/{survivor_id}/merge", status_code=status.HTTP_201_CREATED)
def merge_persons(survivor_id: str, data: MergeIn, context: ApiContext) -> MergeOut:
    """Merge the duplicate `merged_id` into this person's record."""
    with context.transaction() as session:
        return merge.merge_persons(session, context.actor, survivor_id, data.merged_id, data.reason)


@router.post("/merges/{merge_id}/undo")
def undo_merge(merge_id: str, context: ApiContext) -> MergeOut:
    """Put back everything the merge moved and changed."""
    with context.transaction() as session:
        return merge.undo_merge(session, context.actor, merge_id)
