"""Coverage results as files: CSV (for spreadsheets) and Parquet (for further analysis)."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from immunis.analytics.coverage import CoverageResult


def csv_bytes(table: pa.Table) -> bytes:
    """A table as CSV with a header line."""
    sink = io.BytesIO()
    pacsv.write_csv(table, sink)
    return sink.getvalue()


def write_result(result: CoverageResult, folder: Path, formats: tuple[str, ...]) -> list[Path]:
    """coverage.<format> and summary.<format> for each format; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (("coverage", result.coverage), ("summary", result.summary)):
        for file_format in formats:
            path = folder / f"{name}.{file_format}"
            if file_format == "csv":
                path.write_bytes(csv_bytes(table))
            else:
                pq.write_table(table, path)
            written.append(path)
    return written
