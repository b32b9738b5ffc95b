"""The FHIR R4 face's router, under /fhir: each interaction reads the request, calls the
registry's services in one transaction, and answers with FHIR resources."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Header, Request
from fastapi.routing import APIRoute
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from sqlalchemy.orm import Session
from starlette.responses import Response

from immunis.access.policy import Actor
from immunis.errors import NotFound
from immunis.forecast import Patient as EnginePatient
from immunis.forecast import forecast
from immunis.interop.fhir import immds_forecast, scheduling, search
from immunis.interop.fhir.capability import capability_statement
from immunis.interop.fhir.datatypes import reference
from immunis.interop.fhir.forecast_resources import (
    doses_in_engine_order,
    evaluation_resources,
    recommendation_resource,
)
from immunis.interop.fhir.immunization import DoseRecord, dose_record, immunization_resource
from immunis.interop.fhir.location import (
    location_resource,
    organization_in,
    organization_resource,
    site_in,
)
from immunis.interop.fhir.outcome import FhirError, fhir_response, outcome_response, refuse
from immunis.interop.fhir.patient import patient_resource, person_in
from immunis.interop.fhir.validation import Model, parse_json, validate
from immunis.registry import service, sites
from immunis.registry.schemas import Identifier, PersonOut
from immunis.registry.service import NATIONAL_ID_SYSTEMS
from immunis.schedule.catalog import SCHEDULE_IDS, load_schedule
from immunis.settings import get_settings
from immunis.web.context import FhirContext

PREFIX = "/fhir"
CONDITIONAL_CREATE = ("Patient", "Immunization")


class FhirRoute(APIRoute):
    """A route whose own refusals (FhirError) are answered with an OperationOutcome; domain errors
    go on to the application's handler, which audits refusals and formats them for /fhir."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except FhirError as error:
                return outcome_response(error)

        return handle


router = APIRouter(prefix=PREFIX, tags=["fhir"], route_class=FhirRoute)


async def _body(request: Request) -> dict[str, Any]:
    return parse_json(await request.body(), request.headers.get("content-type"))


Body = Annotated[dict[str, Any], Depends(_body)]
IfNoneExist = Annotated[str | None, Header(alias="If-None-Exist")]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def _url(request: Request, resource_type: str, resource_id: str) -> str:
    return f"{_base(request)}/{resource_type}/{resource_id}"


def _created(request: Request, resource: dict[str, Any]) -> Response:
    location = _url(request, resource["resourceType"], resource["id"])
    return fhir_response(resource, 201, {"Location": location})


def _replacing(model: type[Model], data: dict[str, Any], resource_id: str) -> Model:
    """The resource an update sends, which names the one it replaces in its body too (FHIR's
    rule for update)."""
    resource = validate(model, data)
    if resource.id != resource_id:
        raise refuse(
            400,
            "invalid",
            f"{model.get_resource_type()}.id",
            f"must be {resource_id!r}, got {resource.id!r}",
        )
    return resource


def _query(request: Request, resource_type: str) -> dict[str, str]:
    return search.search_values(resource_type, request.query_params.multi_items())


def _if_none_exist(header: str) -> list[tuple[str, str]]:
    """The search in an If-None-Exist header: `name=value&...`, URL-encoded."""
    try:
        return parse_qsl(header, keep_blank_values=True, strict_parsing=True)
    except ValueError as error:
        raise refuse(
            400, "invalid", "If-None-Exist", f"expected name=value&...: {header!r}"
        ) from error


@router.get("/metadata")
def metadata(request: Request) -> Response:
    """The CapabilityStatement; it is public, like the list of what any server can do."""
    statement = capability_statement(
        router.routes, PREFIX, _base(request), CONDITIONAL_CREATE, date.today()
    )
    return fhir_response(statement)


# --- Patient ----------------------------------------------------------------------------------


