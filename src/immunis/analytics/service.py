"""The analytics room's use case: coverage figures from the registry for a programme officer.

The registry's people and doses are read through its service (pseudonymous rows, only the
officer's area) into Arrow tables, computed on in DuckDB, and only aggregates come out. Every
request is written to the audit log.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from immunis.access.policy import Actor
from immunis.access.service import audit
from immunis.analytics import inputs, policy
from immunis.analytics.coverage import CoverageQuery, CoverageResult, compute_coverage, connect
from immunis.analytics.indicators import CoveragePlan, shipped_indicators
from immunis.analytics.schemas import CoverageOut, CoverageRow, IndicatorOut, SummaryRow
from immunis.errors import Forbidden


def registry_coverage(
    session: Session,
    actor: Actor,
    *,
    as_of: date,
    by: str = "province",
    cohorts: tuple[int, ...] = (),
    area_code: str | None = None,
    population_csv: bytes | None = None,
    plan: CoveragePlan | None = None,
) -> CoverageResult:
    """Coverage of the registry's people in the actor's reach, by cohort and area; denominators
    from the registry, or from a population estimate CSV when one is given."""
    reach = policy.coverage_reach(actor, by, area_code)
    if reach is None:
        raise Forbidden(
            f"{actor.username} ({actor.role.value}) may not see coverage by {by}"
            + (f" for area {area_code}" if area_code else ""),
            user_id=actor.user_id,
            role=actor.role.value,
            action="aggregate",
            entity_type="coverage",
        )
    population = inputs.read_population_csv(population_csv) if population_csv is not None else None
    persons, doses = inputs.read_database(session, area_code=reach.read_area)
    con = connect()
    try:
        inputs.use_arrow(con, persons, doses)
        query = CoverageQuery(
            as_of=as_of, by=by, cohorts=cohorts, area_code=reach.query_area or reach.read_area
        )
        result = compute_coverage(con, plan or shipped_indicators(), query, population)
    finally:
        con.close()
    audit(
        session,
        actor,
        "aggregate",
        "coverage",
        detail={
            "by": by,
            "cohorts": list(cohorts),
            "area": query.area_code,
            "as_of": as_of.isoformat(),
            "population_estimate": population is not None,
        },
    )
    return result


def coverage_out(
    result: CoverageResult, plan: CoveragePlan, *, population_estimate: bool
) -> CoverageOut:
    """A coverage result as the API answers it."""
    summary = []
    for row in result.summary.to_pylist():
        dropouts = {f"{a}-{b}": row[f"dropout_{a}_{b}_pct"] for a, b in plan.dropouts}
        summary.append(
            SummaryRow(
                cohort=row["cohort"],
                area=row["area"],
                registered=row["registered"],
                denominator=row["denominator"],
                zero_dose_base=row["zero_dose_base"],
                zero_dose=row["zero_dose"],
                zero_dose_pct=row["zero_dose_pct"],
                dropout_pct=dropouts,
            )
        )
    query = result.query
    return CoverageOut(
        as_of=query.as_of,
        by=query.by,
        cohorts=list(query.cohorts),
        area_code=query.area_code,
        denominators="population estimate" if population_estimate else "registry",
        indicators=[IndicatorOut(id=i.id, name=i.name) for i in plan.indicators],
        coverage=[CoverageRow(**row) for row in result.coverage.to_pylist()],
        summary=summary,
    )
