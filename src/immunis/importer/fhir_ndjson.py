"""FHIR R4 NDJSON: one resource a line (Patient, Immunization), or one Bundle of them a line.

The resources are checked and mapped by the FHIR face (`immunis.interop.fhir`), as a FHIR create
would be. What is the importer's own is finding things again: imports are conditional creates,
so a file imported twice changes nothing the second time. A Patient is matched by its
identifiers (and not updated when found); an Immunization by its identifier, on which
`record_immunization` is idempotent. An Immunization names its patient by the Patient's
identifier, or by `Patient/<id>` (or a Bundle entry's fullUrl) of a Patient earlier in the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.reference import Reference
from sqlalchemy.orm import Session

from immunis.access.policy import Actor
from immunis.importer.records import Line, Record, Rejected
from immunis.interop.fhir.immunization import dose_record
from immunis.interop.fhir.outcome import FhirError
from immunis.interop.fhir.patient import person_in
from immunis.interop.fhir.validation import validate
from immunis.registry.models import Person
from immunis.registry.service import create_person, find_by_identifier, record_immunization

Keys = list[tuple[str, str]]  # (system, value) identifiers to find a person by


def _resources(record: Record) -> list[tuple[str | None, dict[str, Any]]]:
    """The record's resources with their Bundle fullUrl, Patients first (Immunizations refer to
    them)."""
    try:
        resource = json.loads(record.text)
    except json.JSONDecodeError as error:
        raise Rejected(f"not JSON: {error}") from error
    if not isinstance(resource, dict):
        raise Rejected("not a FHIR resource (a JSON object)")
    if resource.get("resourceType") != "Bundle":
        return [(None, resource)]
    entries = resource.get("entry")
    if not isinstance(entries, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("resource"), dict) for entry in entries
    ):
        raise Rejected("every Bundle.entry needs a resource")
    found = [(entry.get("fullUrl"), entry["resource"]) for entry in entries]
    return sorted(found, key=lambda item: item[1].get("resourceType") != "Patient")


def _identifiers(resource: dict[str, Any]) -> Keys:
    """A Patient's identifiers, read from the JSON as it is (replayed lines are not validated)."""
    identifiers = resource.get("identifier")
    return [
        (item["system"], item["value"])
        for item in (identifiers if isinstance(identifiers, list) else ())
        if isinstance(item, dict)
        and isinstance(item.get("system"), str)
        and isinstance(item.get("value"), str)
    ]


class FhirNdjson:
    """The FHIR NDJSON format for the importer (a RecordHandler)."""

    def __init__(self) -> None:
        # Patient/<id> and fullUrl -> the Patient's identifiers: how later lines find the person.
        self._patients: dict[str, Keys] = {}

    def records(self, lines: Iterable[Line]) -> Iterator[Record]:
        for line in lines:
            if line.text.strip():
                yield Record(line.number, line.number, line.end_offset, line.text)

    def replay(self, record: Record) -> None:
        try:
            resources = _resources(record)
        except Rejected:
            return  # rejected by the earlier run too: nothing to refer to
        for full_url, resource in resources:
            if resource.get("resourceType") == "Patient":
                self._remember(full_url, resource)

    def handle(self, session: Session, actor: Actor, record: Record) -> bool:
        changed = False
        for full_url, resource in _resources(record):
            kind = resource.get("resourceType")
            try:
                if kind == "Patient":
                    changed |= self._patient(session, actor, full_url, resource)
                elif kind == "Immunization":
                    changed |= self._immunization(session, actor, resource)
                else:
                    raise Rejected(f"{kind!r}: only Patient and Immunization are imported")
            except FhirError as error:
                raise Rejected(str(error)) from error
        return changed

    def _remember(self, full_url: str | None, resource: dict[str, Any]) -> None:
        keys = _identifiers(resource)
        resource_id = resource.get("id")
        for reference in (full_url, f"Patient/{resource_id}" if resource_id else None):
            if reference:
                self._patients[reference] = keys

    def _patient(
        self, session: Session, actor: Actor, full_url: str | None, resource: dict[str, Any]
    ) -> bool:
        data = person_in(validate(Patient, resource))
        keys = _identifiers(resource)
        if not keys:
            raise Rejected("a Patient needs an identifier, so that importing it again finds it")
        self._remember(full_url, resource)
        if any(find_by_identifier(session, system, value) for system, value in keys):
            return False
        create_person(session, actor, data)
        return True

    def _immunization(self, session: Session, actor: Actor, resource: dict[str, Any]) -> bool:
        immunization = validate(Immunization, resource)
        if not immunization.identifier:
            raise Rejected(
                "an Immunization needs an identifier, so that importing it again finds it"
            )
        person = self._person(session, immunization.patient)
        # The FHIR face reads a dose of a registry person: point it at the person found.
        local = immunization.model_copy(
            update={"patient": Reference(reference=f"Patient/{person.id}")}
        )
        _, created = record_immunization(
            session, actor, person.id, dose_record(local, creating=True).dose
        )
        return created

    def _person(self, session: Session, patient: Reference) -> Person:
        """The registry's person an Immunization.patient names."""
        if patient.identifier is not None:
            keys = [(patient.identifier.system or "", patient.identifier.value or "")]
            named = f"{keys[0][0]}|{keys[0][1]}"
        else:
            named = patient.reference or ""
            if named not in self._patients:
                raise Rejected(f"patient {named!r} is not a Patient earlier in the file")
            keys = self._patients[named]
        for system, value in keys:
            person = find_by_identifier(session, system, value)
            if person is not None:
                return person
        raise Rejected(f"patient {named} is not in the registry")
