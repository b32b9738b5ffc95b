"""Is this the same person recorded twice? Scoring two person records: pure, plain data in and out.

A national ID settles the question: the same one on both records is the same person (score 1.0),
two different ones are two people (score 0.0). Otherwise the evidence adds up, and the sum is
clamped to 0..1:

======================================  ========  ==========================================
evidence                                points    constant
======================================  ========  ==========================================
a shared identifier (same system+value) +0.60     ``SHARED_IDENTIFIER``
the names, similarity s in 0..1         ±0.45     ``NAME_WEIGHT`` * (2s - 1)
the given names differ (even a typo)    -0.15     ``GIVEN_NAME_DIFFERS``
birth date: the same                    +0.30     ``BIRTH_DATE_SAME``
birth date: day and month swapped       +0.22     ``BIRTH_DATE_TRANSPOSED``
birth date: one day apart               +0.22     ``BIRTH_DATE_ONE_DAY_APART``
birth date: same year and month         +0.10     ``BIRTH_DATE_SAME_MONTH``
birth date: different years             -0.20     ``BIRTH_DATE_OTHER_YEAR``
the same phone                          +0.15     ``SAME_PHONE``
the same commune                        +0.10     ``SAME_COMMUNE``
the same sex (both known)               +0.05     ``SAME_SEX``
different sexes (both known)            -0.30     ``DIFFERENT_SEX``
======================================  ========  ==========================================

Names count for or against: a name more than half similar adds up to ``NAME_WEIGHT``, one less
than half similar takes away as much. A score of at least ``LIKELY`` (0.9) is a likely duplicate,
worth merging after a look; at least ``POSSIBLE`` (0.7) is a possible one, for a person to judge.
The same name and birth date alone make 0.75 (possible: the country has many Nguyễn Văn An born
on the same day); with the same phone, or the same sex and commune, they make a likely duplicate.

Names are compared word by word after folding (no diacritics, lower case; "Mỹ" and "Mĩ" are one
spelling), so diacritics do not matter, and the same words in another order count
``OTHER_WORD_ORDER``. Otherwise each word of one name is paired with its most similar word in the
other (optimal string alignment: one typing error, a swapped pair of letters included, costs one
edit). The given name (the last word of ``given_name``) weighs ``GIVEN_NAME_SHARE`` of the name's
similarity, the family and middle names the rest, and a word with no partner (a middle name
missing) costs ``MISSING_WORD``. The given name is what tells siblings apart, twins above all,
who share a family name, a birth date, a phone and a commune: records whose given names differ at
all, even by one letter, score below ``LIKELY`` whatever else agrees, unless they share an
identifier (at most 0.45 for the name, 0.60 for birth date, phone, commune and sex, and
``GIVEN_NAME_DIFFERS``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

from rapidfuzz.distance import OSA

from immunis.registry.names import fold

LIKELY = 0.9
POSSIBLE = 0.7

SHARED_IDENTIFIER = 0.60
NAME_WEIGHT = 0.45
GIVEN_NAME_DIFFERS = -0.15
BIRTH_DATE_SAME = 0.30
BIRTH_DATE_TRANSPOSED = 0.22
BIRTH_DATE_ONE_DAY_APART = 0.22
BIRTH_DATE_SAME_MONTH = 0.10
BIRTH_DATE_OTHER_YEAR = -0.20
SAME_PHONE = 0.15
SAME_COMMUNE = 0.10
SAME_SEX = 0.05
DIFFERENT_SEX = -0.30

GIVEN_NAME_SHARE = 0.7
MISSING_WORD = 0.1
# Same words in another order ("An Nguyễn Văn"): almost surely the same name, written the
# Western way round or with the fields swapped.
OTHER_WORD_ORDER = 0.95

KNOWN_SEXES = frozenset({"female", "male", "other"})
ONE_DAY = timedelta(days=1)

Likelihood = Literal["likely", "possible"]


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """What the scoring looks at in a person's record."""

    family_name: str
    given_name: str
    birth_date: date
    sex: str = "unknown"
    national_id: str | None = None
    phone: str | None = None
    commune_code: str | None = None
    identifiers: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True, slots=True)
class Score:
    """How alike two records are (0..1) and the evidence, in words."""

    value: float
    reasons: tuple[str, ...]

    @property
    def likelihood(self) -> Likelihood | None:
        return likelihood(self.value)


def likelihood(score: float) -> Likelihood | None:
    """``"likely"`` at ``LIKELY`` or above, ``"possible"`` at ``POSSIBLE`` or above, else None."""
    if score >= LIKELY:
        return "likely"
    if score >= POSSIBLE:
        return "possible"
    return None


# A single consonant then "y" is also written with "i": Mỹ/Mĩ, Kỳ/Kì, Lý/Lí, Vy/Vi.
_I_OR_Y = re.compile(r"^([bdhklmnstv])y$")


def spelling(word: str) -> str:
    """One folded word in the spelling used for comparing (i for y after a single consonant)."""
    return _I_OR_Y.sub(r"\1i", word)


@lru_cache(maxsize=65536)
def name_words(family_name: str, given_name: str) -> tuple[tuple[str, ...], str]:
    """The full name's words, family name first, and the given name (the last word of
    ``given_name``), folded and spelled for comparing."""
    family = [spelling(w) for w in fold(family_name).split()]
    given = [spelling(w) for w in fold(given_name).split()]
    words = tuple(family + given)
    return words, (given[-1] if given else "")


def word_similarity(a: str, b: str) -> float:
    """1.0 for the same word, less by one edit (a swapped pair counts once) per letter."""
    return 1.0 if a == b else OSA.normalized_similarity(a, b)


