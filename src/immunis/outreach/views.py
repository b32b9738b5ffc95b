"""The outreach API: reminder and recall lists for vaccinators and programme officers."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from immunis.outreach import service
from immunis.outreach.due import LOOKBACK_DAYS
from immunis.outreach.schemas import DueListOut, ListSource, ProgrammeFilter
from immunis.web.context import ApiContext

router = APIRouter(prefix="/api/outreach", tags=["outreach"])


@router.get("/due")
def due_list(
    context: ApiContext,
    site: Annotated[str | None, Query(max_length=40, description="A site's code")] = None,
    area: Annotated[
        str | None,
        Query(pattern=r"^(\d{2}|\d{3}|\d{5})$", description="Province, district or commune"),
    ] = None,
    window: Annotated[
        int, Query(ge=0, le=366, description="Days ahead that count as due soon")
    ] = 30,
    on: Annotated[
        date | None, Query(description="The day the lists are for (default today)")
    ] = None,
    lookback: Annotated[
        int, Query(ge=0, le=36500, description="Days back a due date may lie")
    ] = LOOKBACK_DAYS,
    source: ListSource = "live",
    programme: ProgrammeFilter = "tcmr",
    limit: Annotated[int, Query(ge=1, le=5000, description="People per list at most")] = 1000,
) -> DueListOut:
    """Who is due soon and who is late, with their due vaccine groups: the people a site manages,
    or who live in an area (default: the caller's own site or area). Vaccinators see their
    site's lists, officers their area's, national officers any."""
    request = service.ListRequest(
        on=on or date.today(),
        window_days=window,
        lookback_days=lookback,
        source=source,
        programme=programme,
    )
    with context.transaction() as session:
        return service.due_list(
            session, context.actor, request, site_code=site, area_code=area, limit=limit
        )
