"""FHIR datatypes as immunis reads them: full dates, local references, extensions; and the
problems that make a valid resource unacceptable to immunis (answered 422)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from immunis.interop.fhir import systems
from immunis.interop.fhir.outcome import FhirError, Issue
from immunis.registry.schemas import Address

Schema = TypeVar("Schema", bound=BaseModel)

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")

# The registry's administrative unit codes (GSO) and the Address extensions that carry them.
_AREA_CODES = (
    ("province_code", systems.PROVINCE_CODE),
    ("district_code", systems.DISTRICT_CODE),
    ("commune_code", systems.COMMUNE_CODE),
)


class Problems:
    """Why a valid resource cannot be accepted, collected so that one answer lists them all."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, path: str, message: str, code: str = "value") -> None:
        self.issues.append(Issue(code, f"{path}: {message}", path))

    def raise_any(self) -> None:
        """Refuse (422) when any problem was found."""
        if self.issues:
            raise FhirError(422, *self.issues)


def full_date(value: Any, path: str, problems: Problems, required: bool = False) -> date | None:
    """A FHIR date or dateTime as a calendar date (the date as written, in its own time zone);
    partial dates ("2024", "2024-05") cannot be recorded."""
    if value is None:
        if required:
            problems.add(path, "is required", "required")
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    problems.add(path, f"needs a full date (YYYY-MM-DD), got {value!r}")
    return None


def instant(moment: datetime) -> str:
    """A FHIR instant; SQLite gives back times without their zone, and immunis stores UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def reference_id(reference: Any, resource_type: str, path: str, problems: Problems) -> str | None:
    """The id in a local reference `ResourceType/id`."""
    text = getattr(reference, "reference", None)
    kind, _, found = (text or "").partition("/")
    if kind != resource_type or not _ID.match(found):
        problems.add(f"{path}.reference", f"expected '{resource_type}/<id>', got {text!r}")
        return None
    return found


def reference(resource_type: str, resource_id: str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id}"}


def extension(extensions: Iterable[Any] | None, url: str) -> Any | None:
    """The first extension with this URL."""
    return next((e for e in extensions or () if e.url == url), None)


def build(schema: type[Schema], data: dict[str, Any], paths: dict[str, str]) -> Schema:
    """`schema` made from `data`, or a 422 naming the FHIR elements (`paths`, by schema field) that
    the refused fields were read from."""
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        problems = Problems()
        for item in error.errors():
            location = [str(part) for part in item["loc"]]
            # The most specific field named in `paths`: "address.province_code", then "address".
            keys = [".".join(location[:end]) for end in range(len(location), 0, -1)]
            path = next((paths[k] for k in keys if k in paths), ".".join(location))
            problems.add(path, str(item["msg"]).removeprefix("Value error, "))
        raise FhirError(422, *problems.issues) from error


def address_in(address: Any, path: str, problems: Problems) -> dict[str, Any]:
    """A FHIR Address as the registry's: its lines joined, the GSO codes from their extensions."""
    found: dict[str, Any] = {"line": ", ".join(address.line) if address.line else None}
    for field, url in _AREA_CODES:
        coded = extension(address.extension, url)
        if coded is None:
            continue
        if coded.valueCode is None:
            problems.add(f"{path}.extension('{url}')", "needs a valueCode", "required")
        found[field] = coded.valueCode
    return found


def address_out(address: Address, use: str) -> dict[str, Any]:
    """The registry's address as a FHIR Address in Viet Nam, GSO codes as extensions."""
    codes = [
        {"url": url, "valueCode": getattr(address, field)}
        for field, url in _AREA_CODES
        if getattr(address, field)
    ]
    return {
        **({"extension": codes} if codes else {}),
        "use": use,
        **({"line": [address.line]} if address.line else {}),
        "country": "VN",
    }
