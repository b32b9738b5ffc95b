"""Per-request context for the HTTP faces: the authenticated actor and one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session, sessionmaker

from immunis.access.policy import Actor
from immunis.access.service import authenticate
from immunis.errors import Unauthenticated


@dataclass(frozen=True)
class RequestContext:
    actor: Actor
    sessions: sessionmaker[Session]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """The request's unit of work: all of it is committed, or none of it."""
        with self.sessions() as session, session.begin():
            yield session


def sessions_of(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("missing Authorization header (Bearer token)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <token>'")
    return token.strip()


def _context(channel: str):  # type: ignore[no-untyped-def]
    def dependency(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
    ) -> RequestContext:
        factory = sessions_of(request)
        with factory() as session:
            actor = authenticate(session, _bearer(authorization), channel)
        return RequestContext(actor=actor, sessions=factory)

    return dependency


api_context = _context("api")
fhir_context = _context("fhir")
hl7_context = _context("hl7")

ApiContext = Annotated[RequestContext, Depends(api_context)]
FhirContext = Annotated[RequestContext, Depends(fhir_context)]
Hl7Context = Annotated[RequestContext, Depends(hl7_context)]
