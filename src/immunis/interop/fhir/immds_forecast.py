"""The ImmDS `$immds-forecast` operation (HL7 Immunization Decision Support Forecast IG):
a Parameters with `assessmentDate`, `patient` and `immunization` in, a Parameters with
`evaluation` and `recommendation` out. Stateless: nothing is read from or written to the registry.

immunis adds one optional input parameter, `schedule` (valueCode: us-acip, vn or who).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.patient import Patient as FhirPatient

from immunis.forecast import AdministeredDose, Forecast, Gender, Patient
from immunis.interop.fhir import systems
from immunis.interop.fhir.datatypes import Problems, full_date, reference
from immunis.interop.fhir.forecast_resources import (
    doses_in_engine_order,
    evaluation_resources,
    recommendation_resource,
)
from immunis.interop.fhir.outcome import refuse
from immunis.interop.fhir.validation import validate
from immunis.schedule.catalog import SCHEDULE_IDS

PARAMETERS = ("assessmentDate", "patient", "immunization", "schedule")
_GENDERS = {"female": Gender.FEMALE, "male": Gender.MALE}


@dataclass(frozen=True, slots=True)
class ForecastRequest:
    """The operation's input, read into the engine's terms."""

    assessment_date: date
    patient: Patient
    patient_reference: dict[str, str]
    doses: tuple[AdministeredDose, ...]
    dose_references: dict[str, dict[str, str]]  # engine dose id -> reference to the input
    schedule_id: str | None


def _one(found: list[tuple[int, Any]], name: str) -> tuple[int, Any]:
    if not found:
        raise refuse(400, "required", "Parameters.parameter", f"'{name}' is required")
    if len(found) > 1:
        raise refuse(400, "invalid", "Parameters.parameter", f"'{name}' may be given once")
    return found[0]


def _assessment_date(found: list[tuple[int, Any]]) -> tuple[str, date]:
    index, parameter = _one(found, "assessmentDate")
    path = f"Parameters.parameter[{index}].valueDate"
    value = parameter.valueDate
    if not isinstance(value, date):
        raise refuse(400, "invalid", path, f"needs a full date (YYYY-MM-DD), got {value!r}")
    return path, value


def _schedule(found: list[tuple[int, Any]]) -> str | None:
    if not found:
        return None
    index, parameter = _one(found, "schedule")
    value = parameter.valueCode or parameter.valueString
    if value not in SCHEDULE_IDS:
        raise refuse(
            400,
            "value",
            f"Parameters.parameter[{index}].valueCode",
            f"unknown schedule {value!r}; choose one of {', '.join(SCHEDULE_IDS)}",
        )
    return str(value)


def _resource(data: dict[str, Any], index: int, kind: str) -> tuple[str, dict[str, Any]]:
    root = f"Parameters.parameter[{index}].resource"
    resource = data["parameter"][index].get("resource")
    if resource is None:
        raise refuse(400, "required", root, f"needs a {kind} resource")
    return root, resource


def _patient(root: str, data: dict[str, Any], problems: Problems) -> tuple[Patient | None, Any]:
    patient = validate(FhirPatient, data, root)
    birth_date = full_date(patient.birthDate, f"{root}.birthDate", problems, required=True)
    if birth_date is None:
        return None, patient.id
    return Patient(birth_date, _GENDERS.get(patient.gender or "", Gender.UNKNOWN)), patient.id


def _dose(
    root: str, data: dict[str, Any], dose_id: str, problems: Problems
) -> tuple[AdministeredDose | None, Immunization]:
    """One Immunization of the history, or None (with the problem noted) when it cannot be read."""
    immunization = validate(Immunization, data, root)
    codes = [c.code for c in immunization.vaccineCode.coding or () if c.system == systems.CVX]
    given = full_date(
        immunization.occurrenceDateTime, f"{root}.occurrenceDateTime", problems, required=True
    )
    if not codes or not codes[0]:
        problems.add(f"{root}.vaccineCode", f"needs a coding with system {systems.CVX}", "required")
    if given is None or not codes or not codes[0]:
        return None, immunization
    quantity = immunization.doseQuantity
    volume = float(quantity.value) if quantity and quantity.value is not None else None
    return AdministeredDose(given, str(codes[0]), volume_ml=volume, id=dose_id), immunization


def read_request(data: dict[str, Any]) -> ForecastRequest:
    """The operation's input from a Parameters resource; 400 for a malformed one, 422 for one the
    engine cannot evaluate (no birth date, a dose without a CVX code or a date, or before birth).
    Immunizations that are not `completed` are not part of the history."""
    parameters = validate(Parameters, data)
    by_name: dict[str, list[tuple[int, Any]]] = {name: [] for name in PARAMETERS}
    for index, parameter in enumerate(parameters.parameter or ()):
        if parameter.name not in by_name:
            raise refuse(
                400,
                "not-supported",
                f"Parameters.parameter[{index}].name",
                f"unknown parameter {parameter.name!r}; this operation takes "
                + ", ".join(PARAMETERS),
            )
        by_name[parameter.name].append((index, parameter))
    assessment_path, assessment_date = _assessment_date(by_name["assessmentDate"])
    schedule_id = _schedule(by_name["schedule"])
    problems = Problems()
    root, resource = _resource(data, _one(by_name["patient"], "patient")[0], "Patient")
    patient, patient_id = _patient(root, resource, problems)
    doses: list[AdministeredDose] = []
    references: dict[str, dict[str, str]] = {}
    for index, _ in by_name["immunization"]:
        root, resource = _resource(data, index, "Immunization")
        dose, immunization = _dose(root, resource, str(index), problems)
        if dose is None or immunization.status != "completed":
            continue
        if patient and dose.date_administered < patient.birth_date:
            problems.add(f"{root}.occurrenceDateTime", "is before the patient's birth date")
        doses.append(dose)
        references[str(index)] = (
            reference("Immunization", immunization.id)
            if immunization.id
            else {"display": f"the immunization in parameter {index}"}
        )
    if patient and assessment_date < patient.birth_date:
        problems.add(assessment_path, "is before the patient's birth date")
    problems.raise_any()
    assert patient is not None  # no birth date was a problem, raised above
    return ForecastRequest(
        assessment_date=assessment_date,
        patient=patient,
        patient_reference=reference("Patient", patient_id)
        if patient_id
        else {"display": "the patient of the request"},
        doses=tuple(doses),
        dose_references=references,
        schedule_id=schedule_id,
    )


def forecast_parameters(request: ForecastRequest, answer: Forecast) -> dict[str, Any]:
    """The operation's output: `evaluation` per dose and antigen, then one `recommendation`."""
    ordered = doses_in_engine_order(
        request.patient, request.doses, request.assessment_date, answer.schedule_id
    )
    dose_references = [request.dose_references[str(dose.id)] for dose in ordered]
    evaluations = evaluation_resources(answer, request.patient_reference, dose_references)
    recommendation = recommendation_resource(answer, request.patient_reference)
    return {
        "resourceType": "Parameters",
        "parameter": [
            *({"name": "evaluation", "resource": e} for e in evaluations),
            {"name": "recommendation", "resource": recommendation},
        ],
    }
