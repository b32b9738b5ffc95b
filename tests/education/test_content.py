"""The public-education content: it loads, it covers every vaccine of the Vietnam schedule in
Vietnamese and English with a source, and its schedule is read from the schedule data."""

from __future__ import annotations

import pytest

from immunis.education.catalog import (
    LANGUAGES,
    TEXT_FIELDS,
    ContentError,
    parse_vaccine,
    shipped_vaccines,
)
from immunis.education.schedule_text import schedule_entries
from immunis.education.series import Programme, programme_of
from immunis.education.service import vaccine_for_dose
from immunis.schedule.catalog import load_schedule

# The letters Vietnamese adds to the Latin alphabet: a Vietnamese text without any is suspect.
VIETNAMESE = set("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")
# The vaccines the brief names for the EPI and the common services, by content key.
EXPECTED = {
    "bcg", "hepb", "dtp-hepb-hib", "polio", "measles-rubella", "mmr", "japanese-encephalitis",
    "td", "rotavirus", "pneumococcal", "hpv", "influenza", "varicella", "hepa", "meningococcal",
    "typhoid", "rabies", "dengue",
}  # fmt: skip


def test_every_expected_vaccine_has_content() -> None:
    assert set(shipped_vaccines()) == EXPECTED


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_each_vaccine_speaks_both_languages_and_cites_a_source(key: str) -> None:
    info = shipped_vaccines()[key]
    assert info.sources and all(source.title for source in info.sources)
    for language in LANGUAGES:
        text = info.text(language)
        assert all(getattr(text, name).strip() for name in TEXT_FIELDS)
    vietnamese = info.text("vi")
    assert VIETNAMESE & set(vietnamese.prevents.lower())
    assert vietnamese.name != info.text("en").name
    assert len(vietnamese.reminder) <= 160 and len(info.text("en").reminder) <= 160


def test_every_vaccine_group_of_the_vietnam_schedule_has_content() -> None:
    spoken_for = {group for info in shipped_vaccines().values() for group in info.vaccine_groups}
    assert set(load_schedule("vn").vaccine_groups) <= spoken_for


def test_every_vaccine_of_the_vietnam_schedule_belongs_to_exactly_one_content() -> None:
    owners: dict[str, list[str]] = {}
    for info in shipped_vaccines().values():
        for cvx in info.cvx:
            owners.setdefault(cvx, []).append(info.key)
    schedule = load_schedule("vn")
    assert {
        cvx: owners.get(cvx, []) for cvx in schedule.vaccines if len(owners.get(cvx, [])) != 1
    } == {}
    assert set(owners) <= set(schedule.vaccines)


def test_every_epi_dose_finds_its_content_by_the_vaccine_it_calls_for() -> None:
    schedule = load_schedule("vn")
    for antigen in schedule.antigens.values():
        for series in antigen.series:
            if programme_of(series) is not Programme.TCMR:
                continue
            for dose in series.doses:
                found = vaccine_for_dose(series.vaccine_group, dose.dose_number, series.name)
                assert found.key is not None, (series.name, dose.dose_number)
                assert found.programme is Programme.TCMR


def test_a_dose_calls_for_the_vaccine_given_at_that_age() -> None:
    assert vaccine_for_dose("DTP", 1).key == "dtp-hepb-hib"
    assert vaccine_for_dose("DTP", 5).key == "td"  # Td at 7 years
    assert vaccine_for_dose("HepB", 1).key == "hepb"
    assert vaccine_for_dose("HepB", 2).key == "dtp-hepb-hib"
    assert vaccine_for_dose("Polio", 4).key == "polio"
    assert vaccine_for_dose("Pneumococcal", 1).programme is Programme.SERVICES


def test_the_schedule_is_read_from_the_vietnam_schedule() -> None:
    schedule = load_schedule("vn")
    combination = schedule_entries(schedule, shipped_vaccines()["dtp-hepb-hib"], "vi")
    epi = [e for e in combination if e.programme is Programme.TCMR]
    assert any(
        e.doses
        == (
            "Mũi 1: lúc 2 tháng tuổi",
            "Mũi 2: lúc 3 tháng tuổi",
            "Mũi 3: lúc 4 tháng tuổi",
            "Mũi 4: lúc 18 tháng tuổi",
        )
        for e in epi
    )
    assert {e.programme_label for e in epi} == {"Tiêm chủng mở rộng (miễn phí)"}
    # Diphtheria, tetanus and pertussis share one series: it is shown once.
    assert len({e.doses for e in combination}) == len(combination)
    je = schedule_entries(schedule, shipped_vaccines()["japanese-encephalitis"], "en")
    assert je[0].doses == (
        "Dose 1: at 12 months of age",
        "Dose 2: 1 week after the previous dose",
        "Dose 3: 1 year after the previous dose",
    )
    hepb = schedule_entries(schedule, shipped_vaccines()["hepb"], "vi")
    assert hepb[0].doses == ("Mũi 1: ngay sau sinh",)
    hpv = schedule_entries(schedule, shipped_vaccines()["hpv"], "en")
    assert hpv[1].doses[-1] == "Dose 3: 6 months after dose 1"


def test_content_missing_a_language_is_refused() -> None:
    with pytest.raises(ContentError, match="`en` is missing"):
        parse_vaccine(
            b"key: x\ncvx: ['1']\nsources: [{title: t}]\n"
            b"vi: {name: a, prevents: b, reactions: c, seek_care: d, reminder: e}\n"
        )


def test_content_without_a_source_is_refused() -> None:
    with pytest.raises(ContentError, match="`sources` is missing"):
        parse_vaccine(b"key: x\ncvx: ['1']\nsources: []\n")
