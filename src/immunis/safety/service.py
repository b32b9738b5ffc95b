"""The safety room's use cases: AEFI reports from citizens and vaccinators, the safety officer's
review, aggregates for programme officers, signal runs and the lots they raise to the lab.

Each function runs in the caller's transaction, checks the actor and writes to the audit log. The
registry is used through its service only: reading the person and the doses a report is about
(which checks the reporter may read that record), and counting doses for signal runs.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from immunis.access.policy import Actor
from immunis.access.service import audit
from immunis.errors import Conflict, Forbidden, InvalidInput, NotFound
from immunis.registry import service as registry
from immunis.safety import monitoring, policy
from immunis.safety.duplicates import ReportKey, possible_duplicates
from immunis.safety.models import (
    AefiCausalityAssessment,
    AefiEvent,
    AefiNote,
    AefiReport,
    AefiReportLink,
    AefiSuspectedDose,
    LotSafetyAlert,
    SignalResult,
    SignalRun,
)
from immunis.safety.schemas import (
    AefiAggregate,
    AefiQueueItem,
    AefiReportIn,
    AefiReportOut,
    CausalityIn,
    CausalityOut,
    CloseIn,
    EventOut,
    FollowUpIn,
    InvestigationIn,
    LinkIn,
    LinkOut,
    LotAlertDecisionIn,
    LotAlertOut,
    NoteOut,
    SignalResultOut,
    SignalRunOut,
    SuspectedDoseOut,
    TermOut,
)
from immunis.safety.terms import shipped_terms
from immunis.safety.workflow import (
    CAUSALITY_MEANING,
    Causality,
    Outcome,
    Seriousness,
    Status,
    may_move,
)
from immunis.schedule.model import normalize_cvx


def _refuse(actor: Actor, action: str, message: str, **about: str | None) -> Forbidden:
    return Forbidden(
        message,
        user_id=actor.user_id,
        role=actor.role.value,
        action=action,
        entity_type="aefi_report",
        entity_id=about.get("entity_id"),
        person_id=about.get("person_id"),
    )


def _now() -> datetime:
    return datetime.now(UTC)


# --- Terms --------------------------------------------------------------------------------------


def list_terms() -> list[TermOut]:
    """The AEFI event terms a report may be coded with."""
    return [
        TermOut(
            code=t.code,
            name=t.name,
            definition=t.definition,
            meddra=t.meddra,
            window_days=(t.window.first_day, t.window.last_day),
            has_background_rate=bool(t.background),
        )
        for t in shipped_terms().terms.values()
    ]


# --- Reports ------------------------------------------------------------------------------------


def _load(session: Session, report_id: str) -> AefiReport:
    report = session.get(AefiReport, report_id)
    if report is None:
        raise NotFound(f"no AEFI report {report_id}")
    return report


def _links(session: Session, report_id: str) -> list[LinkOut]:
    rows = session.scalars(
        select(AefiReportLink).where(
            or_(AefiReportLink.report_id == report_id, AefiReportLink.other_report_id == report_id)
        )
    )
    return [
        LinkOut(
            other_report_id=r.other_report_id if r.report_id == report_id else r.report_id,
            score=r.score,
            reasons=r.reasons,
            state=r.state,  # type: ignore[arg-type]
        )
        for r in rows
    ]


def _causality_out(row: AefiCausalityAssessment) -> CausalityOut:
    category = Causality(row.category)
    return CausalityOut(
        category=category,
        meaning=CAUSALITY_MEANING[category],
        rationale=row.rationale,
        assessed_by=row.assessed_by,
        assessed_at=row.assessed_at,
    )


def report_out(session: Session, report: AefiReport) -> AefiReportOut:
    """A report with its events, doses, notes, assessments and links, as the API gives it."""
    terms = shipped_terms()
    assessments = [_causality_out(a) for a in report.assessments]
    return AefiReportOut(
        id=report.id,
        person_id=report.person_id,
        sex=report.sex,
        age_at_onset_days=report.age_at_onset_days,
        province_code=report.province_code,
        district_code=report.district_code,
        commune_code=report.commune_code,
        reporter_user_id=report.reporter_user_id,
        reporter_role=report.reporter_role,
        reporter_name=report.reporter_name,
        reporter_designation=report.reporter_designation,
        reporter_phone=report.reporter_phone,
        reported_at=report.reported_at,
        onset_date=report.onset_date,
        onset_time=report.onset_time,
        events=[
            EventOut(
                code=e.code, name=term.name if (term := terms.term(e.code)) else e.code, text=e.text
            )
            for e in sorted(report.events, key=lambda e: e.code)
        ],
        doses=[
            SuspectedDoseOut(
                immunization_id=d.immunization_id,
                cvx=d.cvx,
                mvx=d.mvx,
                product_name=d.product_name,
                lot_number=d.lot_number,
                site_id=d.site_id,
                date_administered=d.date_administered,
                time_administered=d.time_administered,
                days_to_onset=(report.onset_date - d.date_administered).days,
            )
            for d in sorted(report.doses, key=lambda d: (d.date_administered, d.cvx))
        ],
        description=report.description,
        treatment=report.treatment,
        seriousness=[Seriousness(s) for s in report.seriousness],
        serious=report.serious,
        outcome=Outcome(report.outcome),
        death_date=report.death_date,
        status=Status(report.status),
        causality=assessments[-1] if assessments else None,
        assessments=assessments,
        notes=[
            NoteOut(
                kind=n.kind,
                text=n.text,
                outcome=n.outcome,
                noted_at=n.noted_at,
                author_user_id=n.author_user_id,
                author_role=n.author_role,
            )
            for n in report.notes
        ],
        links=_links(session, report.id),
        duplicate_of_id=report.duplicate_of_id,
        closed_at=report.closed_at,
    )


def _check_events(data: AefiReportIn) -> None:
    terms = shipped_terms()
    for event in data.events:
        if terms.term(event.code) is None:
            raise InvalidInput(f"unknown AEFI term {event.code!r} (see GET /api/aefi/terms)")
        if event.code == "OTHER" and not (event.text or "").strip():
            raise InvalidInput("an event coded OTHER needs its text")


def _key(report: AefiReport) -> ReportKey:
    return ReportKey(
        report_id=report.id,
        person_id=report.person_id,
        events=frozenset(e.code for e in report.events),
        onset=report.onset_date,
        immunization_ids=frozenset(d.immunization_id for d in report.doses),
    )


def _flag_duplicates(session: Session, report: AefiReport) -> None:
    others = session.scalars(
        select(AefiReport)
        .where(
            AefiReport.person_id == report.person_id,
            AefiReport.id != report.id,
            AefiReport.duplicate_of_id.is_(None),
        )
        .options(selectinload(AefiReport.events), selectinload(AefiReport.doses))
    )
    for match in possible_duplicates(_key(report), [_key(o) for o in others]):
        session.add(
            AefiReportLink(
                report_id=match.report_id,
                other_report_id=match.other_id,
                score=match.score,
                reasons=list(match.reasons),
                state="suspected",
            )
        )


def create_report(session: Session, actor: Actor, data: AefiReportIn) -> AefiReportOut:
    """Record a reaction after doses of a person the actor may read (a citizen: themselves or a
    dependant; a vaccinator: the people of their site). Possible duplicates are flagged."""
    if not policy.may_report(actor):
        raise _refuse(actor, "report_aefi", f"a {actor.role.value} may not report an AEFI")
    try:
        person = registry.get_person(session, actor, data.person_id)
    except Forbidden as refusal:
        raise _refuse(
            actor,
            "report_aefi",
            f"{actor.username} may not report a reaction for this person",
            person_id=data.person_id,
        ) from refusal
    _check_events(data)
    if data.onset_date > date.today():
        raise InvalidInput("the onset date is in the future")
    if data.death_date is not None and data.death_date < data.onset_date:
        raise InvalidInput("the death date is before the onset")
    address = person.address
    report = AefiReport(
        person_id=person.id,
        sex=person.sex,
        age_at_onset_days=(data.onset_date - person.birth_date).days,
        province_code=address.province_code if address else None,
        district_code=address.district_code if address else None,
        commune_code=address.commune_code if address else None,
        reporter_user_id=actor.user_id,
        reporter_role=actor.role.value,
        reporter_name=actor.username,
        reporter_designation=data.reporter_designation,
        reporter_phone=data.reporter_phone,
        reporter_site_id=actor.site_id,
        onset_date=data.onset_date,
        onset_time=data.onset_time,
        description=data.description,
        treatment=data.treatment,
        seriousness=[s.value for s in data.seriousness],
        serious=bool(data.seriousness),
        outcome=data.outcome.value,
        death_date=data.death_date,
        status=Status.RECEIVED.value,
    )
    for suspected in data.doses:
        dose = registry.get_immunization(session, actor, suspected.immunization_id)
        if dose.person_id != person.id:
            raise InvalidInput(f"dose {dose.id} is not a dose of person {person.id}")
        if dose.status != "completed":
            raise InvalidInput(f"dose {dose.id} was entered in error")
        if data.onset_date < dose.date_administered:
            raise InvalidInput(f"the onset is before dose {dose.id} was given")
        report.doses.append(
            AefiSuspectedDose(
                immunization_id=dose.id,
                cvx=normalize_cvx(dose.cvx),
                mvx=dose.mvx,
                product_name=dose.product_name,
                lot_number=dose.lot_number,
                site_id=dose.site_id,
                date_administered=dose.date_administered,
                time_administered=suspected.time_administered,
                age_at_dose_days=(dose.date_administered - person.birth_date).days,
            )
        )
    report.events = [AefiEvent(code=e.code, text=e.text) for e in data.events]
    session.add(report)
    session.flush()
    _flag_duplicates(session, report)
    session.flush()
    audit(
        session,
        actor,
        "create",
        "aefi_report",
        report.id,
        person_id=person.id,
        detail={"events": sorted(e.code for e in data.events), "serious": report.serious},
    )
    return report_out(session, report)


def get_report(session: Session, actor: Actor, report_id: str) -> AefiReportOut:
    """One report: for the safety officers, and for the person who reported it."""
    report = _load(session, report_id)
    if not policy.may_read_report(actor, report.reporter_user_id):
        raise _refuse(
            actor,
            "read",
            f"{actor.username} may not read this AEFI report",
            entity_id=report.id,
            person_id=report.person_id,
        )
    audit(session, actor, "read", "aefi_report", report.id, person_id=report.person_id)
    return report_out(session, report)


def list_reports(
    session: Session,
    actor: Actor,
    *,
    status: Status | None = None,
    serious: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[AefiQueueItem]:
    """The safety officer's queue (serious first, then oldest first), or a reporter's own
    reports."""
    query = select(AefiReport).options(
        selectinload(AefiReport.events), selectinload(AefiReport.doses)
    )
    if not policy.may_report(actor):
        raise _refuse(actor, "read", f"a {actor.role.value} has no AEFI reports to list")
    if not policy.may_review(actor):
        query = query.where(AefiReport.reporter_user_id == actor.user_id)
    if status is not None:
        query = query.where(AefiReport.status == status.value)
    if serious is not None:
        query = query.where(AefiReport.serious.is_(serious))
    query = (
        query.order_by(AefiReport.serious.desc(), AefiReport.reported_at, AefiReport.id)
        .limit(limit)
        .offset(offset)
    )
    reports = list(session.scalars(query))
    suspected = Counter[str]()
    if reports:
        ids = [r.id for r in reports]
        for a, b in session.execute(
            select(AefiReportLink.report_id, AefiReportLink.other_report_id).where(
                AefiReportLink.state == "suspected",
                or_(AefiReportLink.report_id.in_(ids), AefiReportLink.other_report_id.in_(ids)),
            )
        ):
            suspected.update((a, b))
    audit(session, actor, "list", "aefi_report", detail={"count": len(reports)})
    return [
        AefiQueueItem(
            id=r.id,
            reported_at=r.reported_at,
            onset_date=r.onset_date,
            events=[e.code for e in r.events],
            vaccines=sorted({d.cvx for d in r.doses}),
            serious=r.serious,
            status=Status(r.status),
            causality=Causality(r.causality) if r.causality else None,
            province_code=r.province_code,
            possible_duplicates=suspected[r.id],
        )
        for r in reports
    ]


def _note(
    report: AefiReport, actor: Actor, kind: str, text: str, outcome: str | None = None
) -> None:
    report.notes.append(
        AefiNote(
            kind=kind,
            text=text,
            outcome=outcome,
            noted_at=_now(),
            author_user_id=actor.user_id,
            author_role=actor.role.value,
        )
    )


def _reviewable(session: Session, actor: Actor, report_id: str, action: str) -> AefiReport:
    report = _load(session, report_id)
    if not policy.may_review(actor):
        raise _refuse(
            actor,
            action,
            f"only a safety officer may {action.replace('_', ' ')} an AEFI report",
            entity_id=report.id,
            person_id=report.person_id,
        )
    return report


def add_follow_up(
    session: Session, actor: Actor, report_id: str, data: FollowUpIn
) -> AefiReportOut:
    """A dated note from the reporter or a safety officer, with the patient's outcome so far."""
    report = _load(session, report_id)
    if not policy.may_read_report(actor, report.reporter_user_id):
        raise _refuse(
            actor,
            "follow_up",
            f"{actor.username} may not follow up this AEFI report",
            entity_id=report.id,
            person_id=report.person_id,
        )
    if report.status == Status.CLOSED:
        raise Conflict("the report is closed")
    if data.outcome is not None:
        report.outcome = data.outcome.value
        if data.outcome is Outcome.DIED and Seriousness.DEATH.value not in report.seriousness:
            report.seriousness = [*report.seriousness, Seriousness.DEATH.value]
            report.serious = True
    _note(report, actor, "follow_up", data.text, data.outcome.value if data.outcome else None)
    session.flush()
    audit(session, actor, "follow_up", "aefi_report", report.id, person_id=report.person_id)
    return report_out(session, report)


