"""One block of synthetic people: where they live, when they were born, their sex, names and phone.

Everything is drawn in arrays, one column per attribute, from the block's own random generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from immunis.synth import sources
from immunis.synth.areas import Geography
from immunis.synth.names import YOUNGER_FROM_YEAR, Names

DAYS_PER_YEAR = 365.25
AGE_GROUP_YEARS = 5
OLDEST_AGE = 100


@dataclass
class People:
    """A block's people as columns (numpy arrays of equal length); dates are days since 1970."""

    person_id: np.ndarray
    commune: np.ndarray
    province: np.ndarray
    birth_day: np.ndarray
    male: np.ndarray
    family_name: np.ndarray
    middle_name: np.ndarray
    given_name: np.ndarray
    phone: np.ndarray
    private_centre: np.ndarray  # the private centre the family would use, if any
    duplicate_of: np.ndarray

    def __len__(self) -> int:
        return len(self.person_id)

    def take(self, rows: np.ndarray) -> People:
        """The people at `rows`, in that order."""
        return People(**{name: column[rows] for name, column in vars(self).items()})


def uuids(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` random version-4 UUIDs as text, drawn from `rng` (so reproducible)."""
    raw = rng.integers(0, 256, size=(count, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    text = raw.tobytes().hex()
    return np.array(
        [
            f"{text[i : i + 8]}-{text[i + 8 : i + 12]}-{text[i + 12 : i + 16]}-"
            f"{text[i + 16 : i + 20]}-{text[i + 20 : i + 32]}"
            for i in range(0, 32 * count, 32)
        ],
        dtype=object,
    )


def age_distribution() -> np.ndarray:
    """Cumulative shares of the five-year age groups, one row per province: the youngest group is
    weighted by the province's birth rate."""
    pyramid = np.array(sources.population()["age_pyramid"], dtype=float)
    provinces = sources.provinces()
    rates = np.array([p.birth_rate for p in provinces])
    national = np.average(rates, weights=[p.population for p in provinces])
    rows = np.tile(pyramid, (len(provinces), 1))
    rows[:, 0] *= rates / national
    cumulative = np.cumsum(rows, axis=1)
    return cumulative / cumulative[:, -1:]


def draw_people(
    rng: np.random.Generator,
    geography: Geography,
    names: Names,
    ages: np.ndarray,
    as_of_day: int,
    count: int,
) -> People:
    """`count` people in communes drawn by population, of their province's ages and sexes."""
    settings = sources.population()
    commune = np.searchsorted(geography.commune_cumulative_share, rng.random(count), side="right")
    commune = np.minimum(commune, len(geography.commune_codes) - 1)
    province = geography.commune_province[commune]

    group = (rng.random(count)[:, None] > ages[province]).sum(axis=1)
    group_start = group * AGE_GROUP_YEARS
    last = ages.shape[1] - 1
    width = np.where(group == last, OLDEST_AGE - last * AGE_GROUP_YEARS, AGE_GROUP_YEARS)
    age_days = np.floor((group_start + rng.random(count) * width) * DAYS_PER_YEAR).astype(np.int64)
    birth_day = as_of_day - age_days
    age_years = age_days / DAYS_PER_YEAR

    bands = sorted(settings["male_share"].items())
    male_share = np.select(
        [age_years >= start for start, _ in reversed(bands)],
        [share for _, share in reversed(bands)],
    )
    male = rng.random(count) < male_share

    southern = np.array([p.southern_names for p in sources.provinces()])[province].astype(int)
    family = names.family.draw(rng, southern)
    birth_year = (birth_day.astype("datetime64[D]").astype("datetime64[Y]").astype(int)) + 1970
    younger = (birth_year >= YOUNGER_FROM_YEAR).astype(int)
    middle = np.where(
        male, names.middle_male.draw(rng, younger), names.middle_female.draw(rng, younger)
    )
    zeros = np.zeros(count, dtype=int)
    given = np.where(male, names.given_male.draw(rng, zeros), names.given_female.draw(rng, zeros))

    prefixes = np.array(settings["phone_prefixes"], dtype=object)
    prefix = prefixes[rng.integers(0, len(prefixes), count)]
    subscriber = rng.integers(0, 10_000_000, count)
    adult = age_years >= settings["adult_from_age"]
    has_phone = rng.random(count) < np.where(
        adult, settings["adult_phone"], settings["guardian_phone"]
    )
    phone = np.array(
        [
            f"{p}{s:07d}" if keep else None
            for p, s, keep in zip(prefix, subscriber, has_phone, strict=True)
        ],
        dtype=object,
    )
    centre = geography.private_first[province] + (
        rng.random(count) * geography.private_count[province]
    ).astype(np.int64)
    return People(
        person_id=uuids(rng, count),
        commune=commune,
        province=province,
        birth_day=birth_day,
        male=male,
        family_name=family,
        middle_name=middle,
        given_name=given,
        phone=phone,
        private_centre=centre,
        duplicate_of=np.full(count, None, dtype=object),
    )
