"""The CDSi calendar rules (logic specification, date calculations)."""

from __future__ import annotations

from datetime import date

import pytest

from immunis.forecast.dates import add
from immunis.schedule.model import Duration


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (date(2025, 1, 15), "6 weeks", date(2025, 2, 26)),
        (date(2025, 1, 15), "2 months", date(2025, 3, 15)),
        (date(2025, 1, 15), "4 years - 4 days", date(2029, 1, 11)),
        (date(2025, 1, 15), "6 weeks - 4 days", date(2025, 2, 22)),
        (date(2025, 1, 15), "3 months + 4 weeks", date(2025, 5, 13)),
        (date(2025, 1, 15), "0 days", date(2025, 1, 15)),
        # A day that does not exist rolls forward to the first of the next month.
        (date(2025, 1, 31), "1 month", date(2025, 3, 1)),
        (date(2025, 8, 31), "6 months", date(2026, 3, 1)),
        (date(2024, 2, 29), "1 year", date(2025, 3, 1)),
        (date(2024, 2, 29), "4 years", date(2028, 2, 29)),
        (date(2025, 3, 31), "1 month - 4 days", date(2025, 4, 27)),
        (date(2025, 12, 31), "2 months", date(2026, 3, 1)),
    ],
)
def test_adding_a_cdsi_duration(start: date, duration: str, expected: date) -> None:
    assert add(start, Duration.parse(duration)) == expected


@pytest.mark.parametrize("text", ["", "6 wks", "four weeks", "6 weeks -", "6 weeks 4 days extra"])
def test_a_malformed_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a CDSi duration"):
        Duration.parse(text)


def test_a_duration_reads_back_as_written() -> None:
    for text in ("6 weeks - 4 days", "4 years", "3 months + 4 weeks", "-4 days", "0 days"):
        assert str(Duration.parse(text)) == text