def investigate(
    session: Session, actor: Actor, report_id: str, data: InvestigationIn
) -> AefiReportOut:
    """Start (or continue) the investigation of a report, recording the findings."""
    report = _reviewable(session, actor, report_id, "investigate")
    current = Status(report.status)
    if current is not Status.UNDER_INVESTIGATION:
        if not may_move(current, Status.UNDER_INVESTIGATION):
            raise Conflict(f"a {current.value} report cannot be investigated")
        report.status = Status.UNDER_INVESTIGATION.value
        report.investigation_started_at = report.investigation_started_at or _now()
    _note(report, actor, "investigation", data.findings)
    session.flush()
    audit(session, actor, "investigate", "aefi_report", report.id, person_id=report.person_id)
    return report_out(session, report)


def classify(session: Session, actor: Actor, report_id: str, data: CausalityIn) -> AefiReportOut:
    """The WHO causality classification of a report, with the safety officer's rationale."""
    report = _reviewable(session, actor, report_id, "classify")
    current = Status(report.status)
    if not may_move(current, Status.CAUSALITY_ASSESSED):
        raise Conflict(f"a {current.value} report cannot be classified")
    report.assessments.append(
        AefiCausalityAssessment(
            category=data.category.value,
            rationale=data.rationale,
            assessed_by=actor.user_id,
            assessed_at=_now(),
        )
    )
    report.causality = data.category.value
    report.status = Status.CAUSALITY_ASSESSED.value
    session.flush()
    audit(
        session,
        actor,
        "classify",
        "aefi_report",
        report.id,
        person_id=report.person_id,
        detail={"category": data.category.value},
    )
    return report_out(session, report)


