"""Where coverage analytics reads people and doses from, as two DuckDB views of one shape:

    persons(person_id, birth_date, sex, province_code, district_code, commune_code)
    immunizations(person_id, date_administered, cvx)

From Parquet (the files `immunis synth` writes: persons.parquet and immunizations.parquet, with
at least these columns; extra columns are ignored), from the registry database (read through the
registry's service in chunks into Arrow tables), or from Arrow tables given directly. Population
estimates (area, cohort, population) come from CSV.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlalchemy.orm import Session

from immunis.errors import InvalidInput
from immunis.registry import service as registry

PERSONS_FILE = "persons.parquet"
IMMUNIZATIONS_FILE = "immunizations.parquet"

PERSONS_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("birth_date", pa.date32()),
        ("sex", pa.string()),
        ("province_code", pa.string()),
        ("district_code", pa.string()),
        ("commune_code", pa.string()),
    ]
)
IMMUNIZATIONS_SCHEMA = pa.schema(
    [("person_id", pa.string()), ("date_administered", pa.date32()), ("cvx", pa.string())]
)
POPULATION_SCHEMA = pa.schema(
    [("area", pa.string()), ("cohort", pa.int32()), ("population", pa.int64())]
)


def _columns(schema: pa.Schema) -> str:
    return ", ".join(schema.names)


def use_parquet(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Make `persons` and `immunizations` views of the Parquet files in `folder`."""
    for name, file, schema in (
        ("persons", PERSONS_FILE, PERSONS_SCHEMA),
        ("immunizations", IMMUNIZATIONS_FILE, IMMUNIZATIONS_SCHEMA),
    ):
        path = folder / file
        if not path.is_file():
            raise InvalidInput(f"{path} does not exist")
        # DuckDB reads only the columns named here, straight from the file.
        literal = str(path).replace("'", "''")
        con.execute(
            f"CREATE OR REPLACE VIEW {name} AS "
            f"SELECT {_columns(schema)} FROM read_parquet('{literal}')"
        )


def use_arrow(con: duckdb.DuckDBPyConnection, persons: pa.Table, immunizations: pa.Table) -> None:
    """Make `persons` and `immunizations` views of Arrow tables already in memory."""
    con.register("persons_arrow", persons.select(PERSONS_SCHEMA.names))
    con.register("immunizations_arrow", immunizations.select(IMMUNIZATIONS_SCHEMA.names))
    con.execute("CREATE OR REPLACE VIEW persons AS SELECT * FROM persons_arrow")
    con.execute("CREATE OR REPLACE VIEW immunizations AS SELECT * FROM immunizations_arrow")


def _table(chunks: list[pa.RecordBatch], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_batches(chunks, schema=schema)


def read_database(
    session: Session, area_code: str | None = None, chunk_size: int = 100_000
) -> tuple[pa.Table, pa.Table]:
    """The people of an area and their doses, read from the registry in chunks."""
    persons = [
        pa.RecordBatch.from_pylist(
            [dict(zip(PERSONS_SCHEMA.names, row, strict=True)) for row in chunk],
            schema=PERSONS_SCHEMA,
        )
        for chunk in registry.analytics_persons(session, area_code=area_code, chunk_size=chunk_size)
    ]
    doses = [
        pa.RecordBatch.from_pylist(
            [dict(zip(IMMUNIZATIONS_SCHEMA.names, row, strict=True)) for row in chunk],
            schema=IMMUNIZATIONS_SCHEMA,
        )
        for chunk in registry.analytics_doses(session, area_code=area_code, chunk_size=chunk_size)
    ]
    return _table(persons, PERSONS_SCHEMA), _table(doses, IMMUNIZATIONS_SCHEMA)


def read_population_csv(data: bytes | str) -> pa.Table:
    """Population estimates from CSV with a header `area,cohort,population` (area: the code of
    a province, district or commune, or VN for the country; cohort: a birth year)."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"area", "cohort", "population"} <= set(reader.fieldnames):
        raise InvalidInput("the population CSV needs the columns area, cohort, population")
    rows: dict[tuple[str, int], int] = {}
    for line, row in enumerate(reader, start=2):
        area = (row["area"] or "").strip()
        try:
            cohort = int(row["cohort"])
            population = int(row["population"])
        except (TypeError, ValueError) as error:
            raise InvalidInput(
                f"population CSV line {line}: cohort and population are whole numbers"
            ) from error
        if not (area == "VN" or (area.isdigit() and len(area) in (2, 3, 5))):
            raise InvalidInput(f"population CSV line {line}: {area!r} is not an area code")
        if population < 0 or not 1900 <= cohort <= 2200:
            raise InvalidInput(f"population CSV line {line}: implausible cohort or population")
        if (area, cohort) in rows:
            raise InvalidInput(f"population CSV line {line}: {area} {cohort} is given twice")
        rows[(area, cohort)] = population
    return pa.table(
        {
            "area": [a for a, _ in rows],
            "cohort": [c for _, c in rows],
            "population": list(rows.values()),
        },
        schema=POPULATION_SCHEMA,
    )
