"""Loading a synthetic population into the registry's tables, in bulk.

A documented exception to "one service call per row": synthetic people are not personal data of
real people, so loading them writes no audit events, and rows go in with SQLAlchemy Core
`insert()` executemany, a batch at a time, each chunk in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import pyarrow as pa
from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine

from immunis.registry.models import Immunization, Person, Site
from immunis.registry.names import name_key
from immunis.synth.population import Chunk

BATCH_SIZE = 5_000


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _insert(connection: Connection, table: Any, rows: Iterable[dict[str, Any]]) -> None:
    for batch in _batches(rows, BATCH_SIZE):
        connection.execute(insert(table), batch)


def load_sites(engine: Engine, sites: pa.Table) -> None:
    """Every site of the synthetic geography (commune stations, district centres, private)."""
    rows = (
        {
            "id": site["site_id"],
            "code": site["code"],
            "name": site["name"],
            "kind": site["kind"],
            "province_code": site["province_code"],
            "district_code": site["district_code"],
            "commune_code": site["commune_code"],
            "active": True,
        }
        for site in sites.to_pylist()
    )
    with engine.begin() as connection:
        _insert(connection, Site.__table__, rows)


def load_chunk(engine: Engine, chunk: Chunk) -> None:
    """A chunk's people and their doses, in one transaction."""
    now = datetime.now(UTC)
    people = []
    for person in chunk.persons.to_pylist():
        given = " ".join(part for part in (person["middle_name"], person["given_name"]) if part)
        people.append(
            {
                "id": person["person_id"],
                "national_id": person["national_id"],
                "family_name": person["family_name"],
                "given_name": given,
                "name_key": name_key(person["family_name"], given),
                "birth_date": person["birth_date"],
                "sex": person["sex"],
                "phone": person["phone"],
                "province_code": person["province_code"],
                "district_code": person["district_code"],
                "commune_code": person["commune_code"],
                "managing_site_id": person["managing_site_id"],
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
        )
    doses = (
        {
            "id": dose["immunization_id"],
            "person_id": dose["person_id"],
            "date_administered": dose["date_administered"],
            "cvx": dose["cvx"],
            "product_name": dose["product_name"],
            "site_id": dose["site_id"],
            "source": "administered",
            "status": "completed",
            "recorded_at": now,
        }
        for dose in chunk.immunizations.to_pylist()
    )
    with engine.begin() as connection:
        _insert(connection, Person.__table__, people)
        _insert(connection, Immunization.__table__, doses)
