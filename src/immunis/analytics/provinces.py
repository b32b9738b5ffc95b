"""Viet Nam's provinces as tiles of a grid map (data/province_tiles.csv): their names and places."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class ProvinceTile:
    code: str
    name: str
    row: int  # 0 is the far north
    col: int  # 0 is the west


@cache
def province_tiles() -> dict[str, ProvinceTile]:
    """Every province by its GSO code."""
    text = (resources.files("immunis.analytics") / "data" / "province_tiles.csv").read_text(
        encoding="utf-8"
    )
    lines = (line for line in io.StringIO(text) if not line.startswith("#"))
    return {
        row["code"]: ProvinceTile(row["code"], row["name"], int(row["row"]), int(row["col"]))
        for row in csv.DictReader(lines)
    }
