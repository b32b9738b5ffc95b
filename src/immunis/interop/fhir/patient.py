"""Patient <-> the registry's person.

immunis keeps one name (the `official` one, else the first), one phone number (the first `phone`
contact point) and one address (the first `home` one, else the first); other names and contact
points are not stored. Guardians are a complex extension (see docs/fhir.md).
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B.patient import Patient

from immunis.interop.fhir import systems
from immunis.interop.fhir.datatypes import (
    Problems,
    address_in,
    address_out,
    build,
    extension,
    full_date,
    instant,
    reference,
    reference_id,
)
from immunis.registry.schemas import PersonIn, PersonOut
from immunis.registry.service import NATIONAL_ID_SYSTEMS

# Where each PersonIn field is read from, to name it when the registry refuses a value.
_PATHS = {
    "national_id": "Patient.identifier",
    "identifiers": "Patient.identifier",
    "family_name": "Patient.name.family",
    "given_name": "Patient.name.given",
    "birth_date": "Patient.birthDate",
    "sex": "Patient.gender",
    "phone": "Patient.telecom.value",
    "address": "Patient.address",
    "address.line": "Patient.address.line",
    "address.province_code": f"Patient.address.extension('{systems.PROVINCE_CODE}')",
    "address.district_code": f"Patient.address.extension('{systems.DISTRICT_CODE}')",
    "address.commune_code": f"Patient.address.extension('{systems.COMMUNE_CODE}')",
    "managing_site_id": f"Patient.extension('{systems.MANAGING_SITE}')",
    "guardians": f"Patient.extension('{systems.GUARDIAN}')",
}
_ROLE_WORDS = {code: word for word, code in systems.GUARDIAN_ROLES.items()}
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")


def _identifiers(patient: Patient, problems: Problems) -> tuple[str | None, list[dict[str, str]]]:
    national_ids: list[str] = []
    others = []
    for index, identifier in enumerate(patient.identifier or ()):
        if not identifier.system or not identifier.value:
            problems.add(f"Patient.identifier[{index}]", "needs a system and a value", "required")
        elif identifier.system in NATIONAL_ID_SYSTEMS:
            national_ids.append(identifier.value)
        else:
            others.append({"system": identifier.system, "value": identifier.value})
    if len(set(national_ids)) > 1:
        problems.add("Patient.identifier", "a person has one national ID, not several")
    return (national_ids[0] if national_ids else None), others


def _name(patient: Patient, problems: Problems) -> tuple[str | None, str | None]:
    names = patient.name or []
    if not names:
        problems.add("Patient.name", "a name with family and given parts is required", "required")
        return None, None
    index, name = next(((i, n) for i, n in enumerate(names) if n.use == "official"), (0, names[0]))
    given = " ".join(part for part in name.given or () if part)
    if not name.family:
        problems.add(f"Patient.name[{index}].family", "is required", "required")
    if not given:
        problems.add(f"Patient.name[{index}].given", "is required", "required")
    return name.family, given


def _phone(patient: Patient) -> str | None:
    phones = [t.value for t in patient.telecom or () if t.system == "phone" and t.value]
    return _PHONE_PUNCTUATION.sub("", phones[0]) if phones else None


def _address(patient: Patient, problems: Problems) -> dict[str, Any] | None:
    addresses = patient.address or []
    if not addresses:
        return None
    index = next((i for i, a in enumerate(addresses) if a.use == "home"), 0)
    return address_in(addresses[index], f"Patient.address[{index}]", problems)


def _guardians(patient: Patient, problems: Problems) -> list[dict[str, str]]:
    guardians = []
    for index, item in enumerate(patient.extension or ()):
        if item.url != systems.GUARDIAN:
            continue
        path = f"Patient.extension[{index}]"
        who = extension(item.extension, "patient")
        if who is None or who.valueReference is None:
            problems.add(path, "a guardian needs a 'patient' valueReference", "required")
            continue
        guardian_id = reference_id(who.valueReference, "Patient", f"{path}.patient", problems)
        role = extension(item.extension, "relationship")
        concept = role.valueCodeableConcept if role else None
        codes = [c.code for c in (concept.coding if concept else None) or () if c.code]
        word = next((_ROLE_WORDS[c] for c in codes if c in _ROLE_WORDS), None)
        relationship = word or (concept.text if concept else None) or "parent"
        if guardian_id:
            guardians.append({"guardian_id": guardian_id, "relationship": relationship})
    return guardians


def person_in(patient: Patient) -> PersonIn:
    """The registry's person from a valid Patient, or a 422 listing what immunis cannot accept."""
    problems = Problems()
    national_id, identifiers = _identifiers(patient, problems)
    family, given = _name(patient, problems)
    birth_date = full_date(patient.birthDate, "Patient.birthDate", problems, required=True)
    managing_site = extension(patient.extension, systems.MANAGING_SITE)
    managing_site_id = None
    if managing_site is not None:
        managing_site_id = reference_id(
            managing_site.valueReference, "Location", _PATHS["managing_site_id"], problems
        )
    data = {
        "national_id": national_id,
        "identifiers": identifiers,
        "family_name": family,
        "given_name": given,
        "birth_date": birth_date,
        "sex": patient.gender or "unknown",
        "phone": _phone(patient),
        "address": _address(patient, problems),
        "managing_site_id": managing_site_id,
        "guardians": _guardians(patient, problems),
    }
    problems.raise_any()
    return build(PersonIn, data, _PATHS)


def _guardian_extension(guardian_id: str, relationship: str) -> dict[str, Any]:
    code = systems.GUARDIAN_ROLES.get(relationship)
    concept: dict[str, Any] = {"text": relationship}
    if code:
        concept["coding"] = [{"system": systems.ROLE_CODE, "code": code}]
    return {
        "url": systems.GUARDIAN,
        "extension": [
            {"url": "patient", "valueReference": reference("Patient", guardian_id)},
            {"url": "relationship", "valueCodeableConcept": concept},
        ],
    }


def patient_resource(person: PersonOut) -> dict[str, Any]:
    """The person as a FHIR R4 Patient."""
    extensions = [_guardian_extension(g.guardian_id, g.relationship) for g in person.guardians]
    if person.managing_site_id:
        extensions.insert(
            0,
            {
                "url": systems.MANAGING_SITE,
                "valueReference": reference("Location", person.managing_site_id),
            },
        )
    identifiers = [{"system": i.system, "value": i.value} for i in person.identifiers]
    if person.national_id:
        identifiers.insert(
            0, {"use": "official", "system": systems.NATIONAL_ID, "value": person.national_id}
        )
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": person.id,
        "meta": {"lastUpdated": instant(person.updated_at)},
    }
    if extensions:
        resource["extension"] = extensions
    if identifiers:
        resource["identifier"] = identifiers
    resource["active"] = person.active
    resource["name"] = [
        {
            "use": "official",
            "text": f"{person.family_name} {person.given_name}",
            "family": person.family_name,
            "given": person.given_name.split(),
        }
    ]
    if person.phone:
        resource["telecom"] = [{"system": "phone", "value": person.phone}]
    resource["gender"] = person.sex
    resource["birthDate"] = person.birth_date.isoformat()
    if person.address:
        resource["address"] = [address_out(person.address, "home")]
    if person.merged_into_id:
        resource["link"] = [
            {"other": reference("Patient", person.merged_into_id), "type": "replaced-by"}
        ]
    return resource