def close(session: Session, actor: Actor, report_id: str, data: CloseIn) -> AefiReportOut:
    """Close a report whose causality has been assessed."""
    report = _reviewable(session, actor, report_id, "close")
    current = Status(report.status)
    if not may_move(current, Status.CLOSED):
        raise Conflict(f"a {current.value} report cannot be closed: classify it first")
    report.status = Status.CLOSED.value
    report.closed_at = _now()
    if data.note:
        _note(report, actor, "closure", data.note)
    session.flush()
    audit(session, actor, "close", "aefi_report", report.id, person_id=report.person_id)
    return report_out(session, report)


def _decide_link(session: Session, actor: Actor, report_id: str, other_id: str, state: str) -> None:
    link = session.scalars(
        select(AefiReportLink).where(
            or_(
                (AefiReportLink.report_id == report_id)
                & (AefiReportLink.other_report_id == other_id),
                (AefiReportLink.report_id == other_id)
                & (AefiReportLink.other_report_id == report_id),
            )
        )
    ).first()
    if link is None:
        link = AefiReportLink(report_id=report_id, other_report_id=other_id, reasons=["staff"])
        session.add(link)
    link.state = state
    link.decided_by = actor.user_id
    link.decided_at = _now()


def link(session: Session, actor: Actor, report_id: str, data: LinkIn) -> AefiReportOut:
    """Confirm that two reports are the same case (without merging them), or dismiss a
    suspected duplicate."""
    report = _reviewable(session, actor, report_id, "link")
    other = _load(session, data.other_report_id)
    if other.id == report.id:
        raise InvalidInput("a report cannot be linked to itself")
    _decide_link(session, actor, report.id, other.id, data.state)
    session.flush()
    audit(
        session,
        actor,
        "link",
        "aefi_report",
        report.id,
        person_id=report.person_id,
        detail={"other": other.id, "state": data.state},
    )
    return report_out(session, report)


