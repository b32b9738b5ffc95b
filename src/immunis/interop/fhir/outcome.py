"""Errors as FHIR answers: OperationOutcome resources, served as application/fhir+json."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from starlette.responses import Response

FHIR_JSON = "application/fhir+json"
_FHIRPATH = re.compile(r"^[A-Z][A-Za-z]*(\.|\[|$)")

# The issue type (http://hl7.org/fhir/issue-type) of a domain error answered with each status.
_ISSUE_TYPES = {
    400: "invalid",
    401: "security",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    422: "processing",
}


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome.issue: what kind of problem, and where (a FHIRPath-like path)."""

    code: str
    diagnostics: str
    expression: str | None = None
    severity: str = "error"


class FhirError(Exception):
    """A request the FHIR face refuses itself (unparseable, invalid or unacceptable resources,
    unsupported searches), answered with `status` and these issues."""

    def __init__(self, status: int, *issues: Issue) -> None:
        super().__init__("; ".join(issue.diagnostics for issue in issues))
        self.status = status
        self.issues = issues


def refuse(status: int, code: str, where: str | None, message: str) -> FhirError:
    """A FhirError with one issue; the diagnostics start with where, as `Patient.x: why`, and a
    FHIRPath `where` (not a header's or a search parameter's name) is the issue's expression."""
    expression = where if where and _FHIRPATH.match(where) else None
    return FhirError(status, Issue(code, f"{where}: {message}" if where else message, expression))


def fhir_response(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(body, status_code=status, headers=headers, media_type=FHIR_JSON)


def operation_outcome(issues: tuple[Issue, ...] | list[Issue]) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": issue.severity,
                "code": issue.code,
                "diagnostics": issue.diagnostics,
                **({"expression": [issue.expression]} if issue.expression else {}),
            }
            for issue in issues
        ],
    }


def outcome_response(error: FhirError) -> Response:
    return fhir_response(operation_outcome(error.issues), error.status)


def format_error(status: int, title: str, detail: str, errors: list[dict[str, Any]]) -> Response:
    """The shared error handler's answer on /fhir paths (registered with `register_formatter`):
    one issue saying what went wrong."""
    if errors:
        # Request parameters FastAPI could not read: a 400 in FHIR, not a 422.
        return fhir_response(operation_outcome([Issue("invalid", detail)]), 400)
    issue = Issue(_ISSUE_TYPES.get(status, "exception"), detail or title)
    return fhir_response(operation_outcome([issue]), status)
