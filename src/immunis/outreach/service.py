"""Outreach use cases: who is due soon or late in a site or an area (from each person's
forecast, or from the batch job's results), reminders queued for them at most once, and the
outbox other rooms queue into, claimed and delivered by senders (`flows.py`).

Each function runs in the caller's transaction, checks the actor's right through the registry's
rules, and writes what it showed or queued to the audit log.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from dateutil.relativedelta import relativedelta
from jinja2 import TemplateError
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from immunis.access.policy import AREA_ROLES, SITE_ROLES, Actor, Role
from immunis.access.service import audit
from immunis.education import service as education
from immunis.education.series import Programme
from immunis.errors import DomainError, Forbidden, InvalidInput, NotFound
from immunis.forecast import ForecastInputError
from immunis.outreach import batch_results, policy
from immunis.outreach.delivery import DeliveryResult, OutgoingMessage, retry_delay
from immunis.outreach.due import (
    LOOKBACK_DAYS,
    DueDose,
    DueWindow,
    ReminderKind,
    due_doses,
    due_doses_from_rows,
)
from immunis.outreach.messages import REMINDER_TEMPLATES, UnknownTemplate, booking_url, render
from immunis.outreach.models import DeliveryAttempt, OutboxMessage, Reminder
from immunis.outreach.schemas import (
    DueDoseOut,
    DueListOut,
    DuePersonOut,
    DueTotals,
    ListSource,
    ProgrammeFilter,
    SiteRef,
)
from immunis.registry import service as registry
from immunis.registry import sites
from immunis.registry.schemas import PersonOut, SiteOut

if TYPE_CHECKING:
    # The registry's service imports the supply room's, which queues into this outbox.
    from immunis.registry.service import Contact

SCHEDULE_ID = education.SCHEDULE_ID
# Bộ luật Dân sự 2015, Điều 20: a person is an adult from 18; a child's reminders go to a guardian.
ADULT_AGE_YEARS = 18


# --- The outbox, as other rooms use it --------------------------------------------------------


def _queue(
    session: Session,
    *,
    person_id: str,
    template: str,
    reference: str,
    payload: dict[str, Any],
    channel: str,
    address: str | None,
    language: str | None,
) -> OutboxMessage | None:
    existing = session.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.person_id == person_id,
            OutboxMessage.template == template,
            OutboxMessage.reference == reference,
        )
    ).first()
    if existing is not None:
        return None
    message = OutboxMessage(
        person_id=person_id,
        channel=channel,
        template=template,
        reference=reference,
        payload=payload,
        address=address,
        language=language,
    )
    session.add(message)
    session.flush()
    return message


def queue_message(
    session: Session,
    *,
    person_id: str,
    template: str,
    reference: str,
    payload: dict[str, Any],
    channel: str = "sms",
    address: str | None = None,
    language: str | None = None,
) -> bool:
    """Queue a message for a person unless one with this template and reference is already
    there. True when a new message was queued. Without an address the sender finds one in the
    registry (the person's phone, else a guardian's); without a language it uses the
    configured one."""
    return (
        _queue(
            session,
            person_id=person_id,
            template=template,
            reference=reference,
            payload=payload,
            channel=channel,
            address=address,
            language=language,
        )
        is not None
    )


# --- Whose lists, and who is on them -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    site: SiteOut | None
    area_code: str | None

    def detail(self) -> dict[str, str | None]:
        return {"site": self.site.code if self.site else None, "area": self.area_code}


@dataclass(frozen=True, slots=True)
class ListRequest:
    on: date
    window_days: int = 30
    source: ListSource = "live"
    programme: ProgrammeFilter = "tcmr"
    lookback_days: int = LOOKBACK_DAYS

    @property
    def window(self) -> DueWindow:
        return DueWindow(self.on, self.window_days, self.lookback_days)

    def detail(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat(),
            "window_days": self.window_days,
            "lookback_days": self.lookback_days,
            "source": self.source,
            "programme": self.programme,
        }


@dataclass(frozen=True, slots=True)
class DueEntry:
    """A due dose and the vaccine it calls for."""

    dose: DueDose
    vaccine: education.DoseVaccine


@dataclass(frozen=True, slots=True)
class DuePerson:
    person: PersonOut
    contacts: list[Contact]
    entries: list[DueEntry]

    def of_kind(self, kind: ReminderKind) -> list[DueEntry]:
        return [entry for entry in self.entries if entry.dose.kind is kind]


@dataclass
class Scan:
    """What a walk over a site's or an area's people saw."""

    people: int = 0
    batch_run_id: str | None = None


def resolve_scope(
    session: Session, actor: Actor, site_code: str | None, area_code: str | None
) -> Scope:
    """The site or area a list is for: the one asked for, else the actor's own; Forbidden
    unless the actor may see its lists."""
    if site_code is None and area_code is None:
        if actor.role in SITE_ROLES and actor.site_id:
            return _checked(actor, sites.get_site(session, actor, actor.site_id), None)
        if actor.role in AREA_ROLES:
            area_code = actor.area_code
        elif actor.role is Role.NATIONAL_OFFICER:
            raise InvalidInput(
                "name a site (its code) or an area (a province, district or commune)"
            )
        else:
            return _checked(actor, None, None)
    if area_code is not None and not (area_code.isdigit() and len(area_code) in (2, 3, 5)):
        raise InvalidInput(f"{area_code!r} is not a province, district or commune code")
    site = None
    if site_code is not None:
        found = [
            s for s in sites.search_sites(session, actor, code=site_code) if s.code == site_code
        ]
        if not found:
            raise NotFound(f"no site with code {site_code}")
        site = found[0]
    return _checked(actor, site, area_code)


def _checked(actor: Actor, site: SiteOut | None, area_code: str | None) -> Scope:
    address = site.address if site else None
    site_area = (address.province_code, address.district_code) if address else (None, None)
    if not policy.may_list(actor, site.id if site else None, area_code, site_area):
        wanted = " and ".join(
            part
            for part in (
                f"site {site.code}" if site else "",
                f"area {area_code}" if area_code else "",
            )
            if part
        )
        raise Forbidden(
            f"{actor.username} ({actor.role.value}) may not see the reminder lists"
            + (f" of {wanted}" if wanted else ""),
            user_id=actor.user_id,
            role=actor.role.value,
            action="read",
            entity_type="outreach_list",
        )
    return Scope(site, area_code)


def _wanted(programme: Programme, chosen: ProgrammeFilter) -> bool:
    return chosen == "all" or programme.value == chosen


def _live_doses(
    session: Session, actor: Actor, person_id: str, request: ListRequest
) -> list[DueDose]:
    try:
        _, answer = registry.person_forecast(session, actor, person_id, request.on, SCHEDULE_ID)
    except (InvalidInput, ForecastInputError):
        return []  # born after the date asked about, or a record the engine cannot read
    return due_doses(answer, request.window)


def due_people(
    session: Session, actor: Actor, scope: Scope, request: ListRequest, scan: Scan
) -> Iterator[DuePerson]:
    """The people of the site or area that the actor may read who have a dose due soon or late,
    with the vaccine each dose calls for; `scan` counts everyone looked at."""
    run = None
    if request.source == "batch":
        run = batch_results.latest_finished_run(session, SCHEDULE_ID, request.on)
        if run is None:
            raise InvalidInput(
                f"no finished `immunis forecast-all --source db --schedule {SCHEDULE_ID}` run "
                f"assessed on or before {request.on}: run it, or use source=live"
            )
        scan.batch_run_id = run.id
    for chunk in registry.persons_for_outreach(
        session,
        actor,
        site_id=scope.site.id if scope.site else None,
        area_code=scope.area_code,
    ):
        rows: dict[str, list[batch_results.ResultRow]] = {}
        if run is not None:
            for row in batch_results.result_rows(session, run.id, [p.person.id for p in chunk]):
                rows.setdefault(row.person_id, []).append(row)
        for reached in chunk:
            scan.people += 1
            person_id = reached.person.id
            doses = (
                due_doses_from_rows(rows.get(person_id, []), request.window)
                if run is not None
                else _live_doses(session, actor, person_id, request)
            )
            entries = []
            for dose in doses:
                vaccine = education.vaccine_for_dose(
                    dose.vaccine_group, dose.dose_number, dose.series_name, SCHEDULE_ID
                )
                if _wanted(vaccine.programme, request.programme):
                    entries.append(DueEntry(dose, vaccine))
            if entries:
                yield DuePerson(reached.person, reached.contacts, entries)


def _person_out(person: DuePerson, entries: list[DueEntry]) -> DuePersonOut:
    return DuePersonOut(
        person_id=person.person.id,
        family_name=person.person.family_name,
        given_name=person.person.given_name,
        birth_date=person.person.birth_date,
        managing_site_id=person.person.managing_site_id,
        commune_code=person.person.address.commune_code if person.person.address else None,
        reachable=bool(person.contacts),
        doses=[
            DueDoseOut(
                vaccine_group=e.dose.vaccine_group,
                dose_number=e.dose.dose_number,
                recommended=e.dose.recommended,
                past_due=e.dose.past_due,
                vaccine=e.vaccine.key,
                programme=e.vaccine.programme.value,
            )
            for e in entries
        ],
    )


def due_list(
    session: Session,
    actor: Actor,
    request: ListRequest,
    *,
    site_code: str | None = None,
    area_code: str | None = None,
    limit: int = 1000,
) -> DueListOut:
    """The due-soon and overdue lists of a site (the people it manages) or an area (the people
    living there), with their due vaccine groups and the totals; only people the actor may read
    are counted or named. Audited with every person named."""
    scope = resolve_scope(session, actor, site_code, area_code)
    scan = Scan()
    lists: dict[ReminderKind, list[DuePersonOut]] = {kind: [] for kind in ReminderKind}
    people: Counter[ReminderKind] = Counter()
    by_group: dict[ReminderKind, Counter[str]] = {kind: Counter() for kind in ReminderKind}
    truncated = False
    for person in due_people(session, actor, scope, request, scan):
        for kind in ReminderKind:
            entries = person.of_kind(kind)
            if not entries:
                continue
            people[kind] += 1
            by_group[kind].update(e.dose.vaccine_group for e in entries)
            if len(lists[kind]) < limit:
                lists[kind].append(_person_out(person, entries))
            else:
                truncated = True
    named = sorted({p.person_id for bucket in lists.values() for p in bucket})
    audit(
        session,
        actor,
        "read",
        "outreach_list",
        detail={**scope.detail(), **request.detail(), "people": named},
    )
    site = scope.site
    return DueListOut(
        on=request.on,
        window_days=request.window_days,
        site=SiteRef(id=site.id, code=site.code, name=site.name) if site else None,
        area=scope.area_code,
        source=request.source,
        batch_run_id=scan.batch_run_id,
        programme=request.programme,
        totals=DueTotals(
            people=scan.people,
            due_soon_people=people[ReminderKind.DUE_SOON],
            overdue_people=people[ReminderKind.OVERDUE],
            due_soon_by_group=dict(sorted(by_group[ReminderKind.DUE_SOON].items())),
            overdue_by_group=dict(sorted(by_group[ReminderKind.OVERDUE].items())),
        ),
        due_soon=lists[ReminderKind.DUE_SOON],
        overdue=lists[ReminderKind.OVERDUE],
        truncated=truncated,
    )


# --- Reminders: queued at most once per person, kind, vaccine group and due date ------------


def choose_recipient(person: PersonOut, contacts: list[Contact], on: date) -> Contact | None:
    """Whom to write to: an adult themselves, else a guardian with a phone; failing that,
    whoever has one."""
    adult = relativedelta(on, person.birth_date).years >= ADULT_AGE_YEARS
    own = [c for c in contacts if c.relationship is None]
    guardians = [c for c in contacts if c.relationship is not None]
    ordered = own + guardians if adult else guardians + own
    return ordered[0] if ordered else None


@dataclass
class ReminderReport:
    people: int = 0  # the people of the site or area looked at
    due_people: int = 0  # of whom had a dose due soon or late
    queued: int = 0  # messages queued now
    already_told: int = 0  # due doses a reminder was queued for before
    unreachable: list[str] = field(default_factory=list)  # people due, with no phone to write to


def _reference(entries: list[DueEntry]) -> str:
    """The outbox reference of a reminder: its first due date and a digest of what it says."""
    items = sorted(f"{e.dose.vaccine_group}|{e.dose.due_date.isoformat()}" for e in entries)
    digest = hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]
    return f"{min(e.dose.due_date for e in entries).isoformat()}/{digest}"


def _told(session: Session, person_id: str, kind: ReminderKind) -> set[tuple[str, date]]:
    return {
        (group, due)
        for group, due in session.execute(
            select(Reminder.vaccine_group, Reminder.due_date).where(
                Reminder.person_id == person_id, Reminder.kind == kind.value
            )
        )
    }


def build_reminders(
    session: Session,
    actor: Actor,
    request: ListRequest,
    *,
    site_code: str | None = None,
    area_code: str | None = None,
    language: str = "vi",
    base_url: str,
    progress: Callable[[int], None] | None = None,
) -> ReminderReport:
    """Queue a reminder to each person of the site or area (or their guardian) for the doses
    due soon, and another for the doses already late, except doses a reminder of the same kind
    was queued for before: running it again, or twice at once, tells nobody twice."""
    if language not in ("vi", "en"):
        raise InvalidInput(f"language {language!r}: choose vi or en")
    scope = resolve_scope(session, actor, site_code, area_code)
    # Written first: on SQLite this opens the transaction the savepoints nest in, as a writer.
    audit(
        session,
        actor,
        "queue",
        "reminder",
        detail={**scope.detail(), **request.detail()},
        write_now=True,
    )
    report = ReminderReport()
    scan = Scan()
    site_names: dict[str, SiteOut] = {}
    queued_for: list[str] = []
    seen = 0
    for person in due_people(session, actor, scope, request, scan):
        if progress is not None:
            progress(scan.people - seen)
            seen = scan.people
        report.due_people += 1
        contact = choose_recipient(person.person, person.contacts, request.on)
        for kind in ReminderKind:
            told = _told(session, person.person.id, kind)
            entries = person.of_kind(kind)
            new = [e for e in entries if (e.dose.vaccine_group, e.dose.due_date) not in told]
            report.already_told += len(entries) - len(new)
            if not new:
                continue
            if contact is None:
                report.unreachable.append(person.person.id)
                break
            site = scope.site or _site_of(session, actor, person.person, site_names)
            if _queue_reminder(session, person, kind, new, contact, site, language, base_url):
                report.queued += 1
                queued_for.append(person.person.id)
            else:
                report.already_told += len(new)  # another run queued it a moment ago
    if progress is not None:
        progress(scan.people - seen)
    report.people = scan.people
    audit(
        session,
        actor,
        "queue",
        "reminder",
        detail={
            **scope.detail(),
            "queued": report.queued,
            "people": sorted(set(queued_for)),
            "unreachable": report.unreachable,
        },
    )
    return report


def _site_of(
    session: Session, actor: Actor, person: PersonOut, known: dict[str, SiteOut]
) -> SiteOut | None:
    site_id = person.managing_site_id
    if site_id is None:
        return None
    if site_id not in known:
        known[site_id] = sites.get_site(session, actor, site_id)
    return known[site_id]


def _queue_reminder(
    session: Session,
    person: DuePerson,
    kind: ReminderKind,
    entries: list[DueEntry],
    contact: Contact,
    site: SiteOut | None,
    language: str,
    base_url: str,
) -> bool:
    """One reminder message and its ledger rows, in a savepoint: False when a concurrent run
    queued the same reminder first."""
    payload = {
        "kind": kind.value,
        "person_name": f"{person.person.family_name} {person.person.given_name}",
        "recipient_name": contact.name,
        "for_dependant": contact.relationship is not None,
        "date": min(e.dose.recommended for e in entries).isoformat(),
        "doses": [
            {
                "vaccine_group": e.dose.vaccine_group,
                "dose_number": e.dose.dose_number,
                "recommended": e.dose.recommended.isoformat(),
                "past_due": e.dose.past_due.isoformat() if e.dose.past_due else None,
                "vaccine": e.vaccine.key,
            }
            for e in entries
        ],
        "site_id": site.id if site else None,
        "site_name": site.name if site else None,
        "booking_url": booking_url(base_url, person.person.id, site.id if site else None),
    }
    try:
        with session.begin_nested():
            message = _queue(
                session,
                person_id=person.person.id,
                template=REMINDER_TEMPLATES[kind.value],
                reference=_reference(entries),
                payload=payload,
                channel="sms",
                address=contact.phone,
                language=language,
            )
            if message is None:
                return False
            session.add_all(
                Reminder(
                    person_id=person.person.id,
                    kind=kind.value,
                    vaccine_group=e.dose.vaccine_group,
                    dose_number=e.dose.dose_number,
                    due_date=e.dose.due_date,
                    message_id=message.id,
                )
                for e in entries
            )
            session.flush()
    except IntegrityError:
        return False
    return True


# --- Sending: claimed by one sender at a time, every attempt logged ---------------------------


@dataclass(frozen=True, slots=True)
class Unsendable:
    """A claimed message that cannot be made ready (no address, no template): it fails."""

    id: str
    error: str


def sendable_count(session: Session, now: datetime) -> int:
    """How many queued messages are due for an attempt at `now`."""
    return session.scalar(select(func.count()).where(*_sendable(now))) or 0


def _sendable(now: datetime) -> tuple[Any, ...]:
    return (
        OutboxMessage.status == "queued",
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    )


def claim_messages(
    session: Session, actor: Actor, *, limit: int, now: datetime, language: str
) -> list[OutgoingMessage | Unsendable]:
    """Take up to `limit` messages due for an attempt, oldest first, and make them ready to
    send. Taking them marks them `sending` in one UPDATE that only touches queued rows (and on
    PostgreSQL skips rows another sender is taking), so no two senders ever hold one message.
    Messages queued without an address are addressed from the registry now."""
    due = (
        select(OutboxMessage.id)
        .where(*_sendable(now))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Locked first, in a statement of its own: as a subquery of the UPDATE, PostgreSQL may
        # run it again and again, each time past the rows just taken, and take more than asked.
        chosen: Any = list(session.scalars(due.with_for_update(skip_locked=True)))
    else:
        # SQLite: one statement, so the transaction's first act is the write that locks.
        chosen = due.scalar_subquery()
    claimed = list(
        session.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(chosen), OutboxMessage.status == "queued")
            .values(status="sending", claimed_at=now)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
    )
    messages = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(claimed))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return [_ready(session, actor, message, language, now.date()) for message in messages]


def _ready(
    session: Session, actor: Actor, message: OutboxMessage, language: str, on: date
) -> OutgoingMessage | Unsendable:
    payload = dict(message.payload)
    language = message.language or language
    try:
        if message.address is None:
            reached = registry.person_contacts(session, actor, message.person_id)
            contact = choose_recipient(reached.person, reached.contacts, on)
            if contact is None:
                return Unsendable(message.id, "no phone number for the person or a guardian")
            message.address = contact.phone
            message.language = language
            payload.setdefault(
                "person_name", f"{reached.person.family_name} {reached.person.given_name}"
            )
            payload.setdefault("recipient_name", contact.name)
            payload.setdefault("for_dependant", contact.relationship is not None)
        rendered = render(message.template, payload, language)
    except (UnknownTemplate, TemplateError, DomainError) as error:
        return Unsendable(message.id, f"{type(error).__name__}: {error}")
    return OutgoingMessage(
        id=message.id,
        channel=message.channel,
        address=message.address,
        language=language,
        template=message.template,
        subject=rendered.subject,
        body=rendered.body,
    )


def record_attempt(
    session: Session,
    message_id: str,
    adapter: str,
    result: DeliveryResult,
    *,
    now: datetime,
    max_attempts: int,
    retry_seconds: int,
) -> str:
    """Log one delivery attempt and move the message on: sent; queued again after a backoff
    that doubles each time; or failed, when the failure is final or the attempts are spent.
    Returns the outcome: sent, retry or failed."""
    # Written before anything is read: on SQLite the transaction takes the write lock at once.
    attempt = session.scalar(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.attempts)
        .execution_options(synchronize_session=False)
    )
    if attempt is None:
        raise NotFound(f"no outbox message {message_id}")
    error = (result.error or "")[:500] or None
    if result.delivered:
        outcome = "sent"
        values: dict[str, Any] = {"status": "sent", "sent_at": now, "last_error": None}
    elif result.permanent or attempt >= max_attempts:
        outcome = "failed"
        values = {"status": "failed", "last_error": error}
    else:
        outcome = "retry"
        values = {
            "status": "queued",
            "next_attempt_at": now + retry_delay(attempt, retry_seconds),
            "last_error": error,
        }
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.add(
        DeliveryAttempt(
            message_id=message_id,
            attempt=attempt,
            at=now,
            adapter=adapter,
            outcome=outcome,
            error=error,
            provider_id=result.provider_id,
        )
    )
    session.flush()
    return outcome


def outbox_counts(session: Session) -> dict[str, int]:
    """How many messages the outbox holds in each status."""
    return dict(
        session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )
