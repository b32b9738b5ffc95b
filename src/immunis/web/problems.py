"""Errors as HTTP answers: RFC 9457 problem documents on the JSON API, and a refusal always
written to the audit log in its own transaction (the request's own work is rolled back)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from immunis.access.models import AuditEvent
from immunis.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unauthenticated

STATUS = {NotFound: 404, InvalidInput: 422, Conflict: 409, Forbidden: 403, Unauthenticated: 401}


def status_of(error: DomainError) -> int:
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def record_refusal(sessions: sessionmaker[Session], error: Forbidden, channel: str) -> None:
    with sessions() as session, session.begin():
        session.add(
            AuditEvent(
                user_id=error.user_id,
                role=error.role,
                action=error.action,
                entity_type=error.entity_type,
                entity_id=error.entity_id,
                person_id=error.person_id,
                outcome="denied",
                channel=channel,
                detail={"reason": str(error)},
            )
        )


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    422: "Invalid input",
}


# A face with its own error format (FHIR's OperationOutcome) registers it for its path prefix:
# formatter(status, title, detail, errors) -> Response.
Formatter = Callable[[int, str, str, list[dict[str, Any]]], Response]


def register_formatter(app: FastAPI, prefix: str, formatter: Formatter) -> None:
    app.state.error_formatters = [*getattr(app.state, "error_formatters", []), (prefix, formatter)]


def _answer(
    request: Request, status: int, detail: str, errors: list[dict[str, Any]] | None = None
) -> Response:
    title = _TITLES.get(status, "Error")
    for prefix, formatter in getattr(request.app.state, "error_formatters", []):
        if request.url.path.startswith(prefix):
            return formatter(status, title, detail, errors or [])
    extra = {"errors": errors} if errors else {}
    return problem(status, title, detail, **extra)


def _channel(request: Request) -> str:
    path = request.url.path
    return "fhir" if path.startswith("/fhir") else "hl7" if path.startswith("/hl7") else "api"


def install(app: FastAPI) -> None:
    """Error answers for domain errors and request validation, in each face's format."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        if isinstance(error, Forbidden):
            record_refusal(request.app.state.sessions, error, _channel(request))
        status = status_of(error)
        response = _answer(request, status, str(error))
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(IntegrityError)
    async def concurrent_write(request: Request, error: IntegrityError) -> Response:
        # Two requests raced to create the same thing; the loser's transaction was rolled back.
        return _answer(
            request,
            409,
            "the record changed while this request was being handled (a concurrent write made "
            "the same change); nothing was written: read it again and retry if still needed",
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in error.errors()
        ]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
        return _answer(request, 422, detail, errors)