def merge(session: Session, actor: Actor, report_id: str, into_id: str) -> AefiReportOut:
    """Fold a duplicate report into the one it duplicates: its events, doses and notes join the
    survivor, and it is closed as a duplicate (signal runs count the case once)."""
    duplicate = _reviewable(session, actor, report_id, "merge")
    survivor = _load(session, into_id)
    if survivor.id == duplicate.id:
        raise InvalidInput("a report cannot be merged into itself")
    if duplicate.duplicate_of_id or survivor.duplicate_of_id:
        raise Conflict("one of the reports was already merged into another")
    if duplicate.status == Status.CLOSED or survivor.status == Status.CLOSED:
        raise Conflict("a closed report cannot be merged")
    if duplicate.person_id != survivor.person_id:
        raise InvalidInput("reports about different people are not duplicates")
    codes = {e.code for e in survivor.events}
    for event in duplicate.events:
        if event.code not in codes:
            survivor.events.append(AefiEvent(code=event.code, text=event.text))
    doses = {d.immunization_id for d in survivor.doses}
    for dose in duplicate.doses:
        if dose.immunization_id not in doses:
            survivor.doses.append(
                AefiSuspectedDose(
                    immunization_id=dose.immunization_id,
                    cvx=dose.cvx,
                    mvx=dose.mvx,
                    product_name=dose.product_name,
                    lot_number=dose.lot_number,
                    site_id=dose.site_id,
                    date_administered=dose.date_administered,
                    time_administered=dose.time_administered,
                    age_at_dose_days=dose.age_at_dose_days,
                )
            )
    if set(duplicate.seriousness) - set(survivor.seriousness):
        survivor.seriousness = sorted(set(survivor.seriousness) | set(duplicate.seriousness))
        survivor.serious = True
    _note(
        survivor,
        actor,
        "merge",
        f"Merged duplicate report {duplicate.id} (reported {duplicate.reported_at:%Y-%m-%d} by "
        f"a {duplicate.reporter_role}): {duplicate.description}",
    )
    duplicate.duplicate_of_id = survivor.id
    duplicate.status = Status.CLOSED.value
    duplicate.closed_at = _now()
    _note(duplicate, actor, "merge", f"Closed as a duplicate of report {survivor.id}")
    _decide_link(session, actor, duplicate.id, survivor.id, "confirmed")
    session.flush()
    for row in (duplicate, survivor):
        audit(
            session,
            actor,
            "merge",
            "aefi_report",
            row.id,
            person_id=row.person_id,
            detail={"duplicate": duplicate.id, "survivor": survivor.id},
        )
    return report_out(session, survivor)


