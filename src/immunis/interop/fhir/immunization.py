"""Immunization <-> the registry's recorded dose.

`primarySource` true (or absent) is a dose given by the sender (administered), false a dose
reported from elsewhere (historical). The first identifier is the dose's external id, which makes
re-sending the same dose harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.immunization import Immunization

from immunis.interop.fhir import systems
from immunis.interop.fhir.datatypes import (
    Problems,
    build,
    full_date,
    instant,
    reference,
    reference_id,
)
from immunis.registry.schemas import ImmunizationIn, ImmunizationOut, ImmunizationStatus

# Where each ImmunizationIn field is read from, to name it when the registry refuses a value.
_PATHS = {
    "date_administered": "Immunization.occurrenceDateTime",
    "cvx": "Immunization.vaccineCode.coding.code",
    "mvx": "Immunization.manufacturer.identifier.value",
    "product_name": "Immunization.vaccineCode.text",
    "lot_number": "Immunization.lotNumber",
    "expiration_date": "Immunization.expirationDate",
    "dose_volume_ml": "Immunization.doseQuantity.value",
    "site_id": "Immunization.location",
    "performer": "Immunization.performer.actor.display",
    "source": "Immunization.primarySource",
    "external_id": "Immunization.identifier",
}
_MILLILITRE = ("mL", "ml")


@dataclass(frozen=True, slots=True)
class DoseRecord:
    """A dose read from an Immunization: whose, what, and its status."""

    person_id: str
    dose: ImmunizationIn
    status: ImmunizationStatus


def _cvx(resource: Immunization, problems: Problems) -> str | None:
    codes = {c.code for c in resource.vaccineCode.coding or () if c.system == systems.CVX}
    if not codes:
        problems.add(
            "Immunization.vaccineCode",
            f"needs a coding with system {systems.CVX} and a code",
            "required",
        )
        return None
    if None in codes or len(codes) > 1:
        problems.add("Immunization.vaccineCode", "needs exactly one CVX code")
        return None
    return codes.pop()


def _dose_volume(resource: Immunization, problems: Problems) -> float | None:
    quantity = resource.doseQuantity
    if quantity is None:
        return None
    unit = quantity.code or quantity.unit
    if unit not in _MILLILITRE or (quantity.system not in (None, systems.UCUM)):
        problems.add("Immunization.doseQuantity", f"doses are recorded in mL, got {unit!r}")
    if quantity.value is None:
        problems.add("Immunization.doseQuantity.value", "is required", "required")
        return None
    return float(quantity.value)


def _performer(resource: Immunization) -> str | None:
    for performer in resource.performer or ():
        actor = performer.actor
        if actor.display or actor.reference:
            return str(actor.display or actor.reference)
    return None


def _mvx(resource: Immunization) -> str | None:
    manufacturer = resource.manufacturer
    identifier = manufacturer.identifier if manufacturer else None
    if identifier and identifier.system == systems.MVX:
        return str(identifier.value) if identifier.value else None
    return None


def _external_id(resource: Immunization, problems: Problems) -> dict[str, str] | None:
    if not resource.identifier:
        return None
    first = resource.identifier[0]
    if not first.system or not first.value:
        problems.add("Immunization.identifier[0]", "needs a system and a value", "required")
        return None
    return {"system": first.system, "value": first.value}


def dose_record(resource: Immunization, creating: bool) -> DoseRecord:
    """The registry's dose from a valid Immunization, or a 422 listing what immunis cannot accept.
    A new dose must be `completed`; an update may mark one `entered-in-error`."""
    problems = Problems()
    person_id = reference_id(resource.patient, "Patient", "Immunization.patient", problems)
    status: ImmunizationStatus = (
        "entered-in-error" if resource.status == "entered-in-error" else "completed"
    )
    if resource.status == "not-done":
        problems.add("Immunization.status", "immunis records doses given, not doses not given")
    elif status == "entered-in-error" and creating:
        problems.add("Immunization.status", "a new dose cannot be entered in error")
    if resource.occurrenceString is not None:
        problems.add(
            "Immunization.occurrenceString", "the date given is needed, as occurrenceDateTime"
        )
    occurrence = full_date(
        resource.occurrenceDateTime,
        "Immunization.occurrenceDateTime",
        problems,
        required=resource.occurrenceString is None,
    )
    site_id = None
    if resource.location is not None:
        site_id = reference_id(resource.location, "Location", "Immunization.location", problems)
    data = {
        "date_administered": occurrence,
        "cvx": _cvx(resource, problems),
        "mvx": _mvx(resource),
        "product_name": resource.vaccineCode.text,
        "lot_number": resource.lotNumber,
        "expiration_date": full_date(
            resource.expirationDate, "Immunization.expirationDate", problems
        ),
        "dose_volume_ml": _dose_volume(resource, problems),
        "site_id": site_id,
        "performer": _performer(resource),
        "source": "historical" if resource.primarySource is False else "administered",
        "external_id": _external_id(resource, problems),
    }
    problems.raise_any()
    assert person_id is not None  # a missing id was a problem raised above
    return DoseRecord(person_id, build(ImmunizationIn, data, _PATHS), status)


def immunization_resource(dose: ImmunizationOut) -> dict[str, Any]:
    """The recorded dose as a FHIR R4 Immunization."""
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "id": dose.id,
        "meta": {"lastUpdated": instant(dose.recorded_at)},
    }
    if dose.external_id:
        resource["identifier"] = [
            {"system": dose.external_id.system, "value": dose.external_id.value}
        ]
    resource["status"] = dose.status
    vaccine: dict[str, Any] = {"coding": [{"system": systems.CVX, "code": dose.cvx}]}
    if dose.product_name:
        vaccine["text"] = dose.product_name
    resource["vaccineCode"] = vaccine
    resource["patient"] = reference("Patient", dose.person_id)
    resource["occurrenceDateTime"] = dose.date_administered.isoformat()
    resource["recorded"] = instant(dose.recorded_at)
    resource["primarySource"] = dose.source == "administered"
    if dose.site_id:
        resource["location"] = reference("Location", dose.site_id)
    if dose.mvx:
        resource["manufacturer"] = {"identifier": {"system": systems.MVX, "value": dose.mvx}}
    if dose.lot_number:
        resource["lotNumber"] = dose.lot_number
    if dose.expiration_date:
        resource["expirationDate"] = dose.expiration_date.isoformat()
    if dose.performer:
        resource["performer"] = [{"actor": {"display": dose.performer}}]
    if dose.dose_volume_ml is not None:
        resource["doseQuantity"] = {
            "value": dose.dose_volume_ml,
            "unit": "mL",
            "system": systems.UCUM,
            "code": "mL",
        }
    return resource
