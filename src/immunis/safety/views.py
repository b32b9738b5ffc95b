"""The safety room's JSON API: AEFI reports (/api/aefi) and signal detection (/api/safety)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from immunis.safety import service
from immunis.safety.schemas import (
    AefiAggregate,
    AefiQueueItem,
    AefiReportIn,
    AefiReportOut,
    CausalityIn,
    CloseIn,
    FollowUpIn,
    InvestigationIn,
    LinkIn,
    LotAlertDecisionIn,
    LotAlertOut,
    MergeIn,
    SignalRunIn,
    SignalRunOut,
    TermOut,
)
from immunis.safety.workflow import Status
from immunis.web.context import ApiContext

router = APIRouter(prefix="/api", tags=["safety"])

AreaCode = Annotated[str | None, Query(pattern=r"^(\d{2}|\d{3})$")]


@router.get("/aefi/terms")
def list_terms() -> list[TermOut]:
    """The AEFI event terms a report is coded with."""
    return service.list_terms()


@router.post("/aefi", status_code=status.HTTP_201_CREATED)
def create_report(data: AefiReportIn, context: ApiContext) -> AefiReportOut:
    """Report a reaction after doses of a person you may read."""
    with context.transaction() as session:
        return service.create_report(session, context.actor, data)


@router.get("/aefi")
def list_reports(
    context: ApiContext,
    report_status: Annotated[Status | None, Query(alias="status")] = None,
    serious: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AefiQueueItem]:
    """The safety officer's queue, or your own reports."""
    with context.transaction() as session:
        return service.list_reports(
            session,
            context.actor,
            status=report_status,
            serious=serious,
            limit=limit,
            offset=offset,
        )


@router.get("/aefi/aggregates")
def aggregates(
    context: ApiContext,
    area: AreaCode = None,
    onset_from: date | None = None,
    onset_to: date | None = None,
) -> AefiAggregate:
    """Counts of reports for an area (officers: their own)."""
    with context.transaction() as session:
        return service.aggregates(
            session, context.actor, area_code=area, onset_from=onset_from, onset_to=onset_to
        )


@router.get("/aefi/{report_id}")
def read_report(report_id: str, context: ApiContext) -> AefiReportOut:
    """One report (safety officers and its reporter)."""
    with context.transaction() as session:
        return service.get_report(session, context.actor, report_id)


@router.post("/aefi/{report_id}/follow-ups")
def add_follow_up(report_id: str, data: FollowUpIn, context: ApiContext) -> AefiReportOut:
    """A dated follow-up note, with the outcome so far."""
    with context.transaction() as session:
        return service.add_follow_up(session, context.actor, report_id, data)


@router.post("/aefi/{report_id}/investigation")
def investigate(report_id: str, data: InvestigationIn, context: ApiContext) -> AefiReportOut:
    """Start or continue the investigation, with findings."""
    with context.transaction() as session:
        return service.investigate(session, context.actor, report_id, data)


@router.post("/aefi/{report_id}/causality")
def classify(report_id: str, data: CausalityIn, context: ApiContext) -> AefiReportOut:
    """The WHO causality classification, with a rationale."""
    with context.transaction() as session:
        return service.classify(session, context.actor, report_id, data)


@router.post("/aefi/{report_id}/close")
def close(report_id: str, data: CloseIn, context: ApiContext) -> AefiReportOut:
    """Close a classified report."""
    with context.transaction() as session:
        return service.close(session, context.actor, report_id, data)


@router.post("/aefi/{report_id}/merge")
def merge(report_id: str, data: MergeIn, context: ApiContext) -> AefiReportOut:
    """Merge this report into the one it duplicates."""
    with context.transaction() as session:
        return service.merge(session, context.actor, report_id, data.into)


@router.post("/aefi/{report_id}/links")
def link(report_id: str, data: LinkIn, context: ApiContext) -> AefiReportOut:
    """Confirm or dismiss a possible duplicate."""
    with context.transaction() as session:
        return service.link(session, context.actor, report_id, data)


@router.post("/safety/signals/run", status_code=status.HTTP_201_CREATED)
def run_signals(data: SignalRunIn, context: ApiContext) -> SignalRunOut:
    """Run signal detection now and store the results."""
    with context.transaction() as session:
        return service.run_signals(
            session, context.actor, period_start=data.period_start, period_end=data.period_end
        )


@router.get("/safety/signals/runs")
def list_runs(
    context: ApiContext, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[SignalRunOut]:
    """The latest signal runs."""
    with context.transaction() as session:
        return service.list_runs(session, context.actor, limit)


@router.get("/safety/signals/runs/{run_id}")
def read_run(run_id: str, context: ApiContext, signals_only: bool = False) -> SignalRunOut:
    """One signal run with its results."""
    with context.transaction() as session:
        return service.get_run(session, context.actor, run_id, signals_only=signals_only)


@router.get("/safety/lot-alerts")
def list_lot_alerts(
    context: ApiContext,
    alert_status: Annotated[
        Literal["open", "acknowledged", "dismissed"] | None, Query(alias="status")
    ] = None,
    lot_number: Annotated[str | None, Query(max_length=50)] = None,
) -> list[LotAlertOut]:
    """Lots whose reports exceed what their doses lead one to expect."""
    with context.transaction() as session:
        return service.list_lot_alerts(
            session, context.actor, status=alert_status, lot_number=lot_number
        )


@router.post("/safety/lot-alerts/{alert_id}/decision")
def decide_lot_alert(alert_id: str, data: LotAlertDecisionIn, context: ApiContext) -> LotAlertOut:
    """The lab acknowledges or dismisses a lot alert."""
    with context.transaction() as session:
        return service.decide_lot_alert(session, context.actor, alert_id, data)
