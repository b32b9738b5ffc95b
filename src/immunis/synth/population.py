"""The synthetic population, block by block: people, their duplicates, identifiers and doses.

People are generated in blocks of BLOCK, each from its own random generator seeded by (seed,
block number), so the population does not depend on how it is chunked, and the first N people of
a larger population are the population of N. Chunks are whole blocks turned into Arrow tables.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from immunis.schedule.catalog import load_schedule
from immunis.synth import sources
from immunis.synth.areas import Geography, build_geography
from immunis.synth.histories import Doses, PlannedDose, day_number, draw_doses, plan_doses
from immunis.synth.names import Names, change_tone, load_names, without_diacritics
from immunis.synth.people import DAYS_PER_YEAR, People, age_distribution, draw_people, uuids

BLOCK = 500
SCHEDULE_ID = "vn"

PERSONS_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("family_name", pa.string()),
        ("middle_name", pa.string()),
        ("given_name", pa.string()),
        ("sex", pa.string()),
        ("birth_date", pa.date32()),
        ("national_id", pa.string()),
        ("phone", pa.string()),
        ("province_code", pa.string()),
        ("district_code", pa.string()),
        ("commune_code", pa.string()),
        ("managing_site_id", pa.string()),
        # Ground truth for deduplication: the person this record duplicates, else null.
        ("duplicate_of", pa.string()),
    ]
)
IMMUNIZATIONS_SCHEMA = pa.schema(
    [
        ("immunization_id", pa.string()),
        ("person_id", pa.string()),
        ("date_administered", pa.date32()),
        ("cvx", pa.string()),
        ("product_name", pa.string()),
        ("site_id", pa.string()),
    ]
)


@dataclass(frozen=True)
class Chunk:
    persons: pa.Table
    immunizations: pa.Table


class NationalIds:
    """Citizen card numbers: province, sex and century, year of birth, and a six-digit number that
    is unique per (province, sex and century, year) because it is a scrambled running count."""

    # A multiplier coprime with 10**6 makes counter -> number a permutation of 0..999999.
    SCRAMBLE = 741_457

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.issued: dict[tuple[str, int, int], int] = {}

    def issue(self, province_code: str, male: bool, birth_year: int) -> str:
        century_digit = (birth_year // 100 - 19) * 2 + (0 if male else 1)
        key = (province_code, century_digit, birth_year % 100)
        count = self.issued.get(key, 0)
        self.issued[key] = count + 1
        offset = zlib.crc32(f"{self.seed}/{key}".encode())
        number = (count * self.SCRAMBLE + offset) % 1_000_000
        return f"0{province_code}{century_digit}{birth_year % 100:02d}{number:06d}"


class Population:
    """A seeded synthetic population of `persons` people as of `as_of`, read in chunks."""

    def __init__(self, persons: int, seed: int, as_of: date) -> None:
        self.persons = persons
        self.seed = seed
        self.as_of = as_of
        self.geography: Geography = build_geography(seed)
        self.names: Names = load_names()
        self.plan: list[PlannedDose] = plan_doses(load_schedule(SCHEDULE_ID))
        self.ages = age_distribution()
        self.provinces = sources.provinces()
        self.settings = sources.population()

    @property
    def blocks(self) -> int:
        return -(-self.persons // BLOCK)

    def chunks(self, chunk_size: int) -> Iterator[Chunk]:
        """The population in chunks of `chunk_size` people (a multiple of BLOCK), in order."""
        if chunk_size % BLOCK:
            raise ValueError(f"the chunk size must be a multiple of {BLOCK}")
        national_ids = NationalIds(self.seed)
        per_chunk = chunk_size // BLOCK
        for first in range(0, self.blocks, per_chunk):
            parts = [
                self.block(number, national_ids)
                for number in range(first, min(first + per_chunk, self.blocks))
            ]
            yield Chunk(
                pa.concat_tables([part.persons for part in parts]),
                pa.concat_tables([part.immunizations for part in parts]),
            )

    def block(self, number: int, national_ids: NationalIds) -> Chunk:
        """Block `number`: its people (then their duplicate records) and their recorded doses."""
        rng = np.random.default_rng([self.seed, 1, number])
        as_of_day = day_number(self.as_of)
        people = draw_people(rng, self.geography, self.names, self.ages, as_of_day, BLOCK)
        doses = draw_doses(rng, people, self.plan, self.geography, as_of_day)
        dose_ids = uuids(rng, len(doses.person))
        people, doses, dose_ids, originals = self._duplicate(rng, people, doses, dose_ids)
        # Only the last block is cut short; everything above was drawn for a whole block.
        kept = min(BLOCK, self.persons - number * BLOCK)
        original = np.concatenate([np.arange(BLOCK), originals])
        rows = np.flatnonzero(original < kept)
        renumber = np.full(len(people), -1)
        renumber[rows] = np.arange(len(rows))
        people = people.take(rows)
        keep_doses = np.flatnonzero(original[doses.person] < kept)
        doses, dose_ids = doses.take(keep_doses), dose_ids[keep_doses]
        doses.person = renumber[doses.person]
        return Chunk(
            self._persons_table(people, national_ids, as_of_day),
            self._immunizations_table(people, doses, dose_ids),
        )

    def _duplicate(
        self,
        rng: np.random.Generator,
        people: People,
        doses: Doses,
        dose_ids: np.ndarray,
    ) -> tuple[People, Doses, np.ndarray, np.ndarray]:
        """Register some children a second time under a variant of their name; the duplicate
        takes the birth-facility doses and a share of the others. Also returns, for each
        duplicate, the row of its original."""
        settings = self.settings
        count = len(people)
        registered = people.birth_day >= day_number(sources.programme().records_from)
        chosen = np.flatnonzero(registered & (rng.random(count) < settings["duplicate_rate"]))
        copies = people.take(chosen)
        copies.person_id = uuids(rng, len(chosen))
        copies.duplicate_of = people.person_id[chosen]
        kind_draws, tone_draws = rng.random(len(chosen)), rng.random(len(chosen))
        # Written a few days early, never late: a dose dated before birth would be refused.
        shifted = rng.random(len(chosen)) < settings["birth_date_error"]
        copies.birth_day = copies.birth_day - shifted * rng.integers(1, 4, len(chosen))
        moves = rng.random(len(doses.person)) < settings["duplicate_keeps_dose"]
        variants = list(settings["name_variants"].items())
        bounds = np.cumsum([share for _, share in variants])
        for row in range(len(chosen)):
            kind = variants[int(np.searchsorted(bounds / bounds[-1], kind_draws[row]))][0]
            written = (copies.family_name[row], copies.middle_name[row], copies.given_name[row])
            if kind == "no_diacritics":
                copies.family_name[row] = without_diacritics(copies.family_name[row])
                copies.middle_name[row] = without_diacritics(copies.middle_name[row])
                copies.given_name[row] = without_diacritics(copies.given_name[row])
            elif kind == "no_middle_name":
                copies.middle_name[row] = None
            # A name already without diacritics gets the typo instead, so the variant differs.
            if kind == "given_name_tone" or written == (
                copies.family_name[row],
                copies.middle_name[row],
                copies.given_name[row],
            ):
                copies.given_name[row] = change_tone(copies.given_name[row], tone_draws[row])

        # Doses of a duplicated child: birth-facility ones move to the copy, others sometimes.
        copy_of = np.full(count, -1)
        copy_of[chosen] = count + np.arange(len(chosen))
        at_birth = np.array([dose.site == "birth" for dose in self.plan])[doses.planned]
        move = (copy_of[doses.person] >= 0) & (at_birth | moves)
        doses.person = np.where(move, copy_of[doses.person], doses.person)
        order = np.lexsort((doses.planned, doses.day, doses.person))
        merged = People(
            **{
                name: np.concatenate([getattr(people, name), getattr(copies, name)])
                for name in vars(people)
            }
        )
        return merged, doses.take(order), dose_ids[order], chosen

    def _persons_table(self, people: People, national_ids: NationalIds, as_of_day: int) -> pa.Table:
        geography = self.geography
        codes = np.array([p.code for p in self.provinces], dtype=object)[people.province]
        birth = people.birth_day.astype("datetime64[D]")
        years = birth.astype("datetime64[Y]").astype(int) + 1970
        age_years = (as_of_day - people.birth_day) / DAYS_PER_YEAR
        old_enough = age_years >= self.settings["national_id_from_age"]
        national_id = [
            national_ids.issue(code, bool(male), int(year)) if grown else None
            for code, male, year, grown in zip(codes, people.male, years, old_enough, strict=True)
        ]
        return pa.table(
            {
                "person_id": people.person_id,
                "family_name": people.family_name,
                "middle_name": people.middle_name,
                "given_name": people.given_name,
                "sex": np.where(people.male, "male", "female"),
                "birth_date": birth,
                "national_id": national_id,
                "phone": people.phone,
                "province_code": codes,
                "district_code": geography.district_codes[
                    geography.commune_district[people.commune]
                ],
                "commune_code": geography.commune_codes[people.commune],
                "managing_site_id": geography.station_ids[people.commune],
                "duplicate_of": people.duplicate_of,
            },
            schema=PERSONS_SCHEMA,
        )

    def _immunizations_table(self, people: People, doses: Doses, dose_ids: np.ndarray) -> pa.Table:
        return pa.table(
            {
                "immunization_id": dose_ids,
                "person_id": people.person_id[doses.person],
                "date_administered": doses.day.astype("datetime64[D]"),
                "cvx": np.array([dose.cvx for dose in self.plan], dtype=object)[doses.planned],
                "product_name": np.array([dose.product for dose in self.plan], dtype=object)[
                    doses.planned
                ],
                "site_id": doses.site_id,
            },
            schema=IMMUNIZATIONS_SCHEMA,
        )
