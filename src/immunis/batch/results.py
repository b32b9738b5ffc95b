"""A forecast as result rows: per person and vaccine group, what is due and whether it is late."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pyarrow as pa

from immunis.forecast import Forecast, SeriesStatus

RESULT_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("vaccine_group", pa.string()),
        ("status", pa.string()),
        ("dose_number", pa.int16()),
        ("earliest", pa.date32()),
        ("recommended", pa.date32()),
        ("past_due", pa.date32()),
        ("overdue", pa.bool_()),
    ]
)
# A person the engine refused (a dose dated before birth...): one row, no vaccine group.
INPUT_ERROR = "Input error"

ResultRow = tuple[str, str, str, int | None, date | None, date | None, date | None, bool]


def result_rows(person_id: str, answer: Forecast) -> Iterator[ResultRow]:
    """One row per vaccine group that concerns the person (as the CLI's forecast shows them:
    a group not recommended and without doses is left out)."""
    for group in answer.vaccine_groups.values():
        if group.status is SeriesStatus.NOT_RECOMMENDED and not group.doses:
            continue
        due = group.next_dose
        if due is None:
            yield (
                person_id,
                group.vaccine_group,
                group.status.value,
                None,
                None,
                None,
                None,
                False,
            )
            continue
        # CDSi: the past-due date is the last day the dose is on time.
        overdue = due.past_due is not None and answer.assessment_date > due.past_due
        yield (
            person_id,
            group.vaccine_group,
            group.status.value,
            due.dose_number,
            due.earliest,
            due.recommended,
            due.past_due,
            overdue,
        )


def input_error_row(person_id: str) -> ResultRow:
    return (person_id, "", INPUT_ERROR, None, None, None, None, False)


def rows_to_table(rows: list[ResultRow]) -> pa.Table:
    columns: list[tuple[object, ...]] = (
        list(zip(*rows, strict=True)) if rows else [() for _ in RESULT_SCHEMA]
    )
    return pa.Table.from_arrays(
        [
            pa.array(column, type=field.type)
            for column, field in zip(columns, RESULT_SCHEMA, strict=True)
        ],
        schema=RESULT_SCHEMA,
    )
