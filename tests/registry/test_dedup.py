"""Scoring two person records: which pairs are likely, possible or no duplicates, and why."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from immunis.registry.dedup import (
    LIKELY,
    POSSIBLE,
    PersonRecord,
    blocking_keys,
    likelihood,
    name_similarity,
    near_birth_dates,
    score,
    transposed,
)

AN = PersonRecord(
    family_name="Nguyễn",
    given_name="Văn An",
    birth_date=date(2024, 3, 4),
    sex="male",
    phone="0912345678",
    commune_code="00001",
)
# The same boy with nothing but his name and birth date to go on.
AN_BARE = replace(AN, sex="unknown", phone=None, commune_code=None)
LAN = PersonRecord(
    family_name="Trần",
    given_name="Thị Lan",
    birth_date=date(2023, 11, 20),
    sex="female",
    commune_code="26734",
)


def renamed(record: PersonRecord, family: str, given: str, **changes: object) -> PersonRecord:
    return replace(record, family_name=family, given_name=given, **changes)  # type: ignore[arg-type]


CASES = [
    # (label, a, b, expected likelihood)
    ("the same record", AN, AN, "likely"),
    ("no diacritics, other case", AN, renamed(AN, "NGUYEN", "van an"), "likely"),
    ("decomposed Unicode", AN, renamed(AN, "Nguye\u0302\u0303n", "Va\u0306n An"), "likely"),
    ("Western word order", AN, renamed(AN, "An", "Nguyễn Văn"), "likely"),
    ("family and given swapped", AN, renamed(AN, "Văn An", "Nguyễn"), "likely"),
    ("middle name missing", AN, renamed(AN, "Nguyễn", "An"), "likely"),
    ("i/y spelling", renamed(LAN, "Lê", "Thị Mỹ"), renamed(LAN, "Le", "Thi Mi"), "likely"),
    ("typo in the family name", AN, renamed(AN, "Ngyuễn", "Văn An"), "likely"),
    ("day and month swapped", AN, replace(AN, birth_date=date(2024, 4, 3)), "likely"),
    ("a day apart", AN, replace(AN, birth_date=date(2024, 3, 5)), "likely"),
    ("same name and birth date, nothing else", AN_BARE, AN_BARE, "possible"),
    ("word order, nothing else", AN_BARE, renamed(AN_BARE, "An", "Nguyễn Văn"), "possible"),
    ("middle name missing, moved", AN, renamed(AN, "Nguyễn", "An", phone=None), "possible"),
    ("same month, other day", AN, replace(AN, birth_date=date(2024, 3, 20)), "possible"),
    ("diacritics mistyped", AN, renamed(AN, "Nguyến", "Vân Ân"), "likely"),
    ("typo in the given name", renamed(AN, "Lê", "Văn Hùng"),
     renamed(AN, "Lê", "Văn Hugn"), "possible"),
    ("different sex recorded", AN, replace(AN, sex="female"), "possible"),
    ("a shared insurance number", replace(AN, identifiers=frozenset({("bhyt", "X1")})),
     renamed(AN_BARE, "Nguyen", "An", birth_date=date(2024, 6, 1),
             identifiers=frozenset({("bhyt", "X1")})), "likely"),
    ("same national ID, name changed", replace(AN, national_id="001224000001"),
     renamed(LAN, "Nguyễn", "Minh", national_id="001224000001"), "likely"),
    ("twins: different given names", AN, renamed(AN, "Nguyễn", "Văn Bình"), None),
    ("twins: rhyming names", renamed(AN, "Nguyễn", "Văn Phúc"),
     renamed(AN, "Nguyễn", "Văn Lộc"), None),
    ("twins: one letter apart", renamed(LAN, "Trần", "Thị Lan", phone="0988000111"),
     renamed(LAN, "Trần", "Thị Lanh", phone="0988000111"), "possible"),
    ("boy and girl twins", AN, renamed(AN, "Nguyễn", "Thị An", sex="female"), None),
    ("different national IDs, all else the same", replace(AN, national_id="001224000001"),
     replace(AN, national_id="001224000002"), None),
    ("father and son at one address", AN,
     renamed(AN, "Nguyễn", "Văn Hải", birth_date=date(1990, 1, 1)), None),
    ("same name, born years apart", AN, replace(AN, birth_date=date(2019, 3, 4)), None),
    ("strangers", AN, LAN, None),
]  # fmt: skip


@pytest.mark.parametrize(("label", "a", "b", "expected"), CASES, ids=[c[0] for c in CASES])
def test_pairs_are_classed_as_expected(
    label: str, a: PersonRecord, b: PersonRecord, expected: str | None
) -> None:
    found = score(a, b)
    assert found.likelihood == expected, (label, found)
    assert score(b, a).value == found.value, "the score does not depend on the order"


def test_different_national_ids_are_never_a_duplicate() -> None:
    a = replace(AN, national_id="001224000001", identifiers=frozenset({("bhyt", "X1")}))
    b = replace(a, national_id="001224000002")
    assert score(a, b).value == 0.0
    assert score(a, b).reasons == ("different national IDs",)


def test_a_national_id_on_one_record_only_decides_nothing() -> None:
    assert score(replace(AN, national_id="001224000001"), AN).value == score(AN, AN).value


def test_the_reasons_name_the_evidence_and_no_personal_data() -> None:
    found = score(AN, renamed(AN, "Nguyễn", "Văn Bình", birth_date=date(2024, 4, 3)))
    assert found.reasons == (
        "different given names",
        "birth day and month swapped",
        "same phone",
        "same commune",
        "same sex",
    )


def test_names_compare_word_by_word_whatever_the_order() -> None:
    reordered, same_given, why = name_similarity(AN, renamed(AN, "An", "Nguyễn Văn"))
    assert (reordered, same_given, why) == (0.95, True, "same name, words in another order")
    missing, same_given, why = name_similarity(AN, renamed(AN, "Nguyễn", "An"))
    assert same_given and missing == pytest.approx(0.9)
    assert why == "same name, a middle name missing in one record"
    repeated, same_given, _ = name_similarity(
        renamed(LAN, "Vũ", "Mai Mai"), renamed(LAN, "Vũ", "Mai")
    )
    assert same_given and repeated == pytest.approx(0.9)


def test_a_long_name_is_compared_quickly_and_sensibly() -> None:
    long = renamed(AN, "Tôn Nữ", "Thị Hoàng Yến Nhi Anh Thư Minh Châu Ngọc")
    similarity, same_given, _ = name_similarity(long, long)
    assert (similarity, same_given) == (1.0, True)
    assert score(long, renamed(long, "Tôn", "Nữ Thị Hoàng Yến")).likelihood is None


def test_thresholds() -> None:
    assert (LIKELY, POSSIBLE) == (0.9, 0.7)
    assert [likelihood(s) for s in (1.0, 0.9, 0.89, 0.7, 0.69, 0.0)] == [
        "likely",
        "likely",
        "possible",
        "possible",
        None,
        None,
    ]


def test_near_birth_dates_include_the_swapped_date_when_it_is_one() -> None:
    assert near_birth_dates(date(2024, 3, 4)) == {
        date(2024, 3, 3),
        date(2024, 3, 4),
        date(2024, 3, 5),
        date(2024, 4, 3),
    }
    assert transposed(date(2024, 3, 13)) is None  # no 13th month
    assert transposed(date(2024, 5, 5)) is None  # the same date
    assert transposed(date(2023, 12, 11)) == date(2023, 11, 12)


def test_blocking_keys_survive_word_order() -> None:
    assert blocking_keys(AN) & blocking_keys(renamed(AN_BARE, "An", "Nguyễn Văn")) == {
        "words:an nguyen van"
    }