def _find_patients(
    session: Session, actor: Actor, values: dict[str, str]
) -> tuple[list[PersonOut], int | None]:
    """The people a Patient search finds, at most `_count` of them; and `_count` again when
    there were more (else None)."""
    criteria: dict[str, Any] = {}
    if "identifier" in values:
        system, value = search.token(values["identifier"], "identifier")
        if system in NATIONAL_ID_SYSTEMS:
            criteria["national_id"] = value
        else:
            criteria["identifier"] = Identifier(system=system, value=value)
    for name in ("name", "family", "given", "phone"):
        if name in values:
            criteria[name] = values[name]
    if "birthdate" in values:
        criteria["birth_date"] = search.date_value(values["birthdate"], "birthdate")
    count = search.count_value(values)
    found = service.search_persons(session, actor, limit=count + 1, **criteria)
    return found[:count], (count if len(found) > count else None)


@router.get("/Patient/{resource_id}")
def read_patient(resource_id: str, context: FhirContext) -> Response:
    with context.transaction() as session:
        person = service.get_person(session, context.actor, resource_id)
    return fhir_response(patient_resource(person))


@router.get("/Patient")
def search_patients(request: Request, context: FhirContext) -> Response:
    values = _query(request, "Patient")
    with context.transaction() as session:
        found, truncated_at = _find_patients(session, context.actor, values)
    return fhir_response(
        search.searchset(
            str(request.url),
            [(_url(request, "Patient", p.id), patient_resource(p)) for p in found],
            truncated_at,
        )
    )


@router.post("/Patient")
def create_patient(
    request: Request, context: FhirContext, data: Body, if_none_exist: IfNoneExist = None
) -> Response:
    """Register a person; with If-None-Exist, only when no one matches the search in it."""
    person = person_in(validate(Patient, data))
    condition = None
    if if_none_exist is not None:
        condition = search.search_values("Patient", _if_none_exist(if_none_exist), "If-None-Exist")
    with context.transaction() as session:
        if condition is not None:
            matches, truncated_at = _find_patients(session, context.actor, condition)
            if len(matches) > 1 or truncated_at is not None:
                raise refuse(
                    412,
                    "multiple-matches",
                    "If-None-Exist",
                    f"{if_none_exist!r} matches more than one Patient",
                )
            if matches:
                return fhir_response(patient_resource(matches[0]))
        created = service.create_person(session, context.actor, person)
    return _created(request, patient_resource(created))


@router.put("/Patient/{resource_id}")
def update_patient(resource_id: str, context: FhirContext, data: Body) -> Response:
    person = person_in(_replacing(Patient, data, resource_id))
    with context.transaction() as session:
        updated = service.update_person(session, context.actor, resource_id, person)
    return fhir_response(patient_resource(updated))


# --- Immunization -----------------------------------------------------------------------------


@router.get("/Immunization/{resource_id}")
def read_immunization(resource_id: str, context: FhirContext) -> Response:
    with context.transaction() as session:
        dose = service.get_immunization(session, context.actor, resource_id)
    return fhir_response(immunization_resource(dose))


def _patient_id(values: dict[str, str]) -> str:
    if "patient" not in values:
        raise refuse(400, "required", "search parameter patient", "is required")
    return search.reference_value(values["patient"], "Patient", "patient")


@router.get("/Immunization")
def search_immunizations(request: Request, context: FhirContext) -> Response:
    person_id = _patient_id(_query(request, "Immunization"))
    with context.transaction() as session:
        doses = service.list_immunizations(session, context.actor, person_id)
    return fhir_response(
        search.searchset(
            str(request.url),
            [(_url(request, "Immunization", d.id), immunization_resource(d)) for d in doses],
        )
    )


def _same_identifier(condition: list[tuple[str, str]], record: DoseRecord) -> None:
    """Immunization's If-None-Exist must name the dose's own identifier, which the registry keeps
    unique: a dose sent again is found there."""
    external = record.dose.external_id
    names = [name for name, _ in condition]
    if names == ["identifier"] and external is not None:
        wanted = search.token(condition[0][1], "identifier")
        if wanted == (external.system, external.value):
            return
    raise refuse(
        400,
        "not-supported",
        "If-None-Exist",
        "for Immunization it must be identifier=<system>|<value>, the resource's first identifier",
    )


