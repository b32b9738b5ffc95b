"""Read-only queries on the batch room's forecast results (tables forecast_run, forecast_result).

The batch room exposes no service function for reading its results, so this module is the one
place outreach reads them: it never writes, and when the batch room offers such a function this
module should be replaced by calls to it. A run's results are as of its assessment date: doses
recorded after that date are not in them, so lists built from an old run may name people who
have since been vaccinated (`source=live` forecasts each person afresh instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from immunis.batch.models import ForecastResult, ForecastRun
from immunis.outreach.due import ResultRow


@dataclass(frozen=True, slots=True)
class BatchRun:
    id: str
    assessment_date: date
    schedule: str


def latest_finished_run(session: Session, schedule_id: str, on: date) -> BatchRun | None:
    """The newest finished run under `schedule_id` assessed on or before `on`."""
    row = session.execute(
        select(ForecastRun.id, ForecastRun.assessment_date, ForecastRun.schedule)
        .where(
            ForecastRun.status == "finished",
            ForecastRun.schedule == schedule_id,
            ForecastRun.assessment_date <= on,
        )
        .order_by(ForecastRun.assessment_date.desc(), ForecastRun.finished.desc())
        .limit(1)
    ).first()
    return BatchRun(*row) if row else None


def result_rows(session: Session, run_id: str, person_ids: Sequence[str]) -> list[ResultRow]:
    """The run's rows for these people (every vaccine group of each)."""
    if not person_ids:
        return []
    rows = session.execute(
        select(
            ForecastResult.person_id,
            ForecastResult.vaccine_group,
            ForecastResult.status,
            ForecastResult.dose_number,
            ForecastResult.recommended,
            ForecastResult.past_due,
        ).where(ForecastResult.run_id == run_id, ForecastResult.person_id.in_(person_ids))
    )
    return [ResultRow(*row) for row in rows]
