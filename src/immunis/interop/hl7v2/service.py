"""HL7 v2 messages processed against the registry, through its service functions (which check
the sender's rights and write the audit log).

A VXU is one transaction: the person and all its doses are recorded, or nothing is. Its answer
is logged under (sender, MSH-10) in the same transaction, so a message sent again gets the same
answer and changes nothing. A QBP is answered from the registry and not logged: asking again
should get today's answer.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from immunis.access.policy import Actor
from immunis.access.service import authenticate
from immunis.db import transaction
from immunis.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unauthenticated
from immunis.interop.hl7v2.ack import Reply, acknowledgment
from immunis.interop.hl7v2.datatypes import PatientId
from immunis.interop.hl7v2.encoding import Message, Segment, decode
from immunis.interop.hl7v2.forecast_segments import evaluated_history
from immunis.interop.hl7v2.header import Header, read_header
from immunis.interop.hl7v2.models import Hl7MessageLog
from immunis.interop.hl7v2.problems import (
    ApplicationError,
    ErrorCode,
    Location,
    Problem,
    Rejected,
    Severity,
    error,
    has_errors,
    warning,
)
from immunis.interop.hl7v2.qbp import EVALUATED_HISTORY_AND_FORECAST, ImmunizationQuery, parse_qbp
from immunis.interop.hl7v2.rsp import (
    CANDIDATES,
    EVALUATED_HISTORY,
    HISTORY,
    NO_PERSON,
    dose_segments,
    patient_segment,
    query_response,
)
from immunis.interop.hl7v2.vxu import Guardian, ReportedDose, VaccinationUpdate, parse_vxu
from immunis.registry import service as registry
from immunis.registry.schemas import (
    GuardianLink,
    ImmunizationIn,
    ImmunizationOut,
    PersonIn,
    PersonOut,
)
from immunis.registry.sites import search_sites
from immunis.schedule.catalog import SCHEDULE_IDS, load_schedule
from immunis.web.problems import record_refusal

logger = logging.getLogger(__name__)
# Times a VXU is tried when other messages write the same records at the same moment.
ATTEMPTS = 3


def known_vaccine(cvx: str) -> bool:
    """A vaccine code some shipped schedule knows (the registry records no other)."""
    return any(load_schedule(s).vaccine(cvx) is not None for s in SCHEDULE_IDS)


def _control_id() -> str:
    return uuid4().hex[:20]


class _StepFailed(Exception):
    """A registry refusal while processing one part of the message, placed on that part."""

    def __init__(self, problem: Problem, cause: DomainError) -> None:
        super().__init__(problem.text)
        self.problem = problem
        self.cause = cause


def _problem(location: Location, failure: DomainError) -> Problem:
    if isinstance(failure, Conflict):
        return error(location, ErrorCode.DUPLICATE_KEY, str(failure))
    if isinstance(failure, NotFound):
        return error(location, ErrorCode.UNKNOWN_KEY, str(failure))
    if isinstance(failure, InvalidInput):
        return error(location, ErrorCode.DATA_TYPE, str(failure), ApplicationError.ILLOGICAL_VALUE)
    return error(location, ErrorCode.INTERNAL, f"not authorized: {failure}")


@contextmanager
def _at(location: Location) -> Iterator[None]:
    try:
        yield
    except DomainError as failure:
        raise _StepFailed(_problem(location, failure), failure) from failure


def _lookup(session: Session, actor: Actor, patient_id: PatientId) -> list[PersonOut]:
    if patient_id.is_registry_id:
        return [registry.get_person(session, actor, patient_id.value)]
    if patient_id.is_national_id:
        return registry.search_persons(session, actor, national_id=patient_id.value)
    return registry.search_persons(session, actor, identifier=patient_id.identifier())


def _guardian_links(
    session: Session, actor: Actor, guardians: tuple[Guardian, ...]
) -> list[GuardianLink]:
    """Guardians the registry knows by national ID (NK1-33); others are not linked."""
    links = []
    for guardian in guardians:
        if guardian.national_id:
            found = registry.search_persons(session, actor, national_id=guardian.national_id)
            links += [
                GuardianLink(guardian_id=p.id, relationship=guardian.relationship) for p in found
            ]
    return links


def _person_in(person: PersonOut) -> PersonIn:
    return PersonIn.model_validate(person.model_dump(include=set(PersonIn.model_fields)))


def _identify(
    session: Session, actor: Actor, update: VaccinationUpdate
) -> tuple[str, list[Problem]]:
    """The person the message is about: found by any PID-3 identifier, else registered. A known
    person gains the message's identifiers and guardians they lack; nothing else of their
    record is changed by a VXU."""
    data = update.person
    if data is None:
        raise InvalidInput("PID does not describe a person")
    matches = {p.id: p for pid in update.patient_ids for p in _lookup(session, actor, pid)}
    if len(matches) > 1:
        raise Conflict(f"PID-3 identifiers belong to {len(matches)} different people")
    links = _guardian_links(session, actor, update.guardians)
    if not matches:
        created = registry.create_person(
            session, actor, data.model_copy(update={"guardians": links})
        )
        return created.id, []
    person = next(iter(matches.values()))
    notes = []
    if person.birth_date != data.birth_date:
        notes.append(
            warning(
                Location("PID", 1, 7),
                ErrorCode.ACCEPTED,
                f"PID-7 date of birth differs from the registry's record ({person.birth_date}) "
                "for this identifier; the record was not changed",
                ApplicationError.ILLOGICAL_DATE,
            )
        )
    known = _person_in(person)
    identifiers = known.identifiers + [i for i in data.identifiers if i not in known.identifiers]
    guardians = known.guardians + [
        link for link in links if link.guardian_id not in {g.guardian_id for g in known.guardians}
    ]
    national_id = known.national_id or data.national_id
    if (identifiers, guardians, national_id) != (
        known.identifiers,
        known.guardians,
        known.national_id,
    ):
        registry.update_person(
            session,
            actor,
            person.id,
            known.model_copy(
                update={
                    "identifiers": identifiers,
                    "guardians": guardians,
                    "national_id": national_id,
                }
            ),
        )
    return person.id, notes


def _recorded(
    session: Session, actor: Actor, person_id: str, dose: ImmunizationIn
) -> ImmunizationOut | None:
    return next(
        (
            d
            for d in registry.list_immunizations(session, actor, person_id)
            if d.external_id == dose.external_id
        ),
        None,
    )


def _located(
    session: Session, actor: Actor, dose: ReportedDose
) -> tuple[ImmunizationIn, list[Problem]]:
    """The dose with its site (RXA-11, else ORC-17) resolved to a registered site."""
    if not dose.site_code:
        return dose.immunization, []
    sites = search_sites(session, actor, code=dose.site_code)
    if sites:
        return dose.immunization.model_copy(update={"site_id": sites[0].id}), []
    return dose.immunization, [
        warning(
            Location("RXA", dose.number, 11),
            ErrorCode.TABLE_VALUE_NOT_FOUND,
            f"site {dose.site_code!r} is not a registered site; not recorded with the dose",
            ApplicationError.TABLE_VALUE_NOT_FOUND,
        )
    ]


def _apply_dose(
    session: Session, actor: Actor, person_id: str, dose: ReportedDose
) -> list[Problem]:
    """Record (A), correct (U) or withdraw (D) one dose; not-given doses are noted, not kept."""
    where = Location("RXA", dose.number)
    if dose.action == "D":
        existing = _recorded(session, actor, person_id, dose.immunization)
        if existing is None:
            return [warning(where, ErrorCode.UNKNOWN_KEY, "no such dose to delete (RXA-21 D)")]
        if existing.status != "entered-in-error":
            kept = ImmunizationIn.model_validate(
                existing.model_dump(include=set(ImmunizationIn.model_fields))
            )
            registry.update_immunization(
                session, actor, existing.id, person_id, kept, status="entered-in-error"
            )
        return []
    if not dose.is_dose:
        return [
            Problem(
                where,
                ErrorCode.ACCEPTED,
                f"RXA-20 {dose.completion_status}: not a dose given, so not recorded",
                Severity.INFORMATION,
                ApplicationError.DATA_IGNORED,
            )
        ]
    data, notes = _located(session, actor, dose)
    existing = _recorded(session, actor, person_id, data) if dose.action == "U" else None
    if existing is not None:
        data = data.model_copy(update={"site_id": data.site_id or existing.site_id})
        registry.update_immunization(session, actor, existing.id, person_id, data)
    else:
        registry.record_immunization(session, actor, person_id, data)
    return notes


def _record(session: Session, actor: Actor, update: VaccinationUpdate) -> list[Problem]:
    with _at(Location("PID", 1, 3)):
        person_id, notes = _identify(session, actor, update)
    for dose in update.doses:
        with _at(Location("RXA", dose.number)):
            notes += _apply_dose(session, actor, person_id, dose)
    return notes


def _digest(message: Message) -> str:
    # A sender re-sending a message may stamp a new MSH-7; everything else must match.
    msh = message.msh.fields
    lines = ["|".join((*msh[:7], "", *msh[8:]))] + [
        "|".join(s.fields) for s in message.segments[1:]
    ]
    return hashlib.sha256("\r".join(lines).encode("utf-8")).hexdigest()


def _logged(sessions: sessionmaker[Session], header: Header) -> Hl7MessageLog | None:
    with transaction(sessions) as session:
        return session.scalars(
            select(Hl7MessageLog).where(
                Hl7MessageLog.sender == header.sender,
                Hl7MessageLog.control_id == header.control_id,
            )
        ).one_or_none()


def _replay(row: Hl7MessageLog) -> Reply:
    return Reply(tuple(row.acknowledgment.split("\r")), row.charset, row.acknowledgment_code)


def _log_entry(header: Header, digest: str, reply: Reply, actor: Actor) -> Hl7MessageLog:
    return Hl7MessageLog(
        sender=header.sender,
        control_id=header.control_id,
        message_type=f"{header.message_type}^{header.trigger_event}",
        digest=digest,
        acknowledgment_code=reply.code,
        acknowledgment="\r".join(reply.segments),
        charset=reply.charset,
        user_id=actor.user_id,
    )


class _Answerer:
    """Builds the answers to one message."""

    def __init__(self, message: Message, now: datetime) -> None:
        self.message = message
        self.now = now

    def ack(
        self, problems: list[Problem] | tuple[Problem, ...], *, rejected: bool = False
    ) -> Reply:
        return acknowledgment(
            self.message.msh,
            problems,
            rejected=rejected,
            request_charset=self.message.charset,
            control_id=_control_id(),
            now=self.now,
        )

    def response(
        self,
        profile: str,
        status: str,
        body: list[str] | None = None,
        problems: list[Problem] | tuple[Problem, ...] = (),
        code: str = "AA",
    ) -> Reply:
        return query_response(
            self.message.msh,
            self.message.first("QPD"),
            profile=profile,
            code=code,
            status=status,
            problems=problems,
            body=body or [],
            request_charset=self.message.charset,
            control_id=_control_id(),
            now=self.now,
        )


def _earlier_answer(answer: _Answerer, header: Header, digest: str, logged: Hl7MessageLog) -> Reply:
    """The answer to a control id already used: the same answer for the same message."""
    if logged.digest == digest:
        return _replay(logged)
    return answer.ack(
        [
            error(
                Location("MSH", 1, 10),
                ErrorCode.DUPLICATE_KEY,
                f"message control id {header.control_id!r} was already used by this sender "
                "for a different message; nothing was recorded",
            )
        ],
        rejected=True,
    )


def _vaccination_update(
    message: Message,
    header: Header,
    actor: Actor,
    sessions: sessionmaker[Session],
    today: date,
    now: datetime,
) -> Reply:
    answer = _Answerer(message, now)
    digest = _digest(message)
    logged = _logged(sessions, header)
    if logged is not None:
        return _earlier_answer(answer, header, digest, logged)
    try:
        update = parse_vxu(message, header, known_vaccine=known_vaccine, today=today)
    except Rejected as rejected:
        return answer.ack([rejected.problem], rejected=True)
    if has_errors(update.problems):
        return _log_error_answer(sessions, header, digest, answer.ack(update.problems), actor)
    for _ in range(ATTEMPTS):
        try:
            with transaction(sessions) as session:
                notes = _record(session, actor, update)
                reply = answer.ack([*update.problems, *notes])
                session.add(_log_entry(header, digest, reply, actor))
            return reply
        except _StepFailed as failed:
            reply = answer.ack([*update.problems, failed.problem])
            if isinstance(failed.cause, Forbidden):
                # A refusal is not kept: the sender's rightful user may send the message later.
                record_refusal(sessions, failed.cause, actor.channel)
                return reply
            return _log_error_answer(sessions, header, digest, reply, actor)
        except (IntegrityError, OperationalError):
            # Another message wrote the same records at the same moment: look again.
            logger.info("HL7 v2 message %s clashed with another", header.control_id, exc_info=True)
            logged = _logged(sessions, header)
            if logged is not None:
                return _earlier_answer(answer, header, digest, logged)
    return answer.ack(
        [
            error(
                None,
                ErrorCode.RECORD_LOCKED,
                "other messages kept changing this record at the same moment; send again",
            )
        ]
    )


def _log_error_answer(
    sessions: sessionmaker[Session], header: Header, digest: str, reply: Reply, actor: Actor
) -> Reply:
    """Keep an AE answer too: the same message sent again gets it again."""
    try:
        with transaction(sessions) as session:
            session.add(_log_entry(header, digest, reply, actor))
    except IntegrityError:
        logged = _logged(sessions, header)
        if logged is not None and logged.digest == digest:
            return _replay(logged)
    return reply


def _find(session: Session, actor: Actor, query: ImmunizationQuery) -> list[PersonOut]:
    """The people the query names: by identifier first, else by name and date of birth."""
    matches: dict[str, PersonOut] = {}
    for patient_id in query.patient_ids:
        try:
            matches.update((p.id, p) for p in _lookup(session, actor, patient_id))
        except NotFound:
            continue
    if not matches and query.family_name and query.birth_date:
        name = f"{query.family_name} {query.given_name}".strip()
        for person in registry.search_persons(
            session, actor, name=name, birth_date=query.birth_date, limit=query.limit + 1
        ):
            if query.sex in (None, "unknown") or person.sex in ("unknown", query.sex):
                matches[person.id] = person
    return list(matches.values())


def _answer_query(
    session: Session,
    actor: Actor,
    query: ImmunizationQuery,
    answer: _Answerer,
    schedule_id: str,
    today: date,
) -> Reply:
    found = _find(session, actor, query)
    notes = list(query.problems)
    if not found:
        return answer.response(NO_PERSON, "NF", problems=notes)
    single_only = query.profile == EVALUATED_HISTORY_AND_FORECAST
    if len(found) > query.limit or (single_only and len(found) > 1):
        return answer.response(NO_PERSON, "TM", problems=notes)
    if len(found) > 1:
        body = [patient_segment(number, p) for number, p in enumerate(found, start=1)]
        return answer.response(CANDIDATES, "OK", body, notes)
    person = found[0]
    doses = [
        d for d in registry.list_immunizations(session, actor, person.id) if d.status == "completed"
    ]
    if not single_only:
        body = [patient_segment(1, person)]
        for dose in doses:
            body += dose_segments(dose)
        return answer.response(HISTORY, "OK", body, notes)
    _, forecast = registry.person_forecast(session, actor, person.id, today, schedule_id)
    body = [
        patient_segment(1, person),
        *evaluated_history(doses, forecast, load_schedule(schedule_id)),
    ]
    return answer.response(EVALUATED_HISTORY, "OK", body, notes)


def _query(
    message: Message,
    header: Header,
    actor: Actor,
    sessions: sessionmaker[Session],
    schedule_id: str,
    today: date,
    now: datetime,
) -> Reply:
    answer = _Answerer(message, now)
    try:
        query = parse_qbp(message, header)
    except Rejected as rejected:
        return answer.response(NO_PERSON, "AR", problems=[rejected.problem], code="AR")
    if has_errors(query.problems):
        return answer.response(NO_PERSON, "AE", problems=query.problems, code="AE")
    try:
        with transaction(sessions) as session, _at(Location("QPD", 1, 3)):
            return _answer_query(session, actor, query, answer, schedule_id, today)
    except _StepFailed as failed:
        if isinstance(failed.cause, Forbidden):
            record_refusal(sessions, failed.cause, actor.channel)
        return answer.response(NO_PERSON, "AE", problems=[failed.problem], code="AE")


def handle_message(
    data: bytes,
    actor: Actor,
    sessions: sessionmaker[Session],
    *,
    schedule_id: str,
    today: date | None = None,
    now: datetime | None = None,
) -> Reply:
    """The answer to one HL7 v2 message from `actor`: an ACK for a VXU (and for anything we
    cannot read or do not take), an RSP for a QBP. Never raises: an unexpected failure is an
    AE with error 207, and nothing of the message is recorded."""
    now = now or datetime.now(UTC)
    today = today or date.today()
    try:
        message = decode(data)
        header = read_header(message)
    except Rejected as rejected:
        charset = rejected.msh.text(18).upper() if rejected.msh else ""
        return acknowledgment(
            rejected.msh,
            [rejected.problem],
            rejected=True,
            request_charset=charset,
            control_id=_control_id(),
            now=now,
        )
    try:
        if header.message_type == "VXU":
            return _vaccination_update(message, header, actor, sessions, today, now)
        return _query(message, header, actor, sessions, schedule_id, today, now)
    except Exception:
        logger.exception("HL7 v2 message %s from %s failed", header.control_id, header.sender)
        failure = error(
            None, ErrorCode.INTERNAL, "the message could not be processed; nothing was recorded"
        )
        return _Answerer(message, now).ack([failure])


def _refusal(data: bytes, reason: str) -> Reply:
    request: Segment | None
    try:
        message = decode(data)
        request, charset = message.msh, message.charset
    except Rejected as rejected:
        request, charset = rejected.msh, ""
    return acknowledgment(
        request,
        [error(None, ErrorCode.INTERNAL, reason)],
        rejected=True,
        request_charset=charset,
        control_id=_control_id(),
        now=datetime.now(UTC),
    )


def answer_as(token: str, sessions: sessionmaker[Session], schedule_id: str, data: bytes) -> bytes:
    """The answer to a message from whoever holds `token` now, for transports that carry no
    credentials of their own (MLLP): refused (AR) once the token is revoked or expired."""
    try:
        with transaction(sessions) as session:
            actor = authenticate(session, token, "hl7")
    except Unauthenticated as refused:
        return _refusal(data, f"not authenticated: {refused}").encode()
    except Exception:
        logger.exception("HL7 v2 sender could not be authenticated")
        return _refusal(data, "the registry is not available; send again later").encode()
    return handle_message(data, actor, sessions, schedule_id=schedule_id).encode()
