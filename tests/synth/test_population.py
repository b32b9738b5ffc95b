"""The synthetic population: reproducible, chunk-independent, and shaped like Viet Nam."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from immunis.synth import sources
from immunis.synth.parquet import IMMUNIZATIONS_FILE, PERSONS_FILE, write_population
from immunis.synth.population import Population

AS_OF = date(2026, 11, 1)


def generate(persons: int, seed: int, chunk_size: int) -> tuple[pa.Table, pa.Table]:
    population = Population(persons, seed, AS_OF)
    chunks = list(population.chunks(chunk_size))
    return (
        pa.concat_tables([chunk.persons for chunk in chunks]),
        pa.concat_tables([chunk.immunizations for chunk in chunks]),
    )


@pytest.fixture(scope="module")
def five_thousand() -> tuple[pa.Table, pa.Table]:
    return generate(5_000, seed=11, chunk_size=2_500)


def test_the_same_seed_writes_the_same_parquet_bytes(tmp_path: Path) -> None:
    for name in ("first", "second"):
        write_population(Population(1_000, 3, AS_OF), tmp_path / name, chunk_size=500)
    for file in (PERSONS_FILE, IMMUNIZATIONS_FILE, "sites.parquet", "areas.parquet"):
        assert (tmp_path / "first" / file).read_bytes() == (tmp_path / "second" / file).read_bytes()


def test_another_seed_gives_other_people() -> None:
    first, _ = generate(1_000, seed=1, chunk_size=1_000)
    other, _ = generate(1_000, seed=2, chunk_size=1_000)
    assert first["person_id"].to_pylist() != other["person_id"].to_pylist()


def test_chunking_does_not_change_the_population(five_thousand: tuple[pa.Table, pa.Table]) -> None:
    persons, doses = generate(5_000, seed=11, chunk_size=500)
    assert persons.equals(five_thousand[0])
    assert doses.equals(five_thousand[1])


def test_a_smaller_population_is_the_start_of_a_larger_one(
    five_thousand: tuple[pa.Table, pa.Table],
) -> None:
    persons, _ = generate(1_200, seed=11, chunk_size=500)
    originals = persons.filter(pc.is_null(persons["duplicate_of"]))["person_id"].to_pylist()
    larger = five_thousand[0].filter(pc.is_null(five_thousand[0]["duplicate_of"]))
    assert originals == larger["person_id"].to_pylist()[:1_200]


def test_every_person_asked_for_is_there_plus_marked_duplicates(
    five_thousand: tuple[pa.Table, pa.Table],
) -> None:
    persons, _ = five_thousand
    duplicates = persons.filter(pc.invert(pc.is_null(persons["duplicate_of"])))
    assert persons.num_rows - duplicates.num_rows == 5_000
    assert 0 < duplicates.num_rows < 50
    by_id = {row["person_id"]: row for row in persons.to_pylist()}
    for copy in duplicates.to_pylist():
        original = by_id[copy["duplicate_of"]]
        assert original["duplicate_of"] is None
        assert original["sex"] == copy["sex"]
        assert original["commune_code"] == copy["commune_code"]
        written = (copy["family_name"], copy["middle_name"], copy["given_name"])
        assert written != (original["family_name"], original["middle_name"], original["given_name"])
        assert 0 <= (original["birth_date"] - copy["birth_date"]).days <= 3


def test_family_names_follow_their_frequencies(five_thousand: tuple[pa.Table, pa.Table]) -> None:
    names = five_thousand[0]["family_name"].to_pylist()
    assert names.count("Nguyễn") / len(names) == pytest.approx(0.38, abs=0.03)
    assert names.count("Trần") / len(names) == pytest.approx(0.11, abs=0.02)


def test_national_ids_follow_the_citizen_card_structure(
    five_thousand: tuple[pa.Table, pa.Table],
) -> None:
    persons = five_thousand[0].to_pylist()
    ids = [p["national_id"] for p in persons if p["national_id"]]
    assert len(ids) == len(set(ids))
    for person in persons:
        age = (AS_OF - person["birth_date"]).days / 365.25
        if person["national_id"] is None:
            assert age < 14.01
            continue
        assert age >= 13.99
        number = person["national_id"]
        assert re.fullmatch(r"\d{12}", number)
        century = (person["birth_date"].year // 100 - 19) * 2
        assert number[:3] == f"0{person['province_code']}"
        assert number[3] == str(century + (0 if person["sex"] == "male" else 1))
        assert number[4:6] == f"{person['birth_date'].year % 100:02d}"


def test_adults_and_guardians_mostly_have_mobile_numbers(
    five_thousand: tuple[pa.Table, pa.Table],
) -> None:
    phones = five_thousand[0]["phone"].to_pylist()
    assert sum(phone is not None for phone in phones) / len(phones) > 0.8
    assert all(re.fullmatch(r"0[35789]\d{8}", phone) for phone in phones if phone)


def coverage(persons: pa.Table, doses: pa.Table, cvx_codes: set[str]) -> float:
    """Share of children aged 2 to 6 (first records only) with a recorded dose of these CVX."""
    children = {
        row["person_id"]
        for row in persons.to_pylist()
        if row["duplicate_of"] is None
        and date(2020, 11, 1) <= row["birth_date"] <= date(2024, 11, 1)
    }
    vaccinated = {
        row["person_id"]
        for row in doses.to_pylist()
        if row["cvx"] in cvx_codes and row["person_id"] in children
    }
    return len(vaccinated) / len(children)


@pytest.mark.parametrize(
    ("label", "cvx_codes", "configured"),
    [
        ("BCG", {"19"}, 0.95),
        ("hepatitis B birth dose", {"8"}, 0.87),
        ("first DTP-containing dose", {"198", "146"}, 0.95),
        ("first measles dose", {"5"}, 0.95),
        ("MR at 18 months", {"4"}, 0.90),
    ],
)
def test_programme_coverage_is_near_the_configured_rate(
    five_thousand: tuple[pa.Table, pa.Table], label: str, cvx_codes: set[str], configured: float
) -> None:
    recorded = configured * (1 - sources.programme().missing)
    assert coverage(*five_thousand, cvx_codes) == pytest.approx(recorded, abs=0.05), label


def test_private_centres_give_services_vaccines(five_thousand: tuple[pa.Table, pa.Table]) -> None:
    doses = five_thousand[1]
    sites = Population(1_000, 11, AS_OF).geography.sites
    private = set(sites.filter(pc.equal(sites["kind"], "private-centre"))["site_id"].to_pylist())
    at_private = doses.filter(pc.is_in(doses["site_id"], pa.array(sorted(private))))
    assert {"133", "119"} <= set(at_private["cvx"].to_pylist())
    assert "198" not in set(at_private["cvx"].to_pylist())


def test_the_geography_has_the_63_provinces_and_a_station_per_commune() -> None:
    geography = Population(1_000, 1, AS_OF).geography
    areas = geography.areas.to_pylist()
    levels = [area["level"] for area in areas]
    assert levels.count("province") == 63
    assert 9_000 < levels.count("commune") < 12_000
    stations = geography.sites.filter(pc.equal(geography.sites["kind"], "commune-health-station"))
    assert stations.num_rows == levels.count("commune")
