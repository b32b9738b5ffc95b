"""Coverage, timeliness, drop-out and zero-dose children by birth cohort and area, in DuckDB.

The connection holds two views, `persons` and `immunizations` (see inputs.py); everything else
is computed here in four steps:

1. the cohort: people born by the assessment date, with their birth year and area;
2. per person and per dose stream (an antigen, maybe narrowed to some vaccines), the sorted list
   of distinct days a dose was given by the assessment date; the n-th day is dose n;
3. per person, the date of each dose an indicator asks about (dose n of a stream);
4. counts per (cohort, area): vaccinated and timely per indicator, and children who reached the
   zero-dose age with and without a first dose by then.

Ages are added to birth dates by the CDSi calendar rule (months first, an impossible day becomes
the first of the next month, then days), as the forecast engine does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from immunis.analytics.indicators import AgeLimit, CoveragePlan
from immunis.errors import InvalidInput
from immunis.schedule.model import normalize_cvx

AREA_COLUMNS = {
    "national": None,
    "province": "province_code",
    "district": "district_code",
    "commune": "commune_code",
}
AREA_CODE_LENGTH = {"province": 2, "district": 3, "commune": 5}
NATIONAL = "VN"

COVERAGE_SCHEMA = pa.schema(
    [
        ("cohort", pa.int32()),
        ("area", pa.string()),
        ("indicator", pa.string()),
        ("denominator", pa.int64()),
        ("vaccinated", pa.int64()),
        ("coverage_pct", pa.float64()),
        ("timely", pa.int64()),
        ("timely_pct", pa.float64()),
    ]
)

# DuckDB clamps month ends (Jan 31 + 1 month = Feb 28); CDSi rolls to the 1st of the next month.
CDSI_ADD = """
CREATE OR REPLACE MACRO cdsi_add(birth, months, days) AS (
    CASE
        WHEN months = 0 THEN birth
        WHEN day(CAST(birth + to_months(months) AS DATE)) <> day(birth)
            THEN CAST(birth + to_months(months) AS DATE) + 1
        ELSE CAST(birth + to_months(months) AS DATE)
    END + days
)
"""


@dataclass(frozen=True, slots=True)
class CoverageQuery:
    as_of: date
    by: str = "province"  # national | province | district | commune
    cohorts: tuple[int, ...] = ()  # birth years; empty: every year
    area_code: str | None = None  # only the people of this province, district or commune


@dataclass(frozen=True, slots=True)
class CoverageResult:
    coverage: pa.Table  # one row per cohort, area and indicator (COVERAGE_SCHEMA)
    summary: pa.Table  # one row per cohort and area: denominators, zero-dose, drop-out rates
    query: CoverageQuery


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the CDSi date macro."""
    con = duckdb.connect()
    con.execute(CDSI_ADD)
    return con


def _age_date(limit: AgeLimit) -> str:
    return f"cdsi_add(c.birth_date, {int(limit.months)}, {int(limit.days)})"