def _align(a: tuple[str, ...], b: tuple[str, ...]) -> dict[tuple[int, int], float]:
    """Pair each word of the shorter name with a word of the other: most similar pairs first;
    among equals, the two given names (the last words), then the pair nearest in position.
    Greedy, so a long name costs little."""
    last_a, last_b = len(a) - 1, len(b) - 1
    candidates = sorted(
        ((word_similarity(x, y), i, j) for i, x in enumerate(a) for j, y in enumerate(b)),
        key=lambda c: (-c[0], (c[1], c[2]) != (last_a, last_b), abs(c[1] - c[2]), c[1], c[2]),
    )
    pairs: dict[tuple[int, int], float] = {}
    used_a: set[int] = set()
    used_b: set[int] = set()
    for similarity, i, j in candidates:
        if i not in used_a and j not in used_b:
            pairs[(i, j)] = similarity
            used_a.add(i)
            used_b.add(j)
    return pairs


def name_similarity(a: PersonRecord, b: PersonRecord) -> tuple[float, bool, str]:
    """How alike two names are (0..1), whether the given names are the same, and why."""
    words_a, _ = name_words(a.family_name, a.given_name)
    words_b, _ = name_words(b.family_name, b.given_name)
    if words_a == words_b:
        return 1.0, True, "same name"
    if sorted(words_a) == sorted(words_b):
        return OTHER_WORD_ORDER, True, "same name, words in another order"
    pairs = _align(words_a, words_b)
    # Each given name is the last word of its record; its partner may sit anywhere in the other.
    last_a, last_b = len(words_a) - 1, len(words_b) - 1
    given = min(
        next((s for (i, _), s in pairs.items() if i == last_a), 0.0),
        next((s for (_, j), s in pairs.items() if j == last_b), 0.0),
    )
    others = [s for (i, j), s in pairs.items() if i != last_a and j != last_b]
    rest = sum(others) / len(others) if others else 1.0
    missing = abs(len(words_a) - len(words_b))
    similarity = GIVEN_NAME_SHARE * given + (1 - GIVEN_NAME_SHARE) * rest - MISSING_WORD * missing
    similarity = min(1.0, max(0.0, similarity))
    same_given = given == 1.0
    if same_given and rest == 1.0:
        why = "same name, a middle name missing in one record"
    elif same_given:
        why = f"similar name ({similarity:.2f})"
    else:
        why = "different given names"
    return similarity, same_given, why


def birth_date_agreement(a: date, b: date) -> tuple[float, str | None]:
    """Points for how the birth dates agree, and why (None when there is nothing to say)."""
    if a == b:
        return BIRTH_DATE_SAME, "same birth date"
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return BIRTH_DATE_TRANSPOSED, "birth day and month swapped"
    if abs((a - b).days) == 1:
        return BIRTH_DATE_ONE_DAY_APART, "birth dates one day apart"
    if (a.year, a.month) == (b.year, b.month):
        return BIRTH_DATE_SAME_MONTH, "born in the same month"
    if a.year != b.year:
        return BIRTH_DATE_OTHER_YEAR, "born in different years"
    return 0.0, None


def score(a: PersonRecord, b: PersonRecord) -> Score:
    """How likely `a` and `b` are one person, with the evidence (see the table above)."""
    if a.national_id and b.national_id:
        if a.national_id == b.national_id:
            return Score(1.0, ("same national ID",))
        return Score(0.0, ("different national IDs",))
    points = 0.0
    reasons: list[str] = []
    shared = sorted({system for system, _ in a.identifiers & b.identifiers})
    if shared:
        points += SHARED_IDENTIFIER
        reasons.append(f"same identifier ({', '.join(shared)})")
    name, same_given, why = name_similarity(a, b)
    points += NAME_WEIGHT * (2 * name - 1) + (0.0 if same_given else GIVEN_NAME_DIFFERS)
    reasons.append(why)
    date_points, date_why = birth_date_agreement(a.birth_date, b.birth_date)
    points += date_points
    if date_why:
        reasons.append(date_why)
    if a.phone and a.phone == b.phone:
        points += SAME_PHONE
        reasons.append("same phone")
    if a.commune_code and a.commune_code == b.commune_code:
        points += SAME_COMMUNE
        reasons.append("same commune")
    if a.sex in KNOWN_SEXES and b.sex in KNOWN_SEXES:
        points += SAME_SEX if a.sex == b.sex else DIFFERENT_SEX
        reasons.append("same sex" if a.sex == b.sex else "different sex")
    return Score(round(min(1.0, max(0.0, points)), 3), tuple(reasons))


def transposed(birth_date: date) -> date | None:
    """The date with day and month swapped, when that is another date."""
    if birth_date.day > 12 or birth_date.day == birth_date.month:
        return None
    # The new day is a month number, 1 to 12: every month has that day.
    return birth_date.replace(month=birth_date.day, day=birth_date.month)


def near_birth_dates(birth_date: date) -> frozenset[date]:
    """Where a duplicate's birth date could be: the same day, a day either side, day and month
    swapped."""
    near = {birth_date, birth_date + ONE_DAY, birth_date - ONE_DAY}
    swapped = transposed(birth_date)
    return frozenset(near | ({swapped} if swapped else set()))


def blocking_keys(record: PersonRecord) -> frozenset[str]:
    """The keys under which records born close together are compared in a bulk scan: the given
    name, the name's words in any order, the phone, the commune. Two records are compared when
    they share one; each key is a small group of a day's births."""
    words, given = name_words(record.family_name, record.given_name)
    keys = {f"given:{given}", f"words:{' '.join(sorted(words))}"}
    if record.phone:
        keys.add(f"phone:{record.phone}")
    if record.commune_code:
        keys.add(f"commune:{record.commune_code}")
    return frozenset(keys)
