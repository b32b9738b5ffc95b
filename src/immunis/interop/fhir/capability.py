"""The CapabilityStatement, read off the router's own routes and search parameters, so that it
says exactly what the server does."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from fastapi.routing import APIRoute

from immunis import __version__
from immunis.interop.fhir import systems
from immunis.interop.fhir.search import SEARCH_PARAMETERS

# A route's method and path shape -> the FHIR interaction it implements.
_INTERACTIONS = {
    ("GET", True): "read",
    ("PUT", True): "update",
    ("GET", False): "search-type",
    ("POST", False): "create",
}


# The operations immunis implements, by name, and their definitions.
_OPERATIONS = {"immds-forecast": systems.IMMDS_FORECAST_OPERATION}


def _route_paths(routes: Iterable[Any], prefix: str) -> Iterable[tuple[str, list[str]]]:
    for route in routes:
        if isinstance(route, APIRoute):
            parts = route.path.removeprefix(prefix).strip("/").split("/")
            for method in sorted(route.methods or ()):
                yield method, parts


def capability_statement(
    routes: Iterable[Any],
    prefix: str,
    base_url: str,
    conditional_create: Iterable[str],
    today: date,
) -> dict[str, Any]:
    """What this server implements: each resource type's interactions and search parameters,
    and its operations."""
    interactions: dict[str, set[str]] = {}
    operations = []
    for method, parts in _route_paths(routes, prefix):
        if parts[0].startswith("$"):
            operations.append(parts[0][1:])
        elif parts[0][:1].isupper() and (method, len(parts) == 2) in _INTERACTIONS:
            interactions.setdefault(parts[0], set()).add(_INTERACTIONS[method, len(parts) == 2])
    conditional = set(conditional_create)
    resources = []
    for resource_type, codes in sorted(interactions.items()):
        resource: dict[str, Any] = {
            "type": resource_type,
            "interaction": [{"code": code} for code in sorted(codes)],
        }
        if "update" in codes:
            resource["updateCreate"] = False
        if "create" in codes:
            resource["conditionalCreate"] = resource_type in conditional
        if "search-type" in codes:
            resource["searchParam"] = [
                {"name": p.name, "type": p.type, "documentation": p.documentation}
                for p in SEARCH_PARAMETERS[resource_type]
            ]
        resources.append(resource)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": today.isoformat(),
        "publisher": "immunis",
        "kind": "instance",
        "software": {"name": "immunis", "version": __version__},
        "implementation": {"description": "immunis FHIR R4 face", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [{"text": "Bearer tokens issued by immunis"}],
                    "description": "Every interaction but metadata needs an Authorization: "
                    "Bearer token; what a user may see and change follows their role and site.",
                },
                "resource": resources,
                "operation": [
                    {"name": name, "definition": _OPERATIONS[name]} for name in operations
                ],
            }
        ],
    }
