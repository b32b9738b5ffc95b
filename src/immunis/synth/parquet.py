"""Writing the synthetic population to Parquet, one chunk at a time.

`persons.parquet` and `immunizations.parquet` get one row group per chunk, and row group k of
one holds the doses of the people in row group k of the other (even when a chunk has no doses):
batch jobs read the population a row group at a time. `sites.parquet` and `areas.parquet` are
small and written whole; `population.json` says what was generated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq

from immunis.synth.population import (
    IMMUNIZATIONS_SCHEMA,
    PERSONS_SCHEMA,
    Chunk,
    Population,
)

PERSONS_FILE = "persons.parquet"
IMMUNIZATIONS_FILE = "immunizations.parquet"
SITES_FILE = "sites.parquet"
AREAS_FILE = "areas.parquet"
MANIFEST_FILE = "population.json"


@contextmanager
def chunk_writer(folder: Path) -> Iterator[Callable[[Chunk], None]]:
    """A function that appends a chunk to the persons and immunizations files in `folder`."""
    with (
        pq.ParquetWriter(folder / PERSONS_FILE, PERSONS_SCHEMA) as persons,
        pq.ParquetWriter(folder / IMMUNIZATIONS_FILE, IMMUNIZATIONS_SCHEMA) as immunizations,
    ):

        def write(chunk: Chunk) -> None:
            # An explicit row-group size keeps one chunk in one row group, even an empty one.
            persons.write_table(chunk.persons, row_group_size=max(1, chunk.persons.num_rows))
            immunizations.write_table(
                chunk.immunizations, row_group_size=max(1, chunk.immunizations.num_rows)
            )

        yield write


def write_population(
    population: Population,
    folder: Path,
    chunk_size: int,
    on_chunk: Callable[[Chunk], None] = lambda chunk: None,
) -> dict[str, int]:
    """Write the whole population into `folder`, calling `on_chunk` after each chunk; returns
    the number of rows written per file."""
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(population.geography.sites, folder / SITES_FILE)
    pq.write_table(population.geography.areas, folder / AREAS_FILE)
    counts = {"persons": 0, "immunizations": 0, "duplicates": 0}
    with chunk_writer(folder) as write:
        for chunk in population.chunks(chunk_size):
            write(chunk)
            counts["persons"] += chunk.persons.num_rows
            counts["immunizations"] += chunk.immunizations.num_rows
            counts["duplicates"] += chunk.persons["duplicate_of"].drop_null().length()
            on_chunk(chunk)
    manifest = {
        "seed": population.seed,
        "persons": population.persons,
        "as_of": population.as_of.isoformat(),
        "chunk_size": chunk_size,
        "rows": counts,
        "sites": population.geography.sites.num_rows,
        "areas": population.geography.areas.num_rows,
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return counts
