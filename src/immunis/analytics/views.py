"""The analytics room's JSON API: coverage figures for programme officers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from immunis.analytics import service
from immunis.analytics.export import csv_bytes
from immunis.analytics.indicators import shipped_indicators
from immunis.analytics.schemas import CoverageOut
from immunis.web.context import ApiContext, RequestContext

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

Level = Literal["national", "province", "district", "commune"]
Cohorts = Annotated[list[int], Query(alias="cohort", description="Birth years (repeatable)")]
AreaCode = Annotated[str | None, Query(pattern=r"^(\d{2}|\d{3}|\d{5})$")]
Table = Literal["coverage", "summary"]


def _answer(
    context: RequestContext,
    as_of: date | None,
    by: Level,
    cohorts: list[int],
    area: str | None,
    output: Literal["json", "csv"],
    table: Table,
    population_csv: bytes | None,
) -> CoverageOut | Response:
    with context.transaction() as session:
        result = service.registry_coverage(
            session,
            context.actor,
            as_of=as_of or date.today(),
            by=by,
            cohorts=tuple(cohorts),
            area_code=area,
            population_csv=population_csv,
        )
    if output == "csv":
        chosen = result.coverage if table == "coverage" else result.summary
        return Response(csv_bytes(chosen), media_type="text/csv")
    return service.coverage_out(
        result, shipped_indicators(), population_estimate=population_csv is not None
    )


@router.get("/coverage", response_model=CoverageOut)
def coverage(
    context: ApiContext,
    as_of: date | None = None,
    by: Level = "province",
    cohorts: Cohorts = [],  # noqa: B006 (FastAPI copies query defaults)
    area: AreaCode = None,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    table: Table = "coverage",
) -> CoverageOut | Response:
    """Coverage by birth cohort and area, with registry denominators (officers: their area)."""
    return _answer(context, as_of, by, cohorts, area, output, table, None)


@router.post("/coverage", response_model=CoverageOut)
async def coverage_with_population(
    request: Request,
    context: ApiContext,
    as_of: date | None = None,
    by: Level = "province",
    cohorts: Cohorts = [],  # noqa: B006 (FastAPI copies query defaults)
    area: AreaCode = None,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    table: Table = "coverage",
) -> CoverageOut | Response:
    """The same, with denominators from the population estimate CSV sent as the body
    (columns area, cohort, population)."""
    body = await request.body()
    return await run_in_threadpool(_answer, context, as_of, by, cohorts, area, output, table, body)