def _percent(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return round(100 * part / whole, 1)


def _check(query: CoverageQuery) -> None:
    if query.by not in AREA_COLUMNS:
        raise InvalidInput(f"'by' must be one of {', '.join(AREA_COLUMNS)}")
    code = query.area_code
    if code is not None and not (code.isdigit() and len(code) in (2, 3, 5)):
        raise InvalidInput(f"{code!r} is not a province, district or commune code")


def _stream_map(con: duckdb.DuckDBPyConnection, plan: CoveragePlan) -> list[str]:
    """Give every CVX spelling in the data a bit mask of the streams it counts for (table
    cvx_streams: bit k set when the vaccine counts for stream k)."""
    streams = list(plan.streams)
    if len(streams) > 62:
        raise InvalidInput("at most 62 dose streams fit in a mask")
    spellings = [row[0] for row in con.execute("SELECT DISTINCT cvx FROM immunizations").fetchall()]
    masks = {
        cvx: sum(
            1 << k for k, stream in enumerate(streams) if normalize_cvx(cvx) in plan.streams[stream]
        )
        for cvx in spellings
        if cvx is not None
    }
    mapping = pa.table(
        {"cvx": list(masks), "mask": list(masks.values())},
        schema=pa.schema([("cvx", pa.string()), ("mask", pa.int64())]),
    )
    con.register("cvx_streams", mapping)
    return streams


def _counts(
    con: duckdb.DuckDBPyConnection, plan: CoveragePlan, query: CoverageQuery
) -> list[dict[str, Any]]:
    streams = _stream_map(con, plan)
    column = AREA_COLUMNS[query.by]
    area = f"coalesce({column}, '')" if column else f"'{NATIONAL}'"
    where = ["birth_date <= $as_of"]
    if query.cohorts:
        where.append(f"year(birth_date) IN ({', '.join(str(int(y)) for y in query.cohorts)})")
    parameters: dict[str, Any] = {"as_of": query.as_of}
    if query.area_code:
        filter_column = {2: "province_code", 3: "district_code", 5: "commune_code"}
        where.append(f"{filter_column[len(query.area_code)]} = $area")
        parameters["area"] = query.area_code
    # People are keyed by a 64-bit hash of their id: grouping 100 million doses by a number is
    # several times faster than by a 36-character text (a collision among 10 million people has
    # a chance of about 3 in a million, and would merge two children's doses).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cohort AS
        SELECT hash(person_id) AS pid, birth_date,
            CAST(year(birth_date) AS INTEGER) AS cohort, {area} AS area
        FROM persons WHERE {" AND ".join(where)}
        """,
        parameters,
    )
    # Only the cohort's doses, when the cohort is not everybody.
    only_cohort = (
        "SEMI JOIN cohort c ON c.pid = hash(i.person_id)"
        if query.cohorts or query.area_code
        else ""
    )
    # Per person and stream: the days of its doses, sorted, then same-day repeats dropped
    # (cheaper than list_distinct); dose n is the n-th day.
    days = ", ".join(
        f"list_sort(list(i.date_administered) FILTER (WHERE m.mask & {1 << k} <> 0)) AS s{k}"
        for k in range(len(streams))
    )
    distinct_days = ", ".join(
        f"list_filter(s{k}, lambda x, i: i = 1 OR x <> s{k}[i - 1]) AS s{k}"
        for k in range(len(streams))
    )
    zero = plan.indicator(plan.zero_dose_indicator)
    wanted = sorted({(streams.index(i.stream), i.dose) for i in plan.indicators})
    dates = ", ".join(f"s{k}[{int(n)}] AS d{k}_{n}" for k, n in wanted)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE person_dates AS
        SELECT pid, {dates} FROM (
            SELECT pid, {distinct_days} FROM (
                SELECT hash(i.person_id) AS pid, {days}
                FROM immunizations i
                JOIN cvx_streams m ON m.cvx = i.cvx
                {only_cohort}
                WHERE i.date_administered <= $as_of
                GROUP BY ALL
            )
        )
        """,
        {"as_of": query.as_of},
    )
    measures = []
    for number, indicator in enumerate(plan.indicators):
        given = f"p.d{streams.index(indicator.stream)}_{int(indicator.dose)}"
        timely = "FALSE"
        if indicator.latest is not None:
            timely = (
                f"{given} BETWEEN {_age_date(indicator.earliest)} AND {_age_date(indicator.latest)}"
            )
        vaccinated = timely if indicator.only_timely else f"{given} IS NOT NULL"
        measures.append(f"count(*) FILTER (WHERE {vaccinated}) AS v{number}")
        measures.append(f"count(*) FILTER (WHERE {timely}) AS t{number}")
    by_age = _age_date(AgeLimit(plan.zero_dose_months, 0))
    reached = f"{by_age} <= $as_of"
    first = f"p.d{streams.index(zero.stream)}_{int(zero.dose)}"
    rows = con.execute(
        f"""
        SELECT c.cohort, c.area, count(*) AS registered,
            count(*) FILTER (WHERE {reached}) AS reached,
            count(*) FILTER (WHERE {reached} AND {first} < {by_age}) AS protected,
            {", ".join(measures)}
        FROM cohort c LEFT JOIN person_dates p USING (pid)
        GROUP BY c.cohort, c.area
        ORDER BY c.cohort, c.area
        """,
        {"as_of": query.as_of},
    )
    names = [d[0] for d in rows.description]
    return [dict(zip(names, row, strict=True)) for row in rows.fetchall()]


