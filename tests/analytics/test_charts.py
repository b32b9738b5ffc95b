"""The coverage charts: their words in the caller's language (English by default), and tile
labels in black or white, whichever reads on the tile."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import matplotlib
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib import colormaps

from immunis.analytics import charts
from immunis.analytics.charts import ChartLabels, contrast_ratio, label_colour

# WCAG 2 success criterion 1.4.3 (level AA): text needs 4.5:1 against its background.
AA_TEXT_CONTRAST = 4.5

COVERAGE = pa.table(
    {
        "cohort": [2024, 2024, 2024, 2024],
        "area": ["01", "01", "79", "79"],
        "indicator": ["DTP3", "MCV1", "DTP3", "MCV1"],
        "coverage_pct": [62.5, 75.0, 33.3, 100.0],
    }
)
SUMMARY = pa.table(
    {
        "cohort": [2024, 2024],
        "area": ["01", "79"],
        "dropout_DTP1_DTP3_pct": [28.6, 2.5],
        "dropout_MCV1_MCV2_pct": [50.0, 0.0],
    }
)
VIETNAMESE = ChartLabels(
    coverage_title="Tỷ lệ tiêm chủng, trẻ sinh năm %(cohort)s",
    coverage_axis="tỷ lệ tiêm chủng (%)",
    dropout_title="Tỷ lệ bỏ mũi, trẻ sinh năm %(cohort)s",
    dropout_axis="tỷ lệ bỏ mũi (%)",
    map_title="Tỷ lệ tiêm %(indicator)s theo tỉnh, trẻ sinh năm %(cohort)s",
    number=lambda value: f"{value:.1f}".replace(".", ","),
)


def _svg(draw: Callable[[Path], Path], path: Path) -> str:
    """The chart as SVG with its text kept as text (not outlines), to read its words."""
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        draw(path)
    return path.read_text(encoding="utf-8")


def _texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def test_the_coverage_bars_speak_english_by_default(tmp_path: Path) -> None:
    svg = _svg(
        lambda path: charts.coverage_bars(COVERAGE, 2024, ("DTP3", "MCV1"), path),
        tmp_path / "coverage.svg",
    )
    texts = _texts(svg)
    assert "Coverage, birth cohort 2024" in texts
    assert "coverage (%)" in texts
    assert "Hồ Chí Minh (79)" in texts


def test_the_coverage_bars_take_the_callers_words_and_number_style(tmp_path: Path) -> None:
    svg = _svg(
        lambda path: charts.coverage_bars(COVERAGE, 2024, ("DTP3", "MCV1"), path, VIETNAMESE),
        tmp_path / "coverage.svg",
    )
    texts = _texts(svg)
    assert "Tỷ lệ tiêm chủng, trẻ sinh năm 2024" in texts
    assert "tỷ lệ tiêm chủng (%)" in texts
    assert "20,0" in texts  # an axis tick, written in the caller's style
    assert "Coverage, birth cohort 2024" not in texts


def test_the_dropout_chart_takes_the_callers_words(tmp_path: Path) -> None:
    svg = _svg(
        lambda path: charts.dropout_chart(SUMMARY, 2024, path, VIETNAMESE),
        tmp_path / "dropout.svg",
    )
    texts = _texts(svg)
    assert "Tỷ lệ bỏ mũi, trẻ sinh năm 2024" in texts
    assert "tỷ lệ bỏ mũi (%)" in texts
    assert "DTP1-DTP3" in texts


def test_the_map_takes_the_callers_words_and_writes_each_tile_figure_in_its_style(
    tmp_path: Path,
) -> None:
    svg = _svg(
        lambda path: charts.province_map(COVERAGE, 2024, "DTP3", path, VIETNAMESE),
        tmp_path / "map.svg",
    )
    texts = _texts(svg)
    assert "Tỷ lệ tiêm DTP3 theo tỉnh, trẻ sinh năm 2024" in texts
    assert "tỷ lệ tiêm chủng (%)" in texts  # the colour scale
    assert "33,0%" in texts  # Hồ Chí Minh's tile: 33.3 as a whole percentage, in that style


def test_the_map_writes_white_on_a_dark_tile_and_black_on_a_light_one(tmp_path: Path) -> None:
    svg = _svg(
        lambda path: charts.province_map(COVERAGE, 2024, "DTP3", path),
        tmp_path / "map.svg",
    )
    texts = _texts(svg)
    assert "DTP3 coverage by province, birth cohort 2024" in texts
    assert "Hà Nội" in texts
    # matplotlib writes a fill only for text that is not black.
    assert re.search(r'fill: #ffffff"[^>]*>Hồ Chí Minh<', svg)  # 33%: the darkest red
    assert not re.search(r'fill: #ffffff"[^>]*>Hà Nội<', svg)  # 62.5%: orange


def test_contrast_ratios_are_wcags() -> None:
    assert contrast_ratio("black", "white") == pytest.approx(21)
    assert contrast_ratio("white", "white") == pytest.approx(1)
    # The darkest grey that passes on white, a figure checkers agree on.
    assert contrast_ratio("#767676", "white") == pytest.approx(4.54, abs=0.005)


def test_labels_are_white_on_dark_tiles_and_black_on_light_ones() -> None:
    palette = colormaps["RdYlGn"]
    assert label_colour(palette(0.0)) == "white"  # 50% or less: dark red
    assert label_colour(palette(0.5)) == "black"  # 75%: yellow
    assert label_colour(palette(1.0)) == "white"  # 100%: dark green
    assert label_colour(charts.NO_DATA) == "black"


def test_every_tile_colour_of_the_map_gets_a_readable_label() -> None:
    palette = colormaps["RdYlGn"]
    tiles = [palette(step / 255) for step in range(256)] + [charts.NO_DATA]
    for tile in tiles:
        assert contrast_ratio(label_colour(tile), tile) >= AA_TEXT_CONTRAST, tile


@given(st.tuples(*[st.floats(0, 1)] * 3))
def test_any_tile_colour_gets_a_label_of_at_least_aa_contrast(
    tile: tuple[float, float, float],
) -> None:
    assert contrast_ratio(label_colour(tile), tile) >= AA_TEXT_CONTRAST
