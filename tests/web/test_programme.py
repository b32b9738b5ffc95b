"""Coverage for officers, the lab's lot console, the safety officer's queue."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from immunis.analytics import charts
from tests.web.site import TODAY, WebWorld, csrf_of


def test_coverage_asks_for_its_figures_with_the_progress_indicator(web: WebWorld) -> None:
    page = web.client("national_officer").get("/coverage").text
    assert 'hx-trigger="load"' in page
    assert 'id="progress"' in page


def test_coverage_results_are_a_table_and_charts(web: WebWorld) -> None:
    officer = web.client("province_officer")
    year = date.today().year
    results = officer.get("/coverage/results", params={"cohort": year, "by": "district"})
    assert results.status_code == 200
    assert "<table>" in results.text
    assert "DTP1" in results.text
    chart = officer.get("/coverage/chart.png", params={"cohort": year, "by": "district"})
    assert chart.headers["content-type"] == "image/png"
    assert chart.content.startswith(b"\x89PNG")


def test_a_wrong_birth_year_is_explained_and_kept(web: WebWorld) -> None:
    page = web.client("national_officer").get("/coverage", params={"cohort": "20x5"})
    assert page.status_code == 422
    assert 'value="20x5"' in page.text
    assert "Enter a birth year" in page.text


def test_coverage_is_for_officers_only(web: WebWorld) -> None:
    assert web.client("citizen").get("/coverage").status_code == 403
    assert web.client("vaccinator").get("/coverage/chart.png").status_code == 403


def test_the_lab_quarantines_a_lot(web: WebWorld) -> None:
    lab = web.client("lab")
    lot = web.lots["PENTA01"]
    answer = lab.post(
        f"/lots/{lot}/status",
        data={
            "to": "quarantined",
            "reason": "cold chain break",
            "csrf_token": csrf_of(lab, "/lots"),
        },
    )
    assert answer.status_code == 303
    page = lab.get(f"/lots/{lot}").text
    assert "in quarantine" in page
    assert "cold chain break" in page


def test_a_decision_without_a_reason_comes_back_with_the_choice_kept(web: WebWorld) -> None:
    lab = web.client("lab")
    lot = web.lots["PENTA02"]
    answer = lab.post(
        f"/lots/{lot}/status", data={"to": "released", "csrf_token": csrf_of(lab, "/lots")}
    )
    assert answer.status_code == 422
    assert "Give the reason for the decision" in answer.text
    assert re.search(r'<option value="released"\s+selected', answer.text)


def test_only_the_lab_decides_on_lots(web: WebWorld) -> None:
    officer = web.client("national_officer")
    lot = web.lots["PENTA02"]
    assert "Record the decision" not in officer.get(f"/lots/{lot}").text
    answer = officer.post(
        f"/lots/{lot}/status",
        data={"to": "released", "reason": "x", "csrf_token": csrf_of(officer, "/lots")},
    )
    assert answer.status_code == 403
    assert web.client("vaccinator").get("/lots").status_code == 403


def test_the_aefi_queue_is_the_safety_officers(web: WebWorld) -> None:
    assert web.client("safety_officer").get("/aefi").status_code == 200
    assert web.client("citizen").get("/aefi").status_code == 403


def test_coverage_by_province_has_a_map_with_its_text_alternative(web: WebWorld) -> None:
    officer = web.client("national_officer")
    question = {"cohort": (TODAY - timedelta(days=75)).year, "by": "province"}
    results = officer.get("/coverage/results", params=question).text
    found = re.search(r'<img class="chart" src="([^"]*kind=map)" alt="([^"]+)"', results)
    assert found, "no map on the coverage results"
    assert "Map of the provinces coloured by DTP3 coverage" in found.group(2)
    assert "<td>Hà Nội (01)</td>" in results  # the map's figures, in the table
    image = officer.get(found.group(1).replace("&amp;", "&"))
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


def test_below_the_provinces_there_is_no_map_and_the_page_says_so(web: WebWorld) -> None:
    officer = web.client("province_officer")
    question = {"cohort": (TODAY - timedelta(days=75)).year, "by": "district"}
    results = officer.get("/coverage/results", params=question).text
    assert "kind=map" not in results
    assert "The map is drawn by province" in results
    map_link = officer.get("/coverage/chart.png", params={**question, "kind": "map"})
    assert map_link.status_code == 404


def test_the_map_is_described_in_vietnamese(web: WebWorld) -> None:
    officer = web.client("national_officer", language="vi")
    question = {"cohort": (TODAY - timedelta(days=75)).year, "by": "province"}
    results = officer.get("/coverage/results", params=question).text
    assert "Bản đồ các tỉnh tô màu theo tỷ lệ tiêm DTP3" in results


def test_a_vietnamese_officer_gets_every_chart(web: WebWorld) -> None:
    officer = web.client("national_officer", language="vi")
    question = {"cohort": (TODAY - timedelta(days=75)).year, "by": "province"}
    for kind in ("coverage", "dropout", "map"):
        chart = officer.get("/coverage/chart.png", params={**question, "kind": kind})
        assert chart.status_code == 200, kind
        assert chart.headers["content-type"] == "image/png"
        assert chart.content.startswith(b"\x89PNG")


def test_the_charts_are_drawn_with_the_visitors_words_and_numbers(
    web: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[charts.ChartLabels] = []
    draw_map = charts.province_map

    def province_map(*arguments: Any) -> Path:
        handed.append(arguments[-1])
        return draw_map(*arguments)

    monkeypatch.setattr(charts, "province_map", province_map)
    officer = web.client("national_officer", language="vi")
    cohort = (TODAY - timedelta(days=75)).year
    question = {"cohort": cohort, "by": "province", "kind": "map"}
    assert officer.get("/coverage/chart.png", params=question).status_code == 200
    [labels] = handed
    title = labels.map_title % {"indicator": "DTP3", "cohort": cohort}
    assert title == f"Tỷ lệ tiêm DTP3 theo tỉnh, trẻ sinh năm {cohort}"
    assert labels.coverage_axis == "tỷ lệ tiêm chủng (%)"
    assert labels.number(1234.5) == "1.234,5"