def _population(
    population: pa.Table | None, query: CoverageQuery
) -> dict[tuple[int, str], int] | None:
    if population is None:
        return None
    length = AREA_CODE_LENGTH.get(query.by)
    estimates = {}
    for row in population.to_pylist():
        area, cohort = row["area"], int(row["cohort"])
        fits = area == NATIONAL if length is None else len(area) == length
        if fits and (not query.cohorts or cohort in query.cohorts):
            estimates[(cohort, area)] = int(row["population"])
    return estimates


def compute_coverage(
    con: duckdb.DuckDBPyConnection,
    plan: CoveragePlan,
    query: CoverageQuery,
    population: pa.Table | None = None,
) -> CoverageResult:
    """Coverage of every indicator by birth cohort and area. Denominators are the registry's
    people, or `population` (area, cohort, population) when given: then zero-dose children are
    the population less the children with a first dose by the zero-dose age."""
    _check(query)
    counted = {(r["cohort"], r["area"]): r for r in _counts(con, plan, query)}
    estimates = _population(population, query)
    keys = set(counted)
    if estimates is not None and query.area_code is None:
        # Areas the registry has nobody in still have children: they show as not reached.
        keys |= set(estimates)
    coverage_rows = []
    summary_rows = []
    for cohort, area in sorted(keys):
        row = counted.get((cohort, area), {})
        registered = int(row.get("registered", 0))
        denominator = registered if estimates is None else estimates.get((cohort, area))
        vaccinated = {}
        for number, indicator in enumerate(plan.indicators):
            given = int(row.get(f"v{number}", 0))
            timely = int(row.get(f"t{number}", 0)) if indicator.latest is not None else None
            vaccinated[indicator.id] = given
            coverage_rows.append(
                {
                    "cohort": cohort,
                    "area": area,
                    "indicator": indicator.id,
                    "denominator": denominator,
                    "vaccinated": given,
                    "coverage_pct": _percent(given, denominator),
                    "timely": timely,
                    "timely_pct": _percent(timely, given),
                }
            )
        protected = int(row.get("protected", 0))
        reached = int(row.get("reached", 0))
        zero_base = reached if estimates is None else denominator
        zero_dose = None if zero_base is None else max(zero_base - protected, 0)
        summary = {
            "cohort": cohort,
            "area": area,
            "registered": registered,
            "denominator": denominator,
            "zero_dose_base": zero_base,
            "zero_dose": zero_dose,
            "zero_dose_pct": _percent(zero_dose, zero_base),
        }
        for first, second in plan.dropouts:
            dropped = vaccinated[first] - vaccinated[second]
            summary[f"dropout_{first}_{second}_pct"] = _percent(dropped, vaccinated[first])
        summary_rows.append(summary)
    summary_schema = pa.schema(
        [
            ("cohort", pa.int32()),
            ("area", pa.string()),
            ("registered", pa.int64()),
            ("denominator", pa.int64()),
            ("zero_dose_base", pa.int64()),
            ("zero_dose", pa.int64()),
            ("zero_dose_pct", pa.float64()),
            *((f"dropout_{a}_{b}_pct", pa.float64()) for a, b in plan.dropouts),
        ]
    )
    return CoverageResult(
        pa.Table.from_pylist(coverage_rows, schema=COVERAGE_SCHEMA),
        pa.Table.from_pylist(summary_rows, schema=summary_schema),
        query,
    )
