"""Errors the domain services raise; each face (JSON API, FHIR, HL7, CLI) turns them into its own
kind of answer."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors below; `str(error)` is safe to show to the caller."""


class NotFound(DomainError):
    pass


class InvalidInput(DomainError):
    """The request is well-formed but cannot be done as asked (e.g. a dose before birth)."""


class Conflict(DomainError):
    """The request clashes with what is recorded (e.g. a national ID already in use)."""


class Forbidden(DomainError):
    """The actor may not do this. Carries what the audit log needs to record the refusal."""

    def __init__(
        self,
        message: str,
        *,
        user_id: str | None,
        role: str | None,
        action: str,
        entity_type: str,
        entity_id: str | None = None,
        person_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.user_id = user_id
        self.role = role
        self.action = action
        self.entity_type = entity_type
        self.entity_id = entity_id
        self.person_id = person_id


class Unauthenticated(DomainError):
    pass
