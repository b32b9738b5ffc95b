"""The synthetic geography: districts and communes per province, and the sites that vaccinate.

Provinces are real (data/provinces.csv). Districts and communes are generated: their number grows
with the square root of the province's population, their names are drawn from common place-name
syllables, and their codes are numbered in province order as GSO numbers the real ones (3 digits
for districts, 5 for communes) without being the real codes. Every commune has a health station,
every district a health centre (where births and birth doses happen), and each province some
private vaccination centres.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from immunis.synth import sources

# Ids of synthetic rows are name-based UUIDs under this namespace: the same seed, the same ids.
SYNTH_NAMESPACE = uuid.UUID("6f1d3c52-5a0e-4b8e-9f43-0c1b7f2a9d11")


def synthetic_id(seed: int, kind: str, code: str) -> str:
    """A stable UUID for a synthetic area or site."""
    return str(uuid.uuid5(SYNTH_NAMESPACE, f"{seed}/{kind}/{code}"))


@dataclass(frozen=True)
class Geography:
    """Arrays indexed by commune, district and private centre; province indexes follow
    `sources.provinces()` order."""

    seed: int
    commune_codes: np.ndarray  # str
    commune_district: np.ndarray  # district index of each commune
    commune_province: np.ndarray  # province index of each commune
    commune_cumulative_share: np.ndarray  # of the national population, for drawing homes
    station_ids: np.ndarray  # the commune health station of each commune
    district_codes: np.ndarray
    district_centre_ids: np.ndarray  # the district health centre of each district
    private_ids: np.ndarray  # private centres, grouped by province
    private_first: np.ndarray  # per province: index of its first private centre
    private_count: np.ndarray  # per province: how many it has
    areas: pa.Table
    sites: pa.Table


def _place_name(rng: np.random.Generator, syllables: list[str]) -> str:
    first, second = rng.choice(len(syllables), size=2, replace=False)
    return f"{syllables[first]} {syllables[second]}"


def build_geography(seed: int) -> Geography:
    """Districts, communes and sites for every province, the same for the same seed."""
    rng = np.random.default_rng([seed, 0])
    settings = sources.population()
    syllables: list[str] = settings["place_syllables"]
    provinces = sources.provinces()
    roots = np.sqrt([p.population for p in provinces])
    communes_per_province = np.maximum(
        np.rint(roots * settings["communes_total"] / roots.sum()).astype(int), 10
    )
    national = sum(p.population for p in provinces)

    area_rows: list[tuple[str, str, str, str | None]] = []
    site_rows: list[tuple[str, str, str, str, str, str | None, str | None]] = []
    commune_codes: list[str] = []
    commune_district: list[int] = []
    commune_province: list[int] = []
    commune_share: list[float] = []
    station_ids: list[str] = []
    district_codes: list[str] = []
    district_centre_ids: list[str] = []
    private_ids: list[str] = []
    private_first: list[int] = []
    private_count: list[int] = []

    for index, province in enumerate(provinces):
        area_rows.append((province.code, province.name, "province", None))
        communes = int(communes_per_province[index])
        districts = max(2, round(communes / settings["communes_per_district"]))
        # Which district each commune belongs to: every district gets at least one.
        owner = np.sort(
            np.concatenate([np.arange(districts), rng.integers(0, districts, communes - districts)])
        )
        # Communes differ in size: log-normal weights within the province.
        weights = rng.lognormal(0.0, 0.6, communes)
        weights *= province.population / national / weights.sum()
        first_district = len(district_codes)
        for number in range(districts):
            code = f"{len(district_codes) + 1:03d}"
            kind = "Thành phố" if number == 0 else "Huyện"
            name = province.name if number == 0 else _place_name(rng, syllables)
            area_rows.append((code, f"{kind} {name}", "district", province.code))
            district_codes.append(code)
            centre_code = f"TTYT-{code}"
            centre_id = synthetic_id(seed, "site", centre_code)
            district_centre_ids.append(centre_id)
            site_rows.append(
                (
                    centre_id,
                    centre_code,
                    f"Trung tâm Y tế {kind.lower()} {name}",
                    "district-health-centre",
                    province.code,
                    code,
                    None,
                )
            )
        for number in range(communes):
            code = f"{len(commune_codes) + 1:05d}"
            district = first_district + int(owner[number])
            kind = "Phường" if owner[number] == 0 else ("Thị trấn" if rng.random() < 0.08 else "Xã")
            name = f"{kind} {_place_name(rng, syllables)}"
            area_rows.append((code, name, "commune", district_codes[district]))
            station_code = f"TYT-{code}"
            station_id = synthetic_id(seed, "site", station_code)
            site_rows.append(
                (
                    station_id,
                    station_code,
                    f"Trạm Y tế {name.lower()}",
                    "commune-health-station",
                    province.code,
                    district_codes[district],
                    code,
                )
            )
            commune_codes.append(code)
            commune_district.append(district)
            commune_province.append(index)
            commune_share.append(float(weights[number]))
            station_ids.append(station_id)
        centres = max(
            1,
            round(
                province.population
                / 1e6
                * settings["private_centres_per_million"]
                * province.services
            ),
        )
        private_first.append(len(private_ids))
        private_count.append(centres)
        for number in range(centres):
            centre_code = f"DV-{province.code}-{number + 1:03d}"
            centre_id = synthetic_id(seed, "site", centre_code)
            private_ids.append(centre_id)
            site_rows.append(
                (
                    centre_id,
                    centre_code,
                    f"Trung tâm tiêm chủng dịch vụ {province.name} {number + 1}",
                    "private-centre",
                    province.code,
                    None,
                    None,
                )
            )

    cumulative = np.cumsum(commune_share)
    cumulative /= cumulative[-1]
    areas = pa.table(
        {
            name: list(column)
            for name, column in zip(
                ("code", "name", "level", "parent_code"), zip(*area_rows, strict=True), strict=True
            )
        }
    )
    sites = pa.table(
        {
            name: list(column)
            for name, column in zip(
                (
                    "site_id",
                    "code",
                    "name",
                    "kind",
                    "province_code",
                    "district_code",
                    "commune_code",
                ),
                zip(*site_rows, strict=True),
                strict=True,
            )
        }
    )
    return Geography(
        seed=seed,
        commune_codes=np.array(commune_codes, dtype=object),
        commune_district=np.array(commune_district),
        commune_province=np.array(commune_province),
        commune_cumulative_share=cumulative,
        station_ids=np.array(station_ids, dtype=object),
        district_codes=np.array(district_codes, dtype=object),
        district_centre_ids=np.array(district_centre_ids, dtype=object),
        private_ids=np.array(private_ids, dtype=object),
        private_first=np.array(private_first),
        private_count=np.array(private_count),
        areas=areas,
        sites=sites,
    )
