"""Coverage charts as PNG or SVG files (matplotlib, no display): coverage bars by area, drop-out
rates by area, and a tile map of the provinces coloured by coverage.

The charts speak English unless the caller gives them other words (`ChartLabels`): the web
pages pass the visitor's language, `immunis coverage` keeps the defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter
from matplotlib.typing import ColorType

from immunis.analytics.provinces import province_tiles

# WHO's usual marks: 90% coverage is the national target, over 10% drop-out a sign of poor access.
COVERAGE_TARGET = 90.0
DROPOUT_LIMIT = 10.0
NO_DATA = "#d9d9d9"


def english_number(value: float) -> str:
    """A figure as English writes it, with up to three decimals: 1,234.5; 0.25; 20."""
    return f"{value:,.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class ChartLabels:
    """The words and the number style of the charts. Titles are %-templates of `cohort` (and,
    on the map, `indicator`); `number` writes the figures on the axes and the tiles."""

    coverage_title: str = "Coverage, birth cohort %(cohort)s"
    coverage_axis: str = "coverage (%)"
    dropout_title: str = "Drop-out rates, birth cohort %(cohort)s"
    dropout_axis: str = "drop-out (%)"
    map_title: str = "%(indicator)s coverage by province, birth cohort %(cohort)s"
    number: Callable[[float], str] = english_number

    def tick_formatter(self) -> FuncFormatter:
        """A tick formatter writing the axis figures in the labels' number style."""
        return FuncFormatter(lambda value, _position: self.number(value))


def relative_luminance(colour: ColorType) -> float:
    """WCAG 2's relative luminance of an sRGB colour: 0 for black, 1 for white."""
    red, green, blue = (
        channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4
        for channel in to_rgb(colour)
    )
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: ColorType, second: ColorType) -> float:
    """WCAG 2's contrast ratio of two colours: 1 for the same colour, 21 for black on white."""
    darker, lighter = sorted((relative_luminance(first), relative_luminance(second)))
    return (lighter + 0.05) / (darker + 0.05)


def label_colour(tile_colour: ColorType) -> str:
    """Black or white text, whichever contrasts more with the tile. One of the two always reaches
    WCAG's 4.5:1, the least being 4.58:1 on a tile of relative luminance 0.18."""
    return max(("black", "white"), key=lambda text: contrast_ratio(text, tile_colour))


def _label(area: str) -> str:
    tile = province_tiles().get(area)
    return f"{tile.name} ({area})" if tile else area


def _rows(table: pa.Table, cohort: int) -> list[dict[str, Any]]:
    return [r for r in table.to_pylist() if r["cohort"] == cohort]


def coverage_bars(
    coverage: pa.Table,
    cohort: int,
    indicators: tuple[str, ...],
    path: Path,
    labels: ChartLabels = ChartLabels(),
) -> Path:
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
    axes.xaxis.set_major_formatter(labels.tick_formatter())
    axes.set_xlabel(labels.coverage_axis)
    axes.set_title(labels.coverage_title % {"cohort": cohort})
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return path


def dropout_chart(
    summary: pa.Table, cohort: int, path: Path, labels: ChartLabels = ChartLabels()
) -> Path:
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
    axes.xaxis.set_major_formatter(labels.tick_formatter())
    axes.set_xlabel(labels.dropout_axis)
    axes.set_title(labels.dropout_title % {"cohort": cohort})
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return path


def province_map(
    coverage: pa.Table,
    cohort: int,
    indicator: str,
    path: Path,
    labels: ChartLabels = ChartLabels(),
) -> Path:
    """Every province as a tile, coloured by the indicator's coverage (grey: no data), its name
    and figure in black or white, whichever reads better on the tile."""
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
        colour = NO_DATA if value is None else colours(scale(min(float(value), 100.0)))
        x, y = tile.col, rows - 1 - tile.row
        axes.add_patch(Rectangle((x, y), 0.95, 0.9, facecolor=colour, edgecolor="white"))
        text = tile.name if value is None else f"{tile.name}\n{labels.number(round(float(value)))}%"
        axes.text(
            x + 0.47,
            y + 0.45,
            text,
            ha="center",
            va="center",
            fontsize=6,
            color=label_colour(colour),
        )
    axes.set_xlim(0, cols)
    axes.set_ylim(0, rows)
    axes.set_aspect(0.55)
    axes.axis("off")
    figure.colorbar(
        ScalarMappable(norm=scale, cmap=colours),
        ax=axes,
        shrink=0.5,
        label=labels.coverage_axis,
        format=labels.tick_formatter(),
    )
    axes.set_title(labels.map_title % {"indicator": indicator, "cohort": cohort})
    figure.savefig(path, dpi=120, bbox_inches="tight")
    return path
