"""Finding duplicates in the database: when a person is entered, and in a scan of an area."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from getpass import getuser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from immunis.access.models import AuditEvent
from immunis.access.policy import Actor, Role
from immunis.access.system import system_actor
from immunis.cli import app
from immunis.registry.dedup import word_similarity
from immunis.registry.duplicates import count_scan_rows, scan_duplicates
from immunis.registry.models import Person
from immunis.registry.names import fold, name_key
from immunis.settings import get_settings
from tests.world import World, build_world

BABY = {
    "family_name": "Phạm",
    "given_name": "Gia Bảo",
    "birth_date": "2025-03-04",
    "sex": "male",
    "phone": "0912000333",
    "address": {"province_code": "01", "district_code": "001", "commune_code": "00001"},
}


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def register(world: World, who: str = "vaccinator", **changes: Any) -> Any:
    response = world.client.post(
        "/api/persons", json={**BABY, **changes}, headers=world.headers(who)
    )
    assert response.status_code == 201, response.text
    return response


def test_entering_a_likely_duplicate_names_it_without_refusing(world: World) -> None:
    first = register(world)
    assert "X-Possible-Duplicates" not in first.headers
    second = register(world, family_name="Pham", given_name="Gia Bao", phone=None)
    assert second.headers["X-Possible-Duplicates"] == first.json()["id"]
    # The new record is not a duplicate of itself, and strangers are not named.
    third = register(world, family_name="Đỗ", given_name="Thu Hà", sex="female", phone=None)
    assert "X-Possible-Duplicates" not in third.headers


def test_match_returns_scores_and_reasons_best_first(world: World) -> None:
    exact = register(world).json()
    swapped = register(world, birth_date="2025-04-03", phone=None).json()
    response = world.client.post(
        "/api/persons/match",
        json={**BABY, "family_name": "PHAM", "given_name": "gia bao"},
        headers=world.headers("province_officer"),
    )
    assert response.status_code == 200, response.text
    matches = response.json()
    assert [m["person"]["id"] for m in matches] == [exact["id"], swapped["id"]]
    assert matches[0]["score"] == 1.0
    assert matches[1]["reasons"] == [
        "same name",
        "birth day and month swapped",
        "same commune",
        "same sex",
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"family_name": "Gia Bảo", "given_name": "Phạm", "phone": None},  # word order
        {"given_name": "Bảo", "address": None},  # middle name missing, found by phone
        {"birth_date": "2025-03-05", "phone": None, "address": None},  # a day apart
        {"birth_date": "2025-03-25", "phone": None},  # name and year
        {"phone": None, "address": None, "identifiers": [{"system": "urn:bhyt", "value": "B1"}]},
    ],
)
def test_match_finds_candidates_through_each_blocking_key(
    world: World, changes: dict[str, Any]
) -> None:
    stored = register(world, identifiers=[{"system": "urn:bhyt", "value": "B1"}]).json()
    response = world.client.post(
        "/api/persons/match", json={**BABY, **changes}, headers=world.headers("national_officer")
    )
    assert [m["person"]["id"] for m in response.json()] == [stored["id"]]


def test_match_shows_only_people_the_actor_may_see(world: World) -> None:
    register(world)
    for who in ("vaccinator_hcm", "province_officer_hcm"):
        response = world.client.post("/api/persons/match", json=BABY, headers=world.headers(who))
        assert response.status_code == 200
        assert response.json() == []
    refused = world.client.post("/api/persons/match", json=BABY, headers=world.headers("lab"))
    assert refused.status_code == 403


# --- The bulk scan -------------------------------------------------------------------------------

FAMILIES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi"]
MIDDLES = {"male": ["Văn", "Minh", "Đức", "Quốc", "Gia"], "female": ["Thị", "Ngọc", "Thu", "Mai"]}
GIVENS = {
    "male": ["An", "Bình", "Cường", "Dũng", "Hùng", "Khoa", "Long", "Nam", "Phúc", "Quân", "Sơn"],
    "female": ["Anh", "Chi", "Giang", "Hà", "Hạnh", "Lan", "Linh", "Mai", "Ngọc", "Thảo", "Vy"],
}
COMMUNES = {"01": ["00001", "00004", "00007", "00301"], "79": ["26734", "26737"]}


@dataclass
class Population:
    people: list[Person] = field(default_factory=list)
    likely: set[frozenset[int]] = field(default_factory=set)  # planted pairs, by list position
    possible: set[frozenset[int]] = field(default_factory=set)
    near_misses: set[frozenset[int]] = field(default_factory=set)

    def add(self, **fields: Any) -> int:
        fields["name_key"] = name_key(fields["family_name"], fields["given_name"])
        self.people.append(Person(**fields))
        return len(self.people) - 1

    def twin(self, index: int, kind: set[frozenset[int]], **changes: Any) -> None:
        base = self.people[index]
        fields = {
            c: getattr(base, c)
            for c in (
                "family_name",
                "given_name",
                "birth_date",
                "sex",
                "phone",
                "province_code",
                "district_code",
                "commune_code",
            )
        }
        kind.add(frozenset({index, self.add(**{**fields, **changes})}))

    def pairs(self, kind: set[frozenset[int]]) -> set[frozenset[str]]:
        return {frozenset(self.people[i].id for i in pair) for pair in kind}


def western_order(person: Person) -> dict[str, str]:
    """The name written given name first, in the family name field: "An", "Nguyễn Văn"."""
    middle, own = person.given_name.split()
    return {"family_name": own, "given_name": f"{person.family_name} {middle}"}


def other_given(person: Person) -> str:
    """The person's given names with the last one replaced by a name far from it."""
    middle, own = person.given_name.split()
    other = next(g for g in GIVENS[person.sex] if word_similarity(fold(g), fold(own)) < 0.5)
    return f"{middle} {other}"


