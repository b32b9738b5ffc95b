"""Is it FHIR? Request bodies parsed and checked against the R4B models of fhir.resources (the
R4 resources immunis reads are structurally the same in R4B), plus the required code lists the
models leave unchecked. Anything that fails is a 400 with one issue per problem."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TypeVar

from fhir.resources.R4B.fhirresourcemodel import FHIRResourceModel
from pydantic import ValidationError

from immunis.interop.fhir import systems
from immunis.interop.fhir.outcome import FhirError, Issue, refuse

Model = TypeVar("Model", bound=FHIRResourceModel)

ACCEPTED_MEDIA_TYPES = ("application/fhir+json", "application/json")

# Required bindings on the elements immunis reads: (path inside the resource, allowed codes).
REQUIRED_CODES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "Patient": (
        ("gender", systems.ADMINISTRATIVE_GENDERS),
        ("telecom.system", ("phone", "fax", "email", "pager", "url", "sms", "other")),
        ("name.use", ("usual", "official", "temp", "nickname", "anonymous", "old", "maiden")),
        ("address.use", ("home", "work", "temp", "old", "billing")),
        ("identifier.use", ("usual", "official", "temp", "secondary", "old")),
    ),
    "Immunization": (("status", systems.IMMUNIZATION_STATUSES),),
    "Location": (("status", ("active", "suspended", "inactive")),),
    "Organization": (),
    "Appointment": (
        ("status", systems.APPOINTMENT_STATUSES),
        ("participant.status", ("accepted", "declined", "tentative", "needs-action")),
    ),
}


def parse_json(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The request body as a JSON object; 415 for another media type, 400 for anything else."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in ACCEPTED_MEDIA_TYPES:
        raise refuse(
            415,
            "not-supported",
            None,
            f"send application/fhir+json (Content-Type was {content_type or 'missing'!r})",
        )
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise refuse(400, "structure", None, f"the body is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise refuse(400, "structure", None, "the body must be a JSON object (a FHIR resource)")
    return data


def _path(root: str, location: tuple[int | str, ...]) -> str:
    path = root
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _issue(root: str, error: Any) -> Issue:
    path = _path(root, tuple(error["loc"]))
    message = str(error["msg"]).removeprefix("Value error, ")
    code = {"missing": "required", "extra_forbidden": "structure"}.get(error["type"], "value")
    if error["type"] == "extra_forbidden":
        message = "is not an element of this resource"
    return Issue(code, f"{path}: {message}", path)


def _values_at(data: Any, path: list[str], where: str) -> Iterator[tuple[str, Any]]:
    if not path:
        yield where, data
        return
    if isinstance(data, list):
        for index, item in enumerate(data):
            yield from _values_at(item, path, f"{where}[{index}]")
    elif isinstance(data, dict) and path[0] in data:
        yield from _values_at(data[path[0]], path[1:], f"{where}.{path[0]}")


def _code_issues(resource_type: str, data: dict[str, Any], root: str) -> list[Issue]:
    issues = []
    for element, allowed in REQUIRED_CODES.get(resource_type, ()):
        for where, value in _values_at(data, element.split("."), root):
            if value not in allowed:
                issues.append(
                    Issue("value", f"{where}: {value!r} is not one of {', '.join(allowed)}", where)
                )
    return issues


def validate(model: type[Model], data: dict[str, Any], root: str | None = None) -> Model:
    """`data` as a valid resource of `model`'s type; paths in issues start at `root` (default:
    the resource type; a resource inside a Parameters gives its own path there).

    Raises FhirError (400) listing every problem found."""
    resource_type = model.get_resource_type()
    root = root or resource_type
    sent = data.get("resourceType")
    if sent != resource_type:
        raise refuse(
            400, "invalid", f"{root}.resourceType", f"expected {resource_type}, got {sent!r}"
        )
    try:
        resource = model.model_validate(data)
    except ValidationError as error:
        raise FhirError(400, *(_issue(root, e) for e in error.errors())) from error
    issues = _code_issues(resource_type, data, root)
    if issues:
        raise FhirError(400, *issues)
    return resource
