"""Location <-> the registry's vaccination site, and Organization <-> its organisation.

A site's code is its identifier under http://immunis.org/fhir/sid/site-code, an organisation's
under .../sid/organization-code; their kinds are codings in immunis's own code systems.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.location import Location
from fhir.resources.R4B.organization import Organization

from immunis.interop.fhir import systems
from immunis.interop.fhir.datatypes import (
    Problems,
    address_in,
    address_out,
    build,
    reference,
    reference_id,
)
from immunis.registry.schemas import OrganizationIn, OrganizationOut, SiteIn, SiteOut

_SITE_PATHS = {
    "code": "Location.identifier",
    "name": "Location.name",
    "kind": "Location.type",
    "organization_id": "Location.managingOrganization",
    "address": "Location.address",
    "address.line": "Location.address.line",
    "address.province_code": f"Location.address.extension('{systems.PROVINCE_CODE}')",
    "address.district_code": f"Location.address.extension('{systems.DISTRICT_CODE}')",
    "address.commune_code": f"Location.address.extension('{systems.COMMUNE_CODE}')",
    "active": "Location.status",
}
_ORGANIZATION_PATHS = {
    "code": "Organization.identifier",
    "name": "Organization.name",
    "kind": "Organization.type",
    "parent_id": "Organization.partOf",
}


def _code(identifiers: Any, system: str, path: str, problems: Problems) -> str | None:
    codes = [i.value for i in identifiers or () if i.system == system and i.value]
    if not codes:
        problems.add(path, f"needs an identifier with system {system}", "required")
        return None
    return str(codes[0])


def _kind(concepts: Any, system: str) -> str | None:
    for concept in concepts or ():
        for coding in concept.coding or ():
            if coding.system == system and coding.code:
                return str(coding.code)
    return None


def site_in(location: Location) -> SiteIn:
    """The registry's site from a valid Location, or a 422 listing what immunis cannot accept."""
    problems = Problems()
    organization_id = None
    if location.managingOrganization is not None:
        organization_id = reference_id(
            location.managingOrganization,
            "Organization",
            "Location.managingOrganization",
            problems,
        )
    data: dict[str, Any] = {
        "code": _code(location.identifier, systems.SITE_CODE, "Location.identifier", problems),
        "name": location.name,
        "organization_id": organization_id,
        "address": address_in(location.address, "Location.address", problems)
        if location.address
        else None,
        "active": location.status in (None, "active"),
    }
    kind = _kind(location.type, systems.SITE_KIND)
    if kind:
        data["kind"] = kind
    problems.raise_any()
    return build(SiteIn, data, _SITE_PATHS)


def location_resource(site: SiteOut) -> dict[str, Any]:
    """The site as a FHIR R4 Location."""
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": site.id,
        "identifier": [{"system": systems.SITE_CODE, "value": site.code}],
        "status": "active" if site.active else "inactive",
        "name": site.name,
        "mode": "instance",
        "type": [{"coding": [{"system": systems.SITE_KIND, "code": site.kind}]}],
    }
    if site.address:
        resource["address"] = address_out(site.address, "work")
    if site.organization_id:
        resource["managingOrganization"] = reference("Organization", site.organization_id)
    return resource


def organization_in(organization: Organization) -> OrganizationIn:
    """The registry's organisation from a valid Organization, or a 422 listing what immunis
    cannot accept."""
    problems = Problems()
    parent_id = None
    if organization.partOf is not None:
        parent_id = reference_id(
            organization.partOf, "Organization", "Organization.partOf", problems
        )
    data: dict[str, Any] = {
        "code": _code(
            organization.identifier, systems.ORGANIZATION_CODE, "Organization.identifier", problems
        ),
        "name": organization.name,
        "parent_id": parent_id,
    }
    kind = _kind(organization.type, systems.ORGANIZATION_KIND)
    if kind:
        data["kind"] = kind
    problems.raise_any()
    return build(OrganizationIn, data, _ORGANIZATION_PATHS)


def organization_resource(organization: OrganizationOut) -> dict[str, Any]:
    """The organisation as a FHIR R4 Organization."""
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": organization.id,
        "identifier": [{"system": systems.ORGANIZATION_CODE, "value": organization.code}],
        "active": True,
        "type": [{"coding": [{"system": systems.ORGANIZATION_KIND, "code": organization.kind}]}],
        "name": organization.name,
    }
    if organization.parent_id:
        resource["partOf"] = reference("Organization", organization.parent_id)
    return resource
