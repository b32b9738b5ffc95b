"""Vietnamese names: drawn by their weights, and the variants a duplicate record is written with."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from immunis.registry.names import fold
from immunis.synth import sources

# Born before this year, middle names follow the `older` weights (Văn, Thị), else `younger`.
YOUNGER_FROM_YEAR = 1990
# Tone marks (combining characters) a variant may swap, e.g. Ánh -> Ảnh.
TONES = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")


@dataclass(frozen=True)
class NameTable:
    """One list of names and the cumulative weights to draw from it (one row per variant of the
    weights: north/south for family names, older/younger for middle names)."""

    names: np.ndarray
    cumulative: np.ndarray  # shape (weight sets, names)

    @classmethod
    def of(cls, weights: dict[str, list[float] | float]) -> NameTable:
        matrix = np.array([np.atleast_1d(value) for value in weights.values()], dtype=float).T
        cumulative = np.cumsum(matrix, axis=1)
        return cls(np.array(list(weights), dtype=object), cumulative / cumulative[:, -1:])

    def draw(self, rng: np.random.Generator, weight_set: np.ndarray) -> np.ndarray:
        """One name per entry of `weight_set` (which row of weights each person uses)."""
        draws = rng.random(len(weight_set))
        picks = np.empty(len(weight_set), dtype=np.int64)
        for row in range(self.cumulative.shape[0]):
            chosen = weight_set == row
            picks[chosen] = np.searchsorted(self.cumulative[row], draws[chosen], side="right")
        return self.names[np.minimum(picks, len(self.names) - 1)]


@dataclass(frozen=True)
class Names:
    family: NameTable
    middle_male: NameTable
    middle_female: NameTable
    given_male: NameTable
    given_female: NameTable


def load_names() -> Names:
    data = sources.names()
    return Names(
        family=NameTable.of(data["family"]),
        middle_male=NameTable.of(data["middle"]["male"]),
        middle_female=NameTable.of(data["middle"]["female"]),
        given_male=NameTable.of(data["given"]["male"]),
        given_female=NameTable.of(data["given"]["female"]),
    )


def change_tone(name: str, pick: float) -> str:
    """The name with its tone mark changed, dropped, or added where it had none
    (``Ánh`` -> ``Ảnh``, ``Hiếu`` -> ``Hiểu``, ``Anh`` -> ``Ãnh``); `pick` in [0, 1) chooses."""
    letters = list(unicodedata.normalize("NFD", name))
    current = next((i for i, ch in enumerate(letters) if ch in TONES), None)
    choices = [*TONES] if current is None else [t for t in ("", *TONES) if t != letters[current]]
    tone = choices[int(pick * len(choices)) % len(choices)]
    if current is not None:
        letters[current] = tone
    else:
        # No tone yet: it goes on the first vowel, after that vowel's own marks (ê, ư...).
        at = next((i for i, ch in enumerate(letters) if ch.lower() in "aeiouy"), None)
        if at is None:
            return name
        at += 1
        while at < len(letters) and unicodedata.combining(letters[at]):
            at += 1
        letters.insert(at, tone)
    return unicodedata.normalize("NFC", "".join(letters))


def without_diacritics(name: str) -> str:
    """``Nguyễn Thị Ánh`` as a keyboard without Vietnamese input writes it: ``Nguyen Thi Anh``."""
    return " ".join(word.capitalize() for word in fold(name).split())
