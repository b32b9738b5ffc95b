"""The project schedule format: lossless against CDC's data, strict and clear on bad input."""

from __future__ import annotations

import re
from datetime import date
from importlib import resources
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from immunis.schedule.cdc_xml import load_cdc_directory
from immunis.schedule.convert import cdc_xml_to_yaml
from immunis.schedule.model import (
    AgeRule,
    Antigen,
    Duration,
    IntervalRule,
    Schedule,
    Series,
    SeriesDose,
    SeriesSelection,
    SeriesType,
    Vaccine,
    VaccineGroup,
)
from immunis.schedule.project_format import (
    FORMAT,
    ScheduleFormatError,
    dump_yaml,
    load_yaml,
    schedule_from_document,
    schedule_to_document,
)

CDC_FOLDER = Path(str(resources.files("immunis.schedule") / "data" / "cdc-4.64"))


@pytest.fixture(scope="module")
def cdc_schedule() -> Schedule:
    return load_cdc_directory(CDC_FOLDER, version="4.64")


@pytest.fixture(scope="module")
def cdc_yaml() -> str:
    return cdc_xml_to_yaml(CDC_FOLDER, version="4.64")


def test_cdc_xml_to_yaml_and_back_is_the_same_schedule(
    cdc_schedule: Schedule, cdc_yaml: str
) -> None:
    assert load_yaml(cdc_yaml.encode()) == cdc_schedule


def test_document_round_trip_without_yaml(cdc_schedule: Schedule) -> None:
    assert schedule_from_document(schedule_to_document(cdc_schedule)) == cdc_schedule


def test_converted_document_reads_as_cdsi_text(cdc_yaml: str) -> None:
    document = yaml.load(cdc_yaml, Loader=yaml.CSafeLoader)
    first_dose = document["antigens"]["Measles"]["series"][0]["doses"][0]
    assert document["format"] == FORMAT
    assert first_dose["ages"][0]["absolute_min_age"] == "12 months - 4 days"
    # Empty and default fields are left out.
    assert "recurring" not in first_dose
    assert "inadvertent_vaccines" not in first_dose


def test_codes_that_look_like_numbers_are_quoted(cdc_yaml: str) -> None:
    assert "observation_code: '080'" in cdc_yaml
    assert "cvx: '3'" in cdc_yaml


def _minimal_schedule(dose: SeriesDose, series_sources: tuple[str, ...] = ()) -> Schedule:
    series = Series(
        name="Measles 1 dose",
        target_disease="Measles",
        vaccine_group="MMR",
        series_type=SeriesType.STANDARD,
        selection=SeriesSelection(default_series=True),
        doses=(dose,),
        sources=series_sources,
    )
    return Schedule(
        id="test",
        title="Test",
        version="1",
        antigens={"Measles": Antigen("Measles", (series,))},
        vaccine_groups={"MMR": VaccineGroup("MMR", ("Measles",))},
        vaccines={"5": Vaccine("5", "measles")},
        sources=("a source",),
    )


def test_sources_on_series_and_doses_survive_a_round_trip() -> None:
    dose = SeriesDose(dose_number=1, sources=("Thông tư 10/2024/TT-BYT", "WHO 2017"))
    schedule = _minimal_schedule(dose, series_sources=("one source",))
    text = dump_yaml(schedule)
    assert "source: one source" in text
    assert load_yaml(text.encode()) == schedule


def test_a_single_source_may_be_written_as_text() -> None:
    document = schedule_to_document(_minimal_schedule(SeriesDose(dose_number=1)))
    document["antigens"]["Measles"]["series"][0]["doses"][0]["source"] = "Bộ Y tế"
    loaded = schedule_from_document(document)
    assert loaded.antigens["Measles"].series[0].doses[0].sources == ("Bộ Y tế",)


GOOD = """\
format: immunis-schedule/1
id: t
title: T
version: '1'
antigens:
  Measles:
    series:
    - name: Measles 2 doses
      vaccine_group: MMR
      doses:
      - dose: 1
        source: Bộ Y tế
        ages:
        - {min_age: 9 months}
      - dose: 2
        ages:
        - {min_age: 18 months, effective_date: 2024-08-01}
        recurring: false
vaccine_groups:
  MMR: {antigens: [Measles]}
vaccines:
  '5': {short_description: measles, antigens: [Measles]}
"""


