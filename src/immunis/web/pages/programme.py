"""The programme's screens: coverage and drop-out by area for officers, from the analytics room
(only counts leave it), as a table and as charts, and by province as a tile map. Computing
coverage can take a while, so the page asks for the results with htmx and shows the progress
indicator meanwhile."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

from fastapi import APIRouter, Response

from immunis.access.policy import Actor, Role
from immunis.analytics import charts
from immunis.analytics import service as analytics
from immunis.analytics.coverage import CoverageResult
from immunis.analytics.indicators import shipped_indicators
from immunis.analytics.provinces import province_tiles
from immunis.web import i18n
from immunis.web.pages.base import Page, PageRoute, Visit
from immunis.web.pages.forms import Form
from immunis.web.pages.navigation import OFFICER_ROLES

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CHARTED = ("BCG", "DTP1", "DTP3", "MCV1")
# WHO's usual measure of a programme's reach, as on the map `immunis coverage` draws.
MAPPED = "DTP3"
LEVELS = ("province", "district", "commune")
# An officer looks one level below their own area by default.
FINER = {Role.NATIONAL_OFFICER: "province", Role.PROVINCE_OFFICER: "district"}


@dataclass(frozen=True)
class CoverageQuestion:
    cohort: int
    by: str


def _question(page: Page, actor: Actor, form: Form) -> CoverageQuestion | None:
    this_year = date.today().year
    cohort_text = form.text(
        "cohort",
        pattern=r"\d{4}",
        mismatch=page.gettext("Enter a birth year, for example %(year)s", year=this_year - 1),
    )
    cohort = int(cohort_text) if cohort_text and form.ok else this_year - 1
    if not 1900 <= cohort <= this_year:
        form.error("cohort", page.gettext("Enter a birth year up to %(year)s", year=this_year))
    by = form.values.get("by") or FINER.get(actor.role, "commune")
    if by not in LEVELS:
        form.error("by", page.gettext("Choose a level"))
    return CoverageQuestion(cohort, by) if form.ok else None


def _levels(page: Page) -> list[tuple[str, str]]:
    names = {
        "province": page.gettext("Province"),
        "district": page.gettext("District"),
        "commune": page.gettext("Commune"),
    }
    return [(level, names[level]) for level in LEVELS]


@router.get("/coverage")
def coverage(page: Visit, cohort: str = "", by: str = "") -> Response:
    actor = page.signed_in(*OFFICER_ROLES)
    form = Form({"cohort": cohort, "by": by})
    question = _question(page, actor, form)
    if question is not None:
        form.values.update(cohort=str(question.cohort), by=question.by)
    return page.render(
        "coverage.html",
        status=200 if question else 422,
        title=page.gettext("Coverage"),
        question=question,
        levels=_levels(page),
        values=form.values,
        errors=form.errors,
    )


def _compute(page: Page, actor: Actor, question: CoverageQuestion) -> CoverageResult:
    with page.transaction() as session:
        return analytics.registry_coverage(
            session, actor, as_of=date.today(), by=question.by, cohorts=(question.cohort,)
        )


def _area_name(area: str) -> str:
    tile = province_tiles().get(area)
    return f"{tile.name} ({area})" if tile else area


@router.get("/coverage/results")
def coverage_results(page: Visit, cohort: str = "", by: str = "") -> Response:
    """The figures as a table (the charts' alternative text), and the charts themselves."""
    actor = page.signed_in(*OFFICER_ROLES)
    question = _question(page, actor, Form({"cohort": cohort, "by": by}))
    if question is None:
        return page.render("coverage_results.html", status=422, rows=[], summary=[], query="")
    plan = shipped_indicators()
    figures = analytics.coverage_out(
        _compute(page, actor, question), plan, population_estimate=False
    )
    names = {i.id: i.name for i in figures.indicators}
    rows = [
        {**row.model_dump(), "area_name": _area_name(row.area), "name": names[row.indicator]}
        for row in figures.coverage
    ]
    summary = [{**row.model_dump(), "area_name": _area_name(row.area)} for row in figures.summary]
    return page.render(
        "coverage_results.html",
        rows=rows,
        summary=summary,
        query=f"cohort={question.cohort}&by={question.by}",
        question=question,
        mapped=MAPPED,
    )


def _chart_labels(page: Page) -> charts.ChartLabels:
    """The charts' words in the visitor's language, and their figures as that language writes
    them."""
    return charts.ChartLabels(
        coverage_title=page.gettext("Coverage, birth cohort %(cohort)s"),
        coverage_axis=page.gettext("coverage (%)"),
        dropout_title=page.gettext("Drop-out rates, birth cohort %(cohort)s"),
        dropout_axis=page.gettext("drop-out (%)"),
        map_title=page.gettext("%(indicator)s coverage by province, birth cohort %(cohort)s"),
        number=partial(i18n.format_figure, language=page.language),
    )


def _draw(
    kind: str, result: CoverageResult, cohort: int, path: Path, labels: charts.ChartLabels
) -> None:
    if kind == "dropout":
        charts.dropout_chart(result.summary, cohort, path, labels)
    elif kind == "map":
        charts.province_map(result.coverage, cohort, MAPPED, path, labels)
    else:
        charts.coverage_bars(result.coverage, cohort, CHARTED, path, labels)


@router.get("/coverage/chart.png")
def coverage_chart(page: Visit, cohort: str = "", by: str = "", kind: str = "coverage") -> Response:
    """A PNG chart of coverage (the main indicators) or of drop-out rates, by area; or, by
    province, the tile map of the provinces coloured by DTP3 coverage."""
    actor = page.signed_in(*OFFICER_ROLES)
    question = _question(page, actor, Form({"cohort": cohort, "by": by}))
    if question is None:
        return Response(status_code=422)
    if kind == "map" and question.by != "province":
        return Response(status_code=404)  # the map's tiles are provinces
    result = _compute(page, actor, question)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chart.png"
        _draw(kind, result, question.cohort, path, _chart_labels(page))
        return Response(path.read_bytes(), media_type="image/png")