# --- Aggregates for programme officers -------------------------------------------------------


def _area_filter(code: str) -> ColumnElement[bool]:
    return AefiReport.province_code == code if len(code) == 2 else AefiReport.district_code == code


def aggregates(
    session: Session,
    actor: Actor,
    *,
    area_code: str | None = None,
    onset_from: date | None = None,
    onset_to: date | None = None,
) -> AefiAggregate:
    """Counts of reports (duplicates merged) by event, vaccine, status, causality and outcome,
    for an area: an officer's own area or a part of it; national reach for everything."""
    if not policy.may_see_aggregates(actor):
        raise _refuse(actor, "aggregate", f"a {actor.role.value} may not see AEFI aggregates")
    own = policy.aggregate_area(actor)
    # A province officer may narrow to a district; the filters below keep it in the province.
    narrowing = own is not None and len(own) == 2 and len(area_code or "") == 3
    if own is not None and area_code is not None and area_code != own and not narrowing:
        raise _refuse(actor, "aggregate", f"area {area_code} is outside {actor.username}'s area")
    filters: list[ColumnElement[bool]] = [AefiReport.duplicate_of_id.is_(None)]
    filters += [_area_filter(code) for code in (own, area_code) if code is not None]
    if onset_from is not None:
        filters.append(AefiReport.onset_date >= onset_from)
    if onset_to is not None:
        filters.append(AefiReport.onset_date <= onset_to)

    def counts(
        column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
        via: InstrumentedAttribute[Any] | None = None,
    ) -> dict[str, int]:
        query = select(column, func.count(func.distinct(AefiReport.id))).select_from(AefiReport)
        if via is not None:
            query = query.join(via)
        rows = session.execute(query.where(*filters).group_by(column))
        return {str(key): int(n) for key, n in rows if key is not None}

    total, serious = session.execute(
        select(func.count(), func.count().filter(AefiReport.serious.is_(True))).where(*filters)
    ).one()
    audit(
        session,
        actor,
        "aggregate",
        "aefi_report",
        detail={"area": area_code or own, "onset_from": str(onset_from), "onset_to": str(onset_to)},
    )
    return AefiAggregate(
        area_code=area_code or own,
        onset_from=onset_from,
        onset_to=onset_to,
        reports=int(total),
        serious=int(serious or 0),
        by_event=counts(AefiEvent.code, AefiReport.events),
        by_vaccine=counts(AefiSuspectedDose.cvx, AefiReport.doses),
        by_status=counts(AefiReport.status),
        by_causality=counts(AefiReport.causality),
        by_outcome=counts(AefiReport.outcome),
    )


