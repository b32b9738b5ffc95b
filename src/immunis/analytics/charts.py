"""Coverage charts as PNG or SVG files (matplotlib, no display): coverage bars by area, drop-out
rates by area, and a tile map of the provinces coloured by coverage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from immunis.analytics.provinces import province_tiles

# WHO's usual marks: 90% coverage is the national target, over 10% drop-out a sign of poor access.
COVERAGE_TARGET = 90.0
DROPOUT_LIMIT = 10.0


def _label(area: str) -> str:
    tile = province_tiles().get(area)
    return f"{tile.name} ({area})" if tile else area


def _rows(table: pa.Table, cohort: int) -> list[dict[str, Any]]:
    return [r for r in table.to_pylist() if r["cohort"] == cohort]


def coverage_bars(coverage: pa.Table, cohort: int, indicators: tuple[str, ...], path: Path) -> Path:
    """Horizontal bars of each indicator's coverage per area, lowest first in the first one."""
    rows = [r for r in _rows(coverage, cohort) if r["indicator"] in indicators]
    by_area: dict[str, dict[str, float]] = {}
    for r in rows:
        by_area.setdefault(str(r["area"]), {})[str(r["indicator"])] = float(r["coverage_pct"] or 0)
    areas = sorted(by_area, key=lambda a: by_area[a].get(indicators[0], 0.0))
    height = 0.8 / len(indicators)
    figure = Figure(figsize=(8, max(2.5, 0.2 * len(areas) * len(indicators) + 1.2)))
    axes = figure.subplots()
    for number, indicator in enumerate(indicators):
        axes.barh(
            [i + number * height for i in range(len(areas))],
            [by_area[a].get(indicator, 0.0) for a in areas],
            height=height,
            label=indicator,
        )
    axes.set_yticks([i + height * (len(indicators) - 1) / 2 for i in range(len(areas))])
    axes.set_yticklabels([_label(a) for a in areas], fontsize=7)
    axes.axvline(COVERAGE_TARGET, color="black", linestyle="--", linewidth=0.8)
    axes.set_xlim(0, max(100.0, *(v for a in by_area.values() for v in a.values())))
    axes.set_xlabel("coverage (%)")
    axes.set_title(f"Coverage, birth cohort {cohort}")
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return path


def dropout_chart(summary: pa.Table, cohort: int, path: Path) -> Path:
    """Drop-out rates (every pair the indicators define) per area, highest first, with WHO's
    10% mark."""
    columns = [c for c in summary.column_names if c.startswith("dropout_")]
    rows = sorted(_rows(summary, cohort), key=lambda r: float(r[columns[0]] or 0))
    height = 0.8 / max(len(columns), 1)
    figure = Figure(figsize=(8, max(2.5, 0.2 * len(rows) * len(columns) + 1.2)))
    axes = figure.subplots()
    for number, column in enumerate(columns):
        first, second = column.removeprefix("dropout_").removesuffix("_pct").split("_")
        axes.barh(
            [i + number * height for i in range(len(rows))],
            [float(r[column] or 0) for r in rows],
            height=height,
            label=f"{first}-{second}",
        )
    axes.set_yticks([i + height * (len(columns) - 1) / 2 for i in range(len(rows))])
    axes.set_yticklabels([_label(str(r["area"])) for r in rows], fontsize=7)
    axes.axvline(DROPOUT_LIMIT, color="black", linestyle="--", linewidth=0.8)
    axes.set_xlabel("drop-out (%)")
    axes.set_title(f"Drop-out rates, birth cohort {cohort}")
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return path


def province_map(coverage: pa.Table, cohort: int, indicator: str, path: Path) -> Path:
    """Every province as a tile, coloured by the indicator's coverage (grey: no data)."""
    values = {
        str(r["area"]): r["coverage_pct"]
        for r in _rows(coverage, cohort)
        if r["indicator"] == indicator
    }
    tiles = province_tiles().values()
    rows = max(t.row for t in tiles) + 1
    cols = max(t.col for t in tiles) + 1
    colours = colormaps["RdYlGn"]
    scale = Normalize(vmin=50, vmax=100)
    figure = Figure(figsize=(cols * 1.1 + 1.5, rows * 0.55 + 1))
    axes = figure.subplots()
    for tile in tiles:
        value = values.get(tile.code)
        colour = "#d9d9d9" if value is None else colours(scale(min(float(value), 100.0)))
        x, y = tile.col, rows - 1 - tile.row
        axes.add_patch(Rectangle((x, y), 0.95, 0.9, facecolor=colour, edgecolor="white"))
        text = tile.name if value is None else f"{tile.name}\n{float(value):.0f}%"
        axes.text(x + 0.47, y + 0.45, text, ha="center", va="center", fontsize=6)
    axes.set_xlim(0, cols)
    axes.set_ylim(0, rows)
    axes.set_aspect(0.55)
    axes.axis("off")
    figure.colorbar(
        ScalarMappable(norm=scale, cmap=colours),
        ax=axes,
        shrink=0.5,
        label=f"{indicator} coverage (%)",
    )
    axes.set_title(f"{indicator} coverage by province, birth cohort {cohort}")
    figure.savefig(path, dpi=120, bbox_inches="tight")
    return path
