"""Users, tokens, authorization checks and the audit log."""

from __future__ import annotations

import hashlib
import secrets
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    ScalarSelect,
    String,
    Subquery,
    bindparam,
    event,
    func,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, SessionTransaction

from immunis.access.models import AccessGrant, ApiToken, AuditEvent, User
from immunis.access.policy import Action, Actor, PersonFacts, Role, may, may_act_on_person
from immunis.db import new_id
from immunis.errors import Conflict, Forbidden, InvalidInput, Unauthenticated
from immunis.registry.models import Guardianship, Immunization, Person, Site


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    username: str,
    role: Role | str,
    display_name: str | None = None,
    site_id: str | None = None,
    area_code: str | None = None,
    person_id: str | None = None,
) -> User:
    """A new user; site roles need a site, officers an area, citizens a person record."""
    role = Role(role)
    if role in (Role.VACCINATOR, Role.INTEGRATION) and not site_id:
        raise InvalidInput(f"a {role.value} needs a site")
    if role in (Role.DISTRICT_OFFICER, Role.PROVINCE_OFFICER) and not area_code:
        raise InvalidInput(f"a {role.value} needs an area code")
    if role is Role.CITIZEN and not person_id:
        raise InvalidInput("a citizen account needs a person record")
    if area_code is not None and not (area_code.isdigit() and len(area_code) in (2, 3)):
        raise InvalidInput("an area code is a 2-digit province or 3-digit district code")
    if site_id is not None and session.get(Site, site_id) is None:
        raise InvalidInput(f"no site {site_id}")
    if person_id is not None and session.get(Person, person_id) is None:
        raise InvalidInput(f"no person {person_id}")
    if find_user(session, username) is not None:
        raise Conflict(f"user {username} already exists")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role.value,
        site_id=site_id,
        area_code=area_code,
        person_id=person_id,
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def issue_token(session: Session, user: User, *, label: str = "", days: int = 365) -> str:
    """A new bearer token for `user`; the plain token is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=hash_token(token),
            label=label,
            expires_at=datetime.now(UTC) + timedelta(days=days),
        )
    )
    session.flush()
    return token


def revoke_tokens(session: Session, user: User, token: str | None = None) -> int:
    """Revoke `token`, or every token of `user` when none is named; how many were revoked."""
    query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
    if token is not None:
        query = query.where(ApiToken.token_hash == hash_token(token))
    revoked = list(session.scalars(query))
    for row in revoked:
        row.revoked = True
    session.flush()
    return len(revoked)


def actor_for(session: Session, user: User, channel: str = "api") -> Actor:
    commune = None
    if user.site_id:
        site = session.get(Site, user.site_id)
        commune = site.commune_code if site else None
    dependants: frozenset[str] = frozenset()
    if user.person_id:
        dependants = frozenset(
            session.scalars(
                select(Guardianship.child_id).where(Guardianship.guardian_id == user.person_id)
            )
        )
    return Actor(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        site_id=user.site_id,
        site_commune_code=commune,
        area_code=user.area_code,
        person_id=user.person_id,
        dependant_ids=dependants,
        channel=channel,
    )


def authenticate(session: Session, token: str, channel: str = "api") -> Actor:
    """The actor a bearer token belongs to; Unauthenticated when it is unknown or expired."""
    found = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token))
    ).one_or_none()
    now = datetime.now(UTC)
    if found is None or found.revoked:
        raise Unauthenticated("unknown or revoked token")
    expires = found.expires_at
    if expires is not None and expires.replace(tzinfo=expires.tzinfo or UTC) < now:
        raise Unauthenticated("token expired")
    user = session.get(User, found.user_id)
    if user is None or not user.active:
        raise Unauthenticated("user inactive")
    return actor_for(session, user, channel)


# Audit events wait in the session until its transaction commits, and are then written in one
# insert: a use case that reads a record and writes for it pays one statement for its events, not
# one each. Each event keeps the moment it happened. Events of a savepoint that is rolled back go
# with it (the importer rejects a bad record that way), as they would had they been written.
_APPEND_AUDIT_EVENTS = insert(AuditEvent.__table__)
_PENDING = "immunis.audit.pending"
_SAVEPOINTS = "immunis.audit.savepoints"


def audit(
    session: Session,
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: str | None = None,
    *,
    person_id: str | None = None,
    outcome: str = "allowed",
    purpose: str | None = None,
    detail: dict[str, Any] | None = None,
    write_now: bool = False,
) -> None:
    """Append one event to the audit log, in the caller's transaction: written when it commits,
    with the others, or at once with `write_now` (on SQLite that write makes the transaction a
    writer from its start, as one that reads, then opens savepoints to write, must be)."""
    row = {
        "at": datetime.now(UTC),
        "user_id": actor.user_id if actor else None,
        "role": actor.role.value if actor else None,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "person_id": person_id,
        "outcome": outcome,
        "purpose": purpose,
        "channel": actor.channel if actor else None,
        "detail": detail or {},
    }
    if write_now:
        session.connection().execute(_APPEND_AUDIT_EVENTS, [row])
    else:
        session.info.setdefault(_PENDING, []).append(row)


# A use case whose transaction is one statement and the commit (the booking) saves the round trip
# of the insert: it takes the waiting events (`take_pending_audit_events`) and its statement
# writes them too, on PostgreSQL, with `APPEND_AUDIT_EVENTS_FROM_JSON` as a CTE, the events in
# the parameter AUDIT_EVENTS (`audit_events_json`). They are still in the caller's transaction,
# so they stand or fall with it.
AUDIT_EVENTS = "audit_events"
_EVENT_COLUMNS = (
    "at",
    "user_id",
    "role",
    "action",
    "entity_type",
    "entity_id",
    "person_id",
    "outcome",
    "purpose",
    "channel",
    "detail",
)
_EVENTS_FROM_JSON = func.jsonb_populate_recordset(
    literal_column(f"NULL::{AuditEvent.__tablename__}"), bindparam(AUDIT_EVENTS, type_=JSONB)
).table_valued(*_EVENT_COLUMNS)
APPEND_AUDIT_EVENTS_FROM_JSON: Insert = insert(AuditEvent.__table__).from_select(
    _EVENT_COLUMNS, select(*(_EVENTS_FROM_JSON.c[name] for name in _EVENT_COLUMNS))
)


def take_pending_audit_events(session: Session) -> list[dict[str, Any]]:
    """The events waiting for the commit, taken out for the caller's statement to write. None
    are taken inside a savepoint: rolling it back would take back with the statement's rows the
    events of the transaction outside it."""
    if session.in_nested_transaction():
        return []
    taken: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    return taken


def audit_events_json(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events as the AUDIT_EVENTS parameter carries them (moments in ISO 8601, with offset)."""
    return [{**row, "at": row["at"].isoformat()} for row in events]