def generate(seed: int = 7, count: int = 300) -> Population:
    """`count` people with nobody recorded twice, then planted duplicates and near misses."""
    rng = random.Random(seed)
    population = Population()
    for number in range(count):
        sex = rng.choice(["male", "female"])
        province = "01" if number % 4 else "79"
        population.add(
            family_name=rng.choice(FAMILIES),
            given_name=f"{rng.choice(MIDDLES[sex])} {rng.choice(GIVENS[sex])}",
            birth_date=date(2015, 1, 1) + timedelta(days=rng.randrange(10 * 365)),
            sex=sex,
            phone=f"09{number:08d}",
            province_code=province,
            district_code="001" if province == "01" else "760",
            commune_code=rng.choice(COMMUNES[province]),
        )
    likely, possible, misses = population.likely, population.possible, population.near_misses
    # Twelve people at a time, each copied once: the copies of one person are all duplicates of
    # each other, so more than one copy would plant pairs this list does not name.
    for first in range(0, 120, 12):
        base = population.people[first : first + 12]
        twin = population.twin
        year = 2010 + first // 12
        twin(
            first,
            likely,
            family_name=fold(base[0].family_name),
            given_name=fold(base[0].given_name),
        )
        twin(first + 1, likely, birth_date=base[1].birth_date + timedelta(days=1))
        twin(first + 2, likely, **western_order(base[2]))
        twin(first + 3, likely, given_name=base[3].given_name.split()[-1].upper())
        # Names whose keys differ, and no phone: only the birth date pass finds these (the same
        # day, the day and month swapped, the next day).
        twin(
            first + 4,
            possible,
            **western_order(base[4]),
            phone=None,
            commune_code=None,
            sex="unknown",
        )
        base[5].birth_date = date(year, 3, 11)
        twin(
            first + 5, possible, **western_order(base[5]), birth_date=date(year, 11, 3), phone=None
        )
        next_day = base[9].birth_date + timedelta(days=1)
        twin(first + 9, possible, **western_order(base[9]), birth_date=next_day, phone=None)
        # Only the phone pass finds this one: born the same month, but not near the same day.
        base[10].birth_date = date(year, 6, 5)
        twin(first + 10, possible, **western_order(base[10]), birth_date=date(year, 6, 20))
        twin(first + 6, misses, given_name=other_given(base[6]))
        twin(first + 7, misses, birth_date=base[7].birth_date - timedelta(days=3 * 365))
        base[8].national_id = f"00121500{first:04d}"
        twin(first + 8, misses, national_id=f"00121501{first:04d}")
        # An older sibling: the same family name, phone and commune.
        older = base[11].birth_date - timedelta(days=700)
        twin(first + 11, misses, given_name=other_given(base[11]), birth_date=older)
    return population


def store(world: World, population: Population) -> None:
    with world.sessions() as session, session.begin():
        session.add_all(population.people)


def found(pairs: Iterator[Any]) -> set[frozenset[str]]:
    return {frozenset({p.first_id, p.second_id}) for p in pairs}


def test_the_scan_finds_the_planted_duplicates_and_nothing_else(world: World) -> None:
    population = generate()
    store(world, population)
    actor = system_actor("tests")
    with world.sessions() as session:
        likely = found(scan_duplicates(session, actor, min_score=0.9, batch_size=37))
        possible = found(scan_duplicates(session, actor, min_score=0.7, batch_size=37))
    assert likely == population.pairs(population.likely)
    assert possible == likely | population.pairs(population.possible)
    assert not possible & population.pairs(population.near_misses)


def test_the_scan_keeps_to_the_province_and_to_the_actors_reach(world: World) -> None:
    population = generate()
    store(world, population)
    in_hanoi = {
        pair
        for pair in population.pairs(population.likely)
        if all(p.province_code == "01" for p in population.people if p.id in pair)
    }
    assert 0 < len(in_hanoi) < len(population.likely)
    officer = Actor(user_id="o", username="o", role=Role.PROVINCE_OFFICER, area_code="01")
    with world.sessions() as session:
        by_province = scan_duplicates(session, system_actor("tests"), province_code="01")
        assert {p for p in found(by_province) if p in population.pairs(population.likely)} == (
            in_hanoi
        )
        by_reach = found(scan_duplicates(session, officer, min_score=0.9))
        assert by_reach == in_hanoi


def test_the_scan_command_writes_the_pairs_as_csv(
    world: World, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    population = generate()
    store(world, population)
    monkeypatch.setenv("IMMUNIS_DATABASE_URL", database_url)
    get_settings.cache_clear()
    out = tmp_path / "pairs.csv"
    try:
        result = CliRunner().invoke(
            app, ["dedup", "scan", "--province", "01", "--min-score", "0.9", "--out", str(out)]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    pairs = {frozenset({r["first_id"], r["second_id"]}) for r in rows}
    hanoi = {p.id for p in population.people if p.province_code == "01"}
    assert pairs == {p for p in population.pairs(population.likely) if p <= hanoi}
    assert {r["likelihood"] for r in rows} == {"likely"}
    assert "likely" in result.output
    with world.sessions() as session:
        scans = session.scalars(select(AuditEvent).where(AuditEvent.action == "scan")).all()
    assert [(e.user_id, e.channel) for e in scans] == [(system_actor(getuser()).user_id, "cli")]


def test_the_progress_total_counts_every_row_the_scan_reads(world: World) -> None:
    population = generate(count=120)
    store(world, population)
    actor = system_actor("tests")
    read: list[int] = []
    with world.sessions() as session:
        list(scan_duplicates(session, actor, batch_size=50, progress=read.append))
        assert sum(read) == count_scan_rows(session, actor)