@router.post("/Immunization")
def create_immunization(
    request: Request, context: FhirContext, data: Body, if_none_exist: IfNoneExist = None
) -> Response:
    """Record a dose; one sent again with the same identifier is answered with the first (200)."""
    record = dose_record(validate(Immunization, data), creating=True)
    if if_none_exist is not None:
        _same_identifier(_if_none_exist(if_none_exist), record)
    with context.transaction() as session:
        try:
            dose, created = service.record_immunization(
                session, context.actor, record.person_id, record.dose
            )
        except NotFound as error:
            raise refuse(422, "not-found", "Immunization.patient", str(error)) from error
    resource = immunization_resource(dose)
    return _created(request, resource) if created else fhir_response(resource)


@router.put("/Immunization/{resource_id}")
def update_immunization(resource_id: str, context: FhirContext, data: Body) -> Response:
    record = dose_record(_replacing(Immunization, data, resource_id), creating=False)
    with context.transaction() as session:
        dose = service.update_immunization(
            session, context.actor, resource_id, record.person_id, record.dose, record.status
        )
    return fhir_response(immunization_resource(dose))


# --- Location and Organization ------------------------------------------------------------------


@router.get("/Location/{resource_id}")
def read_location(resource_id: str, context: FhirContext) -> Response:
    with context.transaction() as session:
        site = sites.get_site(session, context.actor, resource_id)
    return fhir_response(location_resource(site))


def _listing(
    request: Request,
    resource_type: str,
    found: list[Any],
    count: int,
    to_resource: Callable[[Any], dict[str, Any]],
) -> Response:
    """A searchset of sites or organisations, `count` of them at most (one more was asked for, to
    know whether there are more)."""
    return fhir_response(
        search.searchset(
            str(request.url),
            [(_url(request, resource_type, r.id), to_resource(r)) for r in found[:count]],
            truncated_at=count if len(found) > count else None,
        )
    )


@router.get("/Location")
def search_locations(request: Request, context: FhirContext) -> Response:
    values = _query(request, "Location")
    count = search.count_value(values)
    criteria: dict[str, Any] = {}
    if "identifier" in values:
        criteria["code"] = search.token(values["identifier"], "identifier")[1]
    if "name" in values:
        criteria["name"] = values["name"]
    if "organization" in values:
        criteria["organization_id"] = search.reference_value(
            values["organization"], "Organization", "organization"
        )
    with context.transaction() as session:
        found = sites.search_sites(session, context.actor, limit=count + 1, **criteria)
    return _listing(request, "Location", found, count, location_resource)


@router.post("/Location")
def create_location(request: Request, context: FhirContext, data: Body) -> Response:
    site = site_in(validate(Location, data))
    with context.transaction() as session:
        created = sites.create_site(session, context.actor, site)
    return _created(request, location_resource(created))


@router.put("/Location/{resource_id}")
def update_location(resource_id: str, context: FhirContext, data: Body) -> Response:
    site = site_in(_replacing(Location, data, resource_id))
    with context.transaction() as session:
        updated = sites.update_site(session, context.actor, resource_id, site)
    return fhir_response(location_resource(updated))


@router.get("/Organization/{resource_id}")
def read_organization(resource_id: str, context: FhirContext) -> Response:
    with context.transaction() as session:
        organization = sites.get_organization(session, context.actor, resource_id)
    return fhir_response(organization_resource(organization))


@router.get("/Organization")
def search_organizations(request: Request, context: FhirContext) -> Response:
    values = _query(request, "Organization")
    count = search.count_value(values)
    criteria: dict[str, Any] = {}
    if "identifier" in values:
        criteria["code"] = search.token(values["identifier"], "identifier")[1]
    if "name" in values:
        criteria["name"] = values["name"]
    if "partof" in values:
        criteria["parent_id"] = search.reference_value(values["partof"], "Organization", "partof")
    with context.transaction() as session:
        found = sites.search_organizations(session, context.actor, limit=count + 1, **criteria)
    return _listing(request, "Organization", found, count, organization_resource)


