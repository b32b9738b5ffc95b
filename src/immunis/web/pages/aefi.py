"""The safety officer's AEFI queue: serious reports first, then the oldest; each report with its
doses and notes, and the review steps (investigation, WHO causality, closing) of the safety
room's service."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from immunis.access.policy import Actor, Role
from immunis.errors import Conflict
from immunis.safety import service as safety
from immunis.safety.schemas import AefiReportOut, CausalityIn, CloseIn, InvestigationIn
from immunis.safety.workflow import CAUSALITY_MEANING, NEXT_STATUS, Causality, Status
from immunis.web.i18n import N_
from immunis.web.pages.base import Page, PageRoute, Visit
from immunis.web.pages.forms import Form, Submitted

router = APIRouter(route_class=PageRoute, include_in_schema=False)

STATUS_NAMES = {
    Status.RECEIVED: N_("received"),
    Status.UNDER_INVESTIGATION: N_("under investigation"),
    Status.CAUSALITY_ASSESSED: N_("causality assessed"),
    Status.CLOSED: N_("closed"),
}


def _status_names(page: Page) -> dict[str, str]:
    return {status.value: page.gettext(name) for status, name in STATUS_NAMES.items()}


@router.get("/aefi")
def queue(page: Visit, status: str = "") -> Response:
    actor = page.signed_in(Role.SAFETY_OFFICER)
    wanted = Status(status) if status in set(Status) else None
    with page.transaction() as session:
        reports = safety.list_reports(session, actor, status=wanted, limit=100)
    return page.render(
        "aefi_queue.html",
        title=page.gettext("Reactions after vaccination (AEFI)"),
        reports=reports,
        status_names=_status_names(page),
        values={"status": status},
        errors={},
    )


def _render_report(
    page: Page, actor: Actor, report_id: str, form: Form | None = None, status: int = 200
) -> Response:
    with page.transaction() as session:
        report = safety.get_report(session, actor, report_id)
    return page.render(
        "aefi_report.html",
        status=status,
        title=page.gettext("AEFI report"),
        report=report,
        status_names=_status_names(page),
        next_steps={s.value for s in NEXT_STATUS[report.status]},
        causalities=[(c.value, f"{c.value}: {CAUSALITY_MEANING[c]}") for c in Causality],
        values=form.values if form else {},
        errors=form.errors if form else {},
    )


@router.get("/aefi/{report_id}")
def report(report_id: str, page: Visit) -> Response:
    return _render_report(page, page.signed_in(Role.SAFETY_OFFICER), report_id)


Step = Callable[[Session, Actor, str], AefiReportOut]


def _review(page: Page, report_id: str, form: Form, step: Step | None) -> Response:
    """Carry out one review step, or show the report again with what is missing."""
    actor = page.signed_in(Role.SAFETY_OFFICER)
    if form.ok and step is not None:
        try:
            with page.transaction() as session:
                step(session, actor, report_id)
        except Conflict as refusal:
            form.error("_step", str(refusal))
    if not form.ok:
        return _render_report(page, actor, report_id, form, status=422)
    return page.redirect(f"/aefi/{report_id}")


@router.post("/aefi/{report_id}/investigation")
def investigate(report_id: str, page: Visit, form: Submitted) -> Response:
    findings = form.text("findings", page.gettext("Write the findings"), max_length=10000)
    step = None
    if findings:

        def step(session: Session, actor: Actor, rid: str) -> AefiReportOut:
            return safety.investigate(session, actor, rid, InvestigationIn(findings=findings))

    return _review(page, report_id, form, step)


@router.post("/aefi/{report_id}/causality")
def classify(report_id: str, page: Visit, form: Submitted) -> Response:
    category = form.choice(
        "category", [c.value for c in Causality], page.gettext("Choose the WHO category")
    )
    rationale = form.text("rationale", page.gettext("Give the rationale"), max_length=5000)
    step = None
    if category and rationale:
        data = CausalityIn(category=Causality(category), rationale=rationale)

        def step(session: Session, actor: Actor, rid: str) -> AefiReportOut:
            return safety.classify(session, actor, rid, data)

    return _review(page, report_id, form, step)


@router.post("/aefi/{report_id}/close")
def close(report_id: str, page: Visit, form: Submitted) -> Response:
    note = form.values.get("note") or None

    def step(session: Session, actor: Actor, rid: str) -> AefiReportOut:
        return safety.close(session, actor, rid, CloseIn(note=note))

    return _review(page, report_id, form, step)