# --- Signal runs and lot alerts -------------------------------------------------------------


def _report_facts(session: Session) -> list[monitoring.ReportFacts]:
    terms = shipped_terms()
    reports = session.scalars(
        select(AefiReport)
        .where(AefiReport.duplicate_of_id.is_(None))
        .options(selectinload(AefiReport.events), selectinload(AefiReport.doses))
    )
    return [
        monitoring.ReportFacts(
            events=frozenset(e.code for e in r.events),
            onset=r.onset_date,
            doses=tuple(
                monitoring.DoseFacts(
                    cvx=d.cvx,
                    lot_number=d.lot_number,
                    date_administered=d.date_administered,
                    age_band=terms.age_band(d.age_at_dose_days),
                )
                for d in r.doses
            ),
            province_code=r.province_code,
        )
        for r in reports
    ]


def _dose_counts(session: Session, since: date | None, until: date) -> list[monitoring.DoseCount]:
    bands = [(b.label, b.from_days) for b in shipped_terms().age_bands]
    return [
        monitoring.DoseCount(c.cvx, c.lot_number, c.age_band, c.province_code, c.doses)
        for c in registry.dose_counts(session, age_bands=bands, since=since, until=until)
    ]


def _run_out(run: SignalRun, results: list[SignalResult] | None = None) -> SignalRunOut:
    return SignalRunOut(
        id=run.id,
        started_at=run.started_at,
        started_by=run.started_by,
        period_start=run.period_start,
        period_end=run.period_end,
        summary=run.summary,
        results=None
        if results is None
        else [
            SignalResultOut(
                method=r.method,
                cvx=r.cvx,
                event_code=r.event_code,
                stratum_kind=r.stratum_kind,
                stratum=r.stratum,
                observed=r.observed,
                expected=r.expected,
                statistics=r.statistics,
                signal=r.signal,
            )
            for r in results
        ],
    )