def test_the_good_document_loads() -> None:
    schedule = load_yaml(GOOD.encode())
    series = schedule.antigens["Measles"].series[0]
    assert series.target_disease == "Measles"
    assert series.series_type is SeriesType.STANDARD
    assert series.doses[1].ages[0] == AgeRule(
        min_age=Duration(months=18), effective_date=date(2024, 8, 1)
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "{min_age: 9 months}",
            "{min_age: 9 mnths}",
            "antigens.Measles.series[0].doses[0].ages[0].min_age: not a duration: '9 mnths'",
        ),
        (
            "recurring: false",
            "recurring: 'no'",
            "antigens.Measles.series[0].doses[1].recurring: expected true or false",
        ),
        (
            "dose: 1",
            "dose: one",
            "antigens.Measles.series[0].doses[0].dose: expected a whole number",
        ),
        (
            "      doses:\n",
            "      colour: red\n      doses:\n",
            "antigens.Measles.series[0].colour: unknown key",
        ),
        (
            "      vaccine_group: MMR\n",
            "",
            "antigens.Measles.series[0]: missing required key 'vaccine_group'",
        ),
        (
            "2024-08-01",
            "1 August 2024",
            "antigens.Measles.series[0].doses[1].ages[0].effective_date: not an ISO date",
        ),
        ("'5': {", "5: {", "vaccines.5: names and codes must be text"),
        ("version: '1'", "version: 1", "version: expected text"),
        ("format: immunis-schedule/1", "format: other/2", "format: expected 'immunis-schedule/1'"),
        (
            "vaccine_groups:\n",
            "vaccine_groups: {}\nvaccine_groups:\n",
            "line 20: duplicate key 'vaccine_groups'",
        ),
        (
            "antigens: [Measles]",
            "antigens: Measles",
            "vaccine_groups.MMR.antigens: expected a list",
        ),
    ],
)
def test_bad_documents_name_the_offending_key(old: str, new: str, message: str) -> None:
    assert old in GOOD
    with pytest.raises(ScheduleFormatError, match=re.escape(message)):
        load_yaml(GOOD.replace(old, new, 1).encode())


def test_a_list_where_a_mapping_belongs_is_reported() -> None:
    document = yaml.safe_load(GOOD)
    document["antigens"]["Measles"]["series"][0]["doses"] = 3
    with pytest.raises(ScheduleFormatError, match=re.escape("series[0].doses: expected a list")):
        schedule_from_document(document)


@pytest.mark.parametrize("text", ["a: [", "- 1", ""])
def test_documents_that_are_not_schedules_raise_format_errors(text: str) -> None:
    with pytest.raises(ScheduleFormatError):
        load_yaml(text.encode())


durations = st.builds(
    Duration,
    years=st.integers(-120, 120),
    months=st.integers(-1500, 1500),
    weeks=st.integers(-600, 600),
    days=st.integers(-5000, 5000),
)


@given(durations)
def test_duration_text_round_trips(duration: Duration) -> None:
    assert Duration.parse(str(duration)) == duration


@given(
    st.lists(
        st.builds(
            AgeRule,
            absolute_min_age=st.none() | durations,
            min_age=st.none() | durations,
            latest_recommended_age=st.none() | durations,
            effective_date=st.none() | st.dates(),
        ),
        max_size=3,
    ),
    st.lists(
        st.builds(
            IntervalRule,
            from_previous=st.booleans(),
            from_target_dose=st.none() | st.integers(1, 9),
            from_most_recent_cvx=st.lists(st.sampled_from(["3", "94", "VN-QDENGA"])).map(tuple),
            min_interval=st.none() | durations,
            overrides_age=st.booleans(),
        ),
        max_size=3,
    ),
    st.booleans(),
)
def test_any_dose_rules_round_trip_through_yaml(
    ages: list[AgeRule], intervals: list[IntervalRule], recurring: bool
) -> None:
    dose = SeriesDose(
        dose_number=1, ages=tuple(ages), intervals=tuple(intervals), recurring=recurring
    )
    schedule = _minimal_schedule(dose)
    assert load_yaml(dump_yaml(schedule).encode()) == schedule


def test_field_types_read_from_the_model_source_match_the_runtime_hints() -> None:
    """The compiled (mypyc) engine erases the model's annotations; the loader then reads them
    from model.py's source, which must say exactly what the interpreter sees."""
    import dataclasses
    import typing

    from immunis.schedule import model, project_format

    classes = [
        value
        for value in vars(model).values()
        if isinstance(value, type) and dataclasses.is_dataclass(value)
    ]
    assert len(classes) > 15
    for cls in classes:
        assert project_format._hints_from_source(cls) == typing.get_type_hints(cls), cls.__name__
