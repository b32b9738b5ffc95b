"""Loading the synthetic population into the registry's tables."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from immunis.db import make_engine
from immunis.registry.models import Immunization, Person, Site
from immunis.synth.population import Population
from immunis.synth.service import load_chunk, load_sites


def test_a_loaded_population_is_in_the_registry_tables(database_url: str) -> None:
    population = Population(1_000, 4, date(2026, 11, 1))
    engine = make_engine(database_url)
    load_sites(engine, population.geography.sites)
    persons = immunizations = 0
    for chunk in population.chunks(500):
        load_chunk(engine, chunk)
        persons += chunk.persons.num_rows
        immunizations += chunk.immunizations.num_rows
        first = chunk.persons.to_pylist()[0]
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Person)) == persons
        assert connection.scalar(select(func.count()).select_from(Immunization)) == immunizations
        assert (
            connection.scalar(select(func.count()).select_from(Site))
            == population.geography.sites.num_rows
        )
        stored = connection.execute(select(Person).where(Person.id == first["person_id"])).one()
    engine.dispose()
    assert stored.family_name == first["family_name"]
    assert stored.given_name == f"{first['middle_name']} {first['given_name']}"
    assert stored.birth_date == first["birth_date"]
    assert stored.managing_site_id == first["managing_site_id"]
