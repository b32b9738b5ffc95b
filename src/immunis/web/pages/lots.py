"""The laboratory's console: vaccine lots, their release, quarantine and recall, and who received
a recalled lot. Decisions go through the supply room's service, which allows them to the lab."""

from __future__ import annotations

from fastapi import APIRouter, Response

from immunis.access.policy import Action, Actor, Role, may
from immunis.errors import Conflict, InvalidInput
from immunis.supply import service as supply
from immunis.supply.release import NEXT_STATUSES, RecallAction, ReleaseStatus
from immunis.web.i18n import N_
from immunis.web.pages.base import Page, PageRoute, Visit
from immunis.web.pages.forms import Form, Submitted

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CONSOLE_ROLES = (Role.LAB, Role.NATIONAL_OFFICER)
STATUS_NAMES = {
    ReleaseStatus.PENDING: N_("waiting for release"),
    ReleaseStatus.RELEASED: N_("released"),
    ReleaseStatus.REJECTED: N_("rejected"),
    ReleaseStatus.QUARANTINED: N_("in quarantine"),
    ReleaseStatus.RECALLED: N_("recalled"),
}
DECISIONS = {
    ReleaseStatus.RELEASED: N_("Release"),
    ReleaseStatus.REJECTED: N_("Reject"),
    ReleaseStatus.QUARANTINED: N_("Quarantine"),
    ReleaseStatus.RECALLED: N_("Recall"),
}
RECALL_ACTIONS = {
    RecallAction.NONE: N_("The doses given still count"),
    RecallAction.REVACCINATE: N_("The doses given do not count: give them again"),
}


def status_names(page: Page) -> dict[str, str]:
    return {status.value: page.gettext(name) for status, name in STATUS_NAMES.items()}


@router.get("/lots")
def lots(page: Visit, status: str = "", lot: str = "") -> Response:
    actor = page.signed_in(*CONSOLE_ROLES)
    wanted = ReleaseStatus(status) if status in set(ReleaseStatus) else None
    with page.transaction() as session:
        found = supply.list_lots(session, actor, status=wanted, lot_number=lot or None)
    return page.render(
        "lots.html",
        title=page.gettext("Vaccine lots"),
        lots=found,
        status_names=status_names(page),
        values={"status": status, "lot": lot},
        errors={},
    )


def _render_lot(
    page: Page, actor: Actor, lot_id: str, form: Form | None = None, status: int = 200
) -> Response:
    with page.transaction() as session:
        lot = supply.get_lot(session, actor, lot_id)
        recipients = (
            supply.recall_list(session, actor, lot_id)
            if lot.release_status is ReleaseStatus.RECALLED and may(actor, Action.RECALL_LIST)
            else []
        )
    return page.render(
        "lot.html",
        status=status,
        title=page.gettext("Lot %(lot)s", lot=lot.lot_number),
        lot=lot,
        recipients=recipients,
        status_names=status_names(page),
        decisions=[
            (s.value, page.gettext(DECISIONS[s])) for s in sorted(NEXT_STATUSES[lot.release_status])
        ]
        if actor.role is Role.LAB
        else [],
        recall_actions=[(a.value, page.gettext(label)) for a, label in RECALL_ACTIONS.items()],
        values=form.values if form else {"recall_action": RecallAction.NONE.value},
        errors=form.errors if form else {},
    )


@router.get("/lots/{lot_id}")
def lot(lot_id: str, page: Visit) -> Response:
    return _render_lot(page, page.signed_in(*CONSOLE_ROLES), lot_id)


@router.post("/lots/{lot_id}/status")
def decide(lot_id: str, page: Visit, form: Submitted) -> Response:
    """The laboratory's decision on a lot; a recall also flags the doses given from it."""
    actor = page.signed_in(Role.LAB)
    to = form.choice("to", [s.value for s in ReleaseStatus], page.gettext("Choose a decision"))
    reason = form.text(
        "reason",
        page.gettext("Give the reason for the decision"),
        max_length=500,
        too_long=page.gettext("Please keep the reason under 500 characters"),
    )
    recall_action = None
    if to == ReleaseStatus.RECALLED:
        chosen = form.choice(
            "recall_action",
            [a.value for a in RecallAction],
            page.gettext("Say what the recall means for the doses given"),
        )
        recall_action = RecallAction(chosen) if chosen else None
    if form.ok and to and reason:
        try:
            with page.transaction() as session:
                supply.set_release_status(
                    session, actor, lot_id, ReleaseStatus(to), reason, recall_action
                )
        except (Conflict, InvalidInput) as refusal:
            form.error("to", str(refusal))
    if not form.ok:
        return _render_lot(page, actor, lot_id, form, status=422)
    return page.redirect(f"/lots/{lot_id}")