def _raise_lot_alert(session: Session, run: SignalRun, found: monitoring.LotFinding) -> bool:
    """Raise an alert for a lot, or bring its current alert up to date. An alert the lab
    dismissed is raised again only when more events have been observed since. Whether an alert
    was raised or updated."""
    alert = session.scalars(
        select(LotSafetyAlert)
        .where(
            LotSafetyAlert.lot_number == found.lot_number,
            LotSafetyAlert.cvx == found.cvx,
            LotSafetyAlert.event_code == found.event_code,
        )
        .order_by(LotSafetyAlert.raised_at.desc(), LotSafetyAlert.id)
    ).first()
    observed = int(found.statistics["observed"])
    if alert is not None and alert.status == "dismissed":
        if observed <= int(alert.statistics.get("observed", 0)):
            return False
        alert = None
    if alert is None:
        alert = LotSafetyAlert(
            lot_number=found.lot_number, cvx=found.cvx, event_code=found.event_code, status="open"
        )
        session.add(alert)
    alert.reason = found.reason[:300]
    alert.statistics = found.statistics
    alert.run_id = run.id
    alert.raised_at = _now()
    return True


def run_signals(
    session: Session,
    actor: Actor,
    *,
    period_start: date | None = None,
    period_end: date | None = None,
    plan: monitoring.MonitoringPlan | None = None,
) -> SignalRunOut:
    """Run every signal detection method over the reports and the registry's dose counts, store
    the results, and raise an alert to the lab for each lot that signals (the lab decides what
    happens to the lot; nothing is quarantined here)."""
    if not policy.may_run_signals(actor):
        raise _refuse(actor, "run_signals", f"a {actor.role.value} may not run signal detection")
    end = period_end or date.today()
    if period_start is not None and period_start > end:
        raise InvalidInput("the period starts after it ends")
    chosen = plan or monitoring.shipped_plan()
    reports = _report_facts(session)
    doses = _dose_counts(session, period_start, end)
    doses_since = {
        start: _dose_counts(session, start, end) for start in {p.start for p in chosen.pairs}
    }
    outcome = monitoring.run(
        reports, doses, doses_since, shipped_terms(), chosen, period_start, end
    )
    run = SignalRun(
        started_by=actor.user_id,
        started_at=_now(),
        period_start=period_start,
        period_end=end,
        summary=outcome.summary,
    )
    session.add(run)
    session.flush()
    results = [
        SignalResult(
            run_id=run.id,
            method=f.method,
            cvx=f.cvx,
            event_code=f.event_code,
            stratum_kind=f.stratum_kind,
            stratum=f.stratum,
            observed=f.observed,
            expected=f.expected,
            statistics=f.statistics,
            signal=f.signal,
        )
        for f in outcome.findings
    ]
    session.add_all(results)
    raised = sum(_raise_lot_alert(session, run, found) for found in outcome.lot_findings)
    run.summary = {**outcome.summary, "lot_alerts_raised": raised}
    session.flush()
    audit(session, actor, "run", "signal_run", run.id, detail=run.summary)
    return _run_out(run, results)