@event.listens_for(Session, "before_commit")
def _write_audit_events(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its events wait for the transaction
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.connection().execute(_APPEND_AUDIT_EVENTS, pending)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_SAVEPOINTS, weakref.WeakKeyDictionary())
        marks[transaction] = len(session.info.get(_PENDING, ()))


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_events(session: Session, previous: SessionTransaction) -> None:
    if not previous.nested:
        session.info.pop(_PENDING, None)
        return
    mark = session.info.get(_SAVEPOINTS, {}).get(previous)
    if mark is not None:
        del session.info.get(_PENDING, [])[mark:]


def granted_sites(person_id: ColumnElement[str], now: ColumnElement[datetime]) -> ScalarSelect[str]:
    """The sites that may see the person's record at `now` (a UTC moment) by a grant, as a
    scalar subquery for a caller's query: their ids separated by spaces (NULL when there are
    none). Expiry moments are stored in UTC, so the comparison holds on SQLite's text
    timestamps too."""
    return (
        select(func.aggregate_strings(AccessGrant.site_id, " "))
        .where(AccessGrant.person_id == person_id, AccessGrant.expires_at > now)
        .scalar_subquery()
    )


def person_facts(session: Session, person: Person) -> PersonFacts:
    dosed = frozenset(
        s
        for s in session.scalars(
            select(Immunization.site_id).where(Immunization.person_id == person.id).distinct()
        )
        if s
    )
    now = literal(datetime.now(UTC), AccessGrant.expires_at.type)
    granted = session.scalar(select(granted_sites(literal(person.id), now)))
    return PersonFacts(
        person_id=person.id,
        managing_site_id=person.managing_site_id,
        province_code=person.province_code,
        district_code=person.district_code,
        commune_code=person.commune_code,
        dosed_at_sites=dosed,
        granted_sites=frozenset((granted or "").split()),
    )


def require(actor: Actor, action: Action, entity_type: str = "person") -> None:
    """Refuse (Forbidden) when the role may not do `action` at all."""
    if not may(actor, action):
        raise Forbidden(
            f"a {actor.role.value} may not {action.value} {entity_type} records",
            user_id=actor.user_id,
            role=actor.role.value,
            action=action.value,
            entity_type=entity_type,
        )


def require_person(session: Session, actor: Actor, action: Action, person: Person) -> None:
    """Refuse (Forbidden) unless `actor` may do `action` to this person's record."""
    require_person_facts(actor, action, person_facts(session, person))


def require_person_facts(actor: Actor, action: Action, person: PersonFacts) -> None:
    """`require_person` for a caller that has read the record's facts itself."""
    if not may_act_on_person(actor, action, person):
        raise Forbidden(
            f"{actor.username} ({actor.role.value}) may not {action.value} this person's record",
            user_id=actor.user_id,
            role=actor.role.value,
            action=action.value,
            entity_type="person",
            entity_id=person.person_id,
            person_id=person.person_id,
        )


def grant_site_access(
    session: Session, actor: Actor, person: Person, reason: str, hours: int = 24
) -> None:
    """Let the actor's site see this person for a while (identified there by national ID)."""
    if actor.site_id is None:
        return
    session.add(
        AccessGrant(
            person_id=person.id,
            site_id=actor.site_id,
            granted_by=actor.user_id,
            reason=reason,
            expires_at=datetime.now(UTC) + timedelta(hours=hours),
        )
    )


def grant_site_access_until(
    session: Session,
    actor: Actor,
    person_id: str,
    site_id: str,
    reason: str,
    expires_at: datetime,
) -> None:
    """Let a site see a person's record until `expires_at`, granted by the actor: a citizen who
    booked an appointment there for themselves or a dependant. Written at once, by one insert
    (no object for the session to track and flush: this is on the booking's path)."""
    session.execute(
        _GRANT,
        {
            "id": new_id(),
            "person_id": person_id,
            "site_id": site_id,
            "granted_by": actor.user_id,
            "reason": reason,
            "expires_at": expires_at.astimezone(UTC),
        },
    )


_GRANT = insert(AccessGrant.__table__)


def grant_site_access_from(rows: Subquery) -> Insert:
    """The insert of a grant for each row of `rows` (columns person_id, site_id, expires_at, in
    UTC), for a caller's statement that learns the site as it runs (the booking's): granted by
    the parameter GRANTED_BY for the reason GRANT_REASON, with the id GRANT_ID (so for one row
    at most), as `grant_site_access_until` grants."""
    return insert(AccessGrant.__table__).from_select(
        ["id", "person_id", "site_id", "granted_by", "reason", "expires_at"],
        select(
            bindparam(GRANT_ID, type_=String),
            rows.c.person_id,
            rows.c.site_id,
            bindparam(GRANTED_BY, type_=String),
            bindparam(GRANT_REASON, type_=String),
            rows.c.expires_at,
        ),
    )


GRANT_ID, GRANTED_BY, GRANT_REASON = "grant_id", "granted_by", "grant_reason"