@router.post("/Organization")
def create_organization(request: Request, context: FhirContext, data: Body) -> Response:
    organization = organization_in(validate(Organization, data))
    with context.transaction() as session:
        created = sites.create_organization(session, context.actor, organization)
    return _created(request, organization_resource(created))


@router.put("/Organization/{resource_id}")
def update_organization(resource_id: str, context: FhirContext, data: Body) -> Response:
    organization = organization_in(_replacing(Organization, data, resource_id))
    with context.transaction() as session:
        updated = sites.update_organization(session, context.actor, resource_id, organization)
    return fhir_response(organization_resource(updated))


# --- Forecasts --------------------------------------------------------------------------------


def _forecast_query(request: Request, resource_type: str) -> tuple[str, date, str]:
    """The patient, assessment date and schedule of a recommendation or evaluation search."""
    values = _query(request, resource_type)
    person_id = _patient_id(values)
    on = date.today()
    if "assessment-date" in values:
        on = search.date_value(values["assessment-date"], "assessment-date")
    return person_id, on, _schedule(values.get("schedule"), "search parameter schedule")


def _schedule(schedule_id: str | None, where: str) -> str:
    if schedule_id is None:
        return get_settings().default_schedule
    if schedule_id not in SCHEDULE_IDS:
        raise refuse(
            400,
            "value",
            where,
            f"unknown schedule {schedule_id!r}; one of {', '.join(SCHEDULE_IDS)}",
        )
    return schedule_id


@router.get("/ImmunizationRecommendation")
def search_recommendations(request: Request, context: FhirContext) -> Response:
    """The patient's forecast, made now from their record: one ImmunizationRecommendation."""
    person_id, on, schedule_id = _forecast_query(request, "ImmunizationRecommendation")
    with context.transaction() as session:
        person, answer = service.person_forecast(session, context.actor, person_id, on, schedule_id)
    resource = recommendation_resource(answer, reference("Patient", person.id))
    return fhir_response(search.searchset(str(request.url), [(None, resource)]))


@router.get("/ImmunizationEvaluation")
def search_evaluations(request: Request, context: FhirContext) -> Response:
    """The patient's doses evaluated now: one ImmunizationEvaluation per dose and antigen."""
    person_id, on, schedule_id = _forecast_query(request, "ImmunizationEvaluation")
    with context.transaction() as session:
        person, answer, given = service.person_forecast_with_doses(
            session, context.actor, person_id, on, schedule_id
        )
    ordered = doses_in_engine_order(EnginePatient(person.birth_date), given, on, schedule_id)
    references = [reference("Immunization", str(d.id)) for d in ordered]
    resources = evaluation_resources(answer, reference("Patient", person.id), references)
    return fhir_response(search.searchset(str(request.url), [(None, r) for r in resources]))


@router.post("/$immds-forecast")
def immds_forecast_operation(
    context: FhirContext, data: Body, schedule: str | None = None
) -> Response:
    """ImmDS forecast of the history in the request, under the schedule its `schedule` parameter
    names, else the `schedule` query parameter's, else the server's. Any authenticated user may
    ask; nothing is read from or written to the registry."""
    default = _schedule(schedule, "query parameter schedule")
    asked = immds_forecast.read_request(data)
    schedule_id = asked.schedule_id or default
    answer = forecast(asked.patient, asked.doses, asked.assessment_date, load_schedule(schedule_id))
    return fhir_response(immds_forecast.forecast_parameters(asked, answer))


# Booking: Schedule, Slot and Appointment (scheduling.py), before the catch-all below.
for path, endpoint, method in scheduling.ROUTES:
    router.add_api_route(path, endpoint, methods=[method])


@router.api_route(
    "/{path:path}",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
def unsupported(path: str, request: Request) -> Response:
    """Anything else: an OperationOutcome saying what is not supported."""
    resource_type = path.split("/")[0]
    if resource_type in search.SEARCH_PARAMETERS:
        raise refuse(
            405,
            "not-supported",
            None,
            f"{request.method} /fhir/{path} is not supported; see /fhir/metadata",
        )
    raise refuse(
        404,
        "not-supported",
        None,
        f"{resource_type!r} is not a resource type or operation of this server; see /fhir/metadata",
    )