def list_runs(session: Session, actor: Actor, limit: int = 20) -> list[SignalRunOut]:
    """The latest signal runs, newest first, without their results."""
    if not policy.may_see_signals(actor):
        raise _refuse(actor, "read", f"a {actor.role.value} may not see signal runs")
    runs = session.scalars(
        select(SignalRun).order_by(SignalRun.started_at.desc(), SignalRun.id).limit(limit)
    )
    return [_run_out(r) for r in runs]


def get_run(
    session: Session, actor: Actor, run_id: str, *, signals_only: bool = False
) -> SignalRunOut:
    """One signal run with its results (or only those that signal)."""
    if not policy.may_see_signals(actor):
        raise _refuse(actor, "read", f"a {actor.role.value} may not see signal runs")
    run = session.get(SignalRun, run_id)
    if run is None:
        raise NotFound(f"no signal run {run_id}")
    query = select(SignalResult).where(SignalResult.run_id == run.id).order_by(SignalResult.id)
    if signals_only:
        query = query.where(SignalResult.signal.is_(True))
    audit(session, actor, "read", "signal_run", run.id)
    return _run_out(run, list(session.scalars(query)))


def _alert_out(alert: LotSafetyAlert) -> LotAlertOut:
    return LotAlertOut(
        id=alert.id,
        lot_number=alert.lot_number,
        cvx=alert.cvx,
        event_code=alert.event_code,
        reason=alert.reason,
        statistics=alert.statistics,
        run_id=alert.run_id,
        raised_at=alert.raised_at,
        status=alert.status,  # type: ignore[arg-type]
        decided_by=alert.decided_by,
        decided_at=alert.decided_at,
        decision_note=alert.decision_note,
    )


def list_lot_alerts(
    session: Session, actor: Actor, *, status: str | None = None, lot_number: str | None = None
) -> list[LotAlertOut]:
    """The lab's queue of lots whose reports exceed expectation, newest first."""
    if not policy.may_see_lot_alerts(actor):
        raise _refuse(actor, "read", f"a {actor.role.value} may not see lot safety alerts")
    query = select(LotSafetyAlert).order_by(LotSafetyAlert.raised_at.desc(), LotSafetyAlert.id)
    if status is not None:
        query = query.where(LotSafetyAlert.status == status)
    if lot_number is not None:
        query = query.where(LotSafetyAlert.lot_number == lot_number)
    alerts = [_alert_out(a) for a in session.scalars(query)]
    audit(session, actor, "list", "lot_safety_alert", detail={"count": len(alerts)})
    return alerts


def decide_lot_alert(
    session: Session, actor: Actor, alert_id: str, data: LotAlertDecisionIn
) -> LotAlertOut:
    """The lab's answer to an alert: acknowledged (it looks into the lot) or dismissed."""
    alert = session.get(LotSafetyAlert, alert_id)
    if alert is None:
        raise NotFound(f"no lot safety alert {alert_id}")
    if not policy.may_decide_lot_alert(actor):
        raise _refuse(
            actor, "decide", "only the lab decides on a lot safety alert", entity_id=alert.id
        )
    if alert.status != "open":
        raise Conflict(f"the alert is already {alert.status}")
    alert.status = data.status
    alert.decided_by = actor.user_id
    alert.decided_at = _now()
    alert.decision_note = data.note
    session.flush()
    audit(
        session,
        actor,
        "decide",
        "lot_safety_alert",
        alert.id,
        detail={"status": data.status, "lot_number": alert.lot_number},
    )
    return _alert_out(alert)
