"""Loading CDC's CDSi supporting data XML (release 4.64, shipped in the package)."""

from __future__ import annotations

import pytest

from immunis.schedule.cdc_xml import SupportingDataError, parse_antigen, parse_schedule
from immunis.schedule.model import ConditionType, Duration, Schedule, SeriesType


def test_every_antigen_and_vaccine_group_is_loaded(us_schedule: Schedule) -> None:
    assert len(us_schedule.antigens) == 30
    assert len(us_schedule.vaccine_groups) == 26
    assert us_schedule.vaccine_groups["MMR"].antigens == ("Measles", "Mumps", "Rubella")
    assert us_schedule.vaccine_groups["MMR"].administer_full_vaccine_group
    assert not us_schedule.vaccine_groups["DTaP/Tdap/Td"].administer_full_vaccine_group


def test_cvx_codes_map_to_antigens_without_leading_zeros(us_schedule: Schedule) -> None:
    mmr = us_schedule.vaccine("03")
    assert mmr is not None and mmr is us_schedule.vaccine("3")
    assert {a.antigen for a in mmr.associations} == {"Measles", "Mumps", "Rubella"}


def test_a_series_dose_keeps_its_ages_intervals_and_vaccines(us_schedule: Schedule) -> None:
    hib = us_schedule.antigens["Hib"]
    standard = next(s for s in hib.series if s.selection.default_series)
    assert standard.series_type is SeriesType.STANDARD
    assert standard.selection.max_age_to_start == Duration.parse("7 months - 4 days")
    dose_2 = standard.doses[1]
    assert dose_2.dose_number == 2
    assert dose_2.ages[0].absolute_min_age == Duration.parse("10 weeks - 4 days")
    assert dose_2.intervals[0].from_previous
    assert dose_2.intervals[0].min_interval == Duration.parse("4 weeks")
    assert "48" in {v.cvx for v in dose_2.preferable_vaccines}
    skip_types = {
        c.condition_type for s in dose_2.conditional_skips for st in s.sets for c in st.conditions
    }
    assert ConditionType.AGE in skip_types


def test_live_virus_conflicts_are_loaded(us_schedule: Schedule) -> None:
    pairs = {(c.previous_cvx, c.current_cvx) for c in us_schedule.live_virus_conflicts}
    assert ("3", "21") in pairs  # MMR then varicella
    assert ("21", "3") in pairs


def test_antigen_data_without_series_is_refused() -> None:
    with pytest.raises(SupportingDataError, match="without any series"):
        parse_antigen(b"<antigenSupportingData><contraindications/></antigenSupportingData>")


def test_an_unreadable_duration_is_refused() -> None:
    bad = (
        b"<antigenSupportingData><series><seriesName>x</seriesName>"
        b"<targetDisease>X</targetDisease><seriesType>Standard</seriesType>"
        b"<selectSeries><maxAgeToStart>7 mnths</maxAgeToStart></selectSeries>"
        b"</series></antigenSupportingData>"
    )
    with pytest.raises(ValueError, match="not a CDSi duration"):
        parse_antigen(bad)


def test_a_schedule_file_that_is_not_xml_is_refused() -> None:
    with pytest.raises(SupportingDataError, match="not well-formed XML"):
        parse_schedule(b"this is not xml", [])
