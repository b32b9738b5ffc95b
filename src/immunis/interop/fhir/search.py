"""FHIR search: the parameters each resource type supports (the CapabilityStatement lists these
same ones), reading their values, and searchset Bundles.

Searches are strict: an unknown parameter, a modifier or a repeated parameter is refused (400)
rather than ignored, so that a search never silently returns more than was asked for.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from immunis.interop.fhir.outcome import Issue, operation_outcome, refuse

MAX_COUNT = 100
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class SearchParameter:
    name: str
    type: str  # the FHIR search parameter type: token, string, date, reference, number
    documentation: str


_COUNT = SearchParameter("_count", "number", f"results per search, 1 to {MAX_COUNT} (default 50)")
_FORECAST = (
    SearchParameter("patient", "reference", "required: Patient/<id> or <id>"),
    SearchParameter("schedule", "token", "us-acip, vn or who (default: the server's)"),
    SearchParameter("assessment-date", "date", "the date to forecast on (default: today)"),
)

SEARCH_PARAMETERS: dict[str, tuple[SearchParameter, ...]] = {
    "Patient": (
        SearchParameter(
            "identifier",
            "token",
            "system|value; the national ID is http://immunis.org/fhir/sid/vn-cccd|<number>",
        ),
        SearchParameter("name", "string", "any part of the name, ignoring case and diacritics"),
        SearchParameter("family", "string", "start of the family name"),
        SearchParameter("given", "string", "start of a given name"),
        SearchParameter("birthdate", "date", "exact date of birth (YYYY-MM-DD)"),
        SearchParameter("phone", "token", "exact phone number"),
        _COUNT,
    ),
    "Immunization": (SearchParameter("patient", "reference", "required: Patient/<id> or <id>"),),
    "Location": (
        SearchParameter("identifier", "token", "http://immunis.org/fhir/sid/site-code|<code>"),
        SearchParameter("name", "string", "part of the name, ignoring case"),
        SearchParameter("organization", "reference", "the managing Organization"),
        _COUNT,
    ),
    "Organization": (
        SearchParameter(
            "identifier", "token", "http://immunis.org/fhir/sid/organization-code|<code>"
        ),
        SearchParameter("name", "string", "part of the name, ignoring case"),
        SearchParameter("partof", "reference", "the parent Organization"),
        _COUNT,
    ),
    "ImmunizationRecommendation": _FORECAST,
    "ImmunizationEvaluation": _FORECAST,
    # Booking (interop/fhir/scheduling.py).
    "Schedule": (
        SearchParameter("actor", "reference", "the site: Location/<id> (this or service-type)"),
        SearchParameter("service-type", "token", "a vaccine offered: <cvx> or <cvx system>|<cvx>"),
        _COUNT,
    ),
    "Slot": (
        SearchParameter("schedule", "reference", "required: Schedule/<site id>"),
        SearchParameter("start", "date", "required: the day (YYYY-MM-DD)"),
        SearchParameter("service-type", "token", "the vaccine to give: <cvx> or system|<cvx>"),
        SearchParameter("status", "token", "free or busy"),
    ),
    "Appointment": (SearchParameter("patient", "reference", "required: Patient/<id> or <id>"),),
}


def search_values(
    resource_type: str, items: Sequence[tuple[str, str]], source: str = "search parameter"
) -> dict[str, str]:
    """The search's parameters by name, each checked to be one this resource type supports."""
    supported = {p.name for p in SEARCH_PARAMETERS[resource_type]}
    found: dict[str, str] = {}
    for name, value in items:
        if name not in supported:
            raise refuse(
                400,
                "not-supported",
                f"{source} {name}",
                f"{resource_type} is searched by {', '.join(sorted(supported))}",
            )
        if name in found:
            raise refuse(400, "not-supported", f"{source} {name}", "may be given once")
        if not value.strip():
            raise refuse(400, "invalid", f"{source} {name}", "has no value")
        found[name] = value.strip()
    return found


def token(value: str, name: str) -> tuple[str, str]:
    """A `system|value` token; both parts are needed."""
    system, bar, code = value.partition("|")
    if not bar or not system or not code:
        raise refuse(
            400, "invalid", f"search parameter {name}", f"expected system|value: {value!r}"
        )
    return system, code


def date_value(value: str, name: str) -> date:
    """An exact date, optionally with the `eq` prefix (other comparisons are not supported)."""
    text = value.removeprefix("eq")
    if _DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise refuse(
        400, "invalid", f"search parameter {name}", f"expected a date YYYY-MM-DD: {value!r}"
    )


def reference_value(value: str, resource_type: str, name: str) -> str:
    """The id in `ResourceType/id` or a bare `id`."""
    kind, slash, found = value.rpartition("/")
    if (slash and kind != resource_type) or not found:
        raise refuse(
            400,
            "invalid",
            f"search parameter {name}",
            f"expected {resource_type}/<id> or <id>: {value!r}",
        )
    return found


def count_value(values: dict[str, str], default: int = 50) -> int:
    if "_count" not in values:
        return default
    text = values["_count"]
    if not text.isdigit() or not 1 <= int(text) <= MAX_COUNT:
        raise refuse(
            400, "invalid", "search parameter _count", f"expected 1 to {MAX_COUNT}: {text!r}"
        )
    return int(text)


def searchset(
    self_url: str,
    resources: Sequence[tuple[str | None, dict[str, Any]]],
    truncated_at: int | None = None,
) -> dict[str, Any]:
    """A searchset Bundle of (fullUrl, resource) pairs; a resource made for this answer (a
    forecast) has no URL of its own and gets a urn:uuid. When the search found more than
    `truncated_at` matches, `total` is left out and a warning says so."""
    entries = [
        {
            "fullUrl": url or f"urn:uuid:{uuid.uuid4()}",
            "resource": resource,
            "search": {"mode": "match"},
        }
        for url, resource in resources
    ]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if truncated_at is None:
        bundle["total"] = len(entries)
    else:
        warning = Issue(
            "too-costly",
            f"more than {truncated_at} matches; only the first {truncated_at} are given: "
            "narrow the search",
            severity="warning",
        )
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": operation_outcome([warning]),
                "search": {"mode": "outcome"},
            }
        )
    bundle["link"] = [{"relation": "self", "url": self_url}]
    bundle["entry"] = entries
    return bundle
