"""Analytics and signals at national scale: coverage over Parquet, signal detection in memory.

    python bench/analytics.py generate --persons 10000000 --out /tmp/immunis-bench
    python bench/analytics.py coverage /tmp/immunis-bench
    python bench/analytics.py signals --reports 1000000
    python bench/analytics.py all --persons 10000000 --reports 1000000 --out /tmp/immunis-bench

`generate` writes persons.parquet and immunizations.parquet (the analytics input schema) a million
people at a time with numpy and pyarrow: a Vietnam-like population born 2019-2025 in 63 provinces,
each child given the TCMR schedule's doses with some coverage, drop-out and delay (about ten
doses a child). `coverage` computes every indicator by birth cohort and province (DuckDB on the
files). `signals` draws AEFI reports in memory (no database) and runs every signal detection
method on them against registry-like dose counts. Each stage prints its time and the process's
peak memory; `all` runs each in its own process. Figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 1_000_000
EPOCH = date(1970, 1, 1)
PROVINCES = [
    "01", "02", "04", "06", "08", "10", "11", "12", "14", "15", "17", "19", "20", "22", "24",
    "25", "26", "27", "30", "31", "33", "34", "35", "36", "37", "38", "40", "42", "44", "45",
    "46", "48", "49", "51", "52", "54", "56", "58", "60", "62", "64", "66", "67", "68", "70",
    "72", "74", "75", "77", "79", "80", "82", "83", "84", "86", "87", "89", "91", "92", "93",
    "94", "95", "96",
]  # fmt: skip
# (CVX, age in days the dose is due, chance it is given): the TCMR infant schedule.
SCHEDULE = [
    ("19", 0, 0.97), ("08", 0, 0.85),
    ("198", 61, 0.96), ("198", 91, 0.93), ("198", 122, 0.90),
    ("178", 61, 0.96), ("178", 91, 0.93), ("178", 122, 0.90),
    ("10", 152, 0.85), ("10", 274, 0.70),
    ("05", 274, 0.93), ("04", 548, 0.85),
]  # fmt: skip
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def uuid_like(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` random 36-character ids shaped like UUIDs, as a fixed-width bytes array."""
    digits = HEX[rng.integers(0, 16, size=(count, 32), dtype=np.uint8)]
    text = np.full((count, 36), ord("-"), dtype=np.uint8)
    text[:, [i for i in range(36) if i not in (8, 13, 18, 23)]] = digits
    return text.view("S36").ravel()


def _strings(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.binary()).cast(pa.string())


def generate(persons: int, out: Path, seed: int = 1) -> None:
    """Write the population a chunk (one Parquet row group) at a time."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    provinces = np.array(PROVINCES)
    first_birth = (date(2019, 1, 1) - EPOCH).days
    last_birth = (date(2025, 12, 31) - EPOCH).days
    started = time.perf_counter()
    written = 0
    with (
        pq.ParquetWriter(out / "persons.parquet", _persons_schema()) as person_file,
        pq.ParquetWriter(out / "immunizations.parquet", _doses_schema()) as dose_file,
    ):
        for first in range(0, persons, CHUNK):
            size = min(CHUNK, persons - first)
            ids = uuid_like(rng, size)
            births = rng.integers(first_birth, last_birth + 1, size=size)
            province = rng.integers(0, len(provinces), size=size)
            district = province * 10 + rng.integers(0, 10, size=size)
            commune = district * 100 + rng.integers(0, 100, size=size)
            person_file.write_table(
                pa.table(
                    {
                        "person_id": _strings(ids),
                        "birth_date": pa.array(births.astype("int32"), type=pa.int32()).cast(
                            pa.date32()
                        ),
                        "sex": pa.array(np.where(rng.random(size) < 0.5, "female", "male")),
                        "province_code": pa.array(provinces[province]),
                        "district_code": pa.array(np.char.zfill(district.astype(str), 3)),
                        "commune_code": pa.array(np.char.zfill(commune.astype(str), 5)),
                    },
                    schema=_persons_schema(),
                )
            )
            # A child who misses a dose is likelier to miss the next: one "reach" per child.
            reach = rng.beta(8, 1, size=size)
            rows_person, rows_day, rows_cvx = [], [], []
            for cvx, due, chance in SCHEDULE:
                given = rng.random(size) < chance * (0.4 + 0.6 * reach)
                delay = rng.gamma(1.5, 8, size=int(given.sum())).astype(int)
                rows_person.append(np.flatnonzero(given))
                rows_day.append(births[given] + due + delay)
                rows_cvx.append(np.full(int(given.sum()), cvx))
            who = np.concatenate(rows_person)
            days = np.concatenate(rows_day)
            cvx = np.concatenate(rows_cvx)
            order = np.argsort(who, kind="stable")
            dose_file.write_table(
                pa.table(
                    {
                        "person_id": _strings(ids[who[order]]),
                        "date_administered": pa.array(
                            days[order].astype("int32"), type=pa.int32()
                        ).cast(pa.date32()),
                        "cvx": pa.array(cvx[order]),
                    },
                    schema=_doses_schema(),
                )
            )
            written += len(who)
    seconds = time.perf_counter() - started
    print(
        f"generate: {persons:,} persons, {written:,} doses in {seconds:.1f} s, "
        f"peak {peak_mib():,.0f} MiB -> {out}"
    )


def _persons_schema() -> pa.Schema:
    from immunis.analytics.inputs import PERSONS_SCHEMA

    return PERSONS_SCHEMA


def _doses_schema() -> pa.Schema:
    from immunis.analytics.inputs import IMMUNIZATIONS_SCHEMA

    return IMMUNIZATIONS_SCHEMA


def coverage(folder: Path, as_of: date) -> None:
    """Every indicator by birth cohort and province over the Parquet files."""
    from immunis.analytics.coverage import CoverageQuery, compute_coverage, connect
    from immunis.analytics.indicators import shipped_indicators
    from immunis.analytics.inputs import use_parquet

    started = time.perf_counter()
    con = connect()
    use_parquet(con, folder)
    persons = con.execute("SELECT count(*) FROM persons").fetchone()[0]  # type: ignore[index]
    doses = con.execute("SELECT count(*) FROM immunizations").fetchone()[0]  # type: ignore[index]
    result = compute_coverage(con, shipped_indicators(), CoverageQuery(as_of=as_of, by="province"))
    seconds = time.perf_counter() - started
    cohort_2024 = [r for r in result.coverage.to_pylist() if r["cohort"] == 2024]
    dtp3 = sum(r["vaccinated"] for r in cohort_2024 if r["indicator"] == "DTP3")
    children = sum(r["denominator"] for r in cohort_2024 if r["indicator"] == "DTP3")
    print(
        f"coverage: {persons:,} persons, {doses:,} doses, {result.coverage.num_rows:,} rows "
        f"(cohorts x provinces x indicators) in {seconds:.1f} s, peak {peak_mib():,.0f} MiB; "
        f"2024 cohort DTP3 {100 * dtp3 / children:.1f}%"
    )


def signals(reports: int, seed: int = 2) -> None:
    """Every signal detection method over `reports` synthetic AEFI reports, in memory."""
    from immunis.safety.monitoring import DoseCount, DoseFacts, ReportFacts, run, shipped_plan
    from immunis.safety.terms import shipped_terms

    rng = np.random.default_rng(seed)
    terms = shipped_terms()
    vaccines = np.array(["19", "8", "198", "178", "10", "5", "4", "119", "133", "39", "115", "21"])
    events = np.array(sorted(terms.terms))
    event_weights = rng.dirichlet(np.ones(len(events)))
    lots = [f"L{n:04}" for n in range(2000)]
    bands = [b.label for b in terms.age_bands]
    end = date(2025, 12, 31)
    started = time.perf_counter()
    vaccine_of = rng.integers(0, len(vaccines), size=(reports, 2))
    second = rng.random(reports) < 0.4
    event_of = rng.choice(len(events), size=(reports, 2), p=event_weights)
    two_events = rng.random(reports) < 0.3
    lot_of = rng.integers(0, len(lots), size=reports)
    given = rng.integers(0, 365, size=reports)
    after = rng.integers(0, 30, size=reports)
    band_of = rng.choice(len(bands), size=reports, p=[0.6, 0.25, 0.1, 0.04, 0.01])
    province_of = rng.integers(0, len(PROVINCES), size=reports)
    facts = []
    for i in range(reports):
        day = date(2025, 1, 1) + timedelta(days=int(given[i]))
        band = bands[band_of[i]]
        doses = [DoseFacts(str(vaccines[vaccine_of[i, 0]]), lots[lot_of[i]], day, band)]
        if second[i]:
            doses.append(DoseFacts(str(vaccines[vaccine_of[i, 1]]), None, day, band))
        codes = {str(events[event_of[i, 0]])}
        if two_events[i]:
            codes.add(str(events[event_of[i, 1]]))
        facts.append(
            ReportFacts(
                frozenset(codes),
                day + timedelta(days=int(after[i])),
                tuple(doses),
                PROVINCES[province_of[i]],
            )
        )
    built = time.perf_counter() - started
    dose_counts = [
        DoseCount(str(v), lot, band, province, 400)
        for v in vaccines
        for lot in lots[:: len(vaccines)]
        for band in bands[:2]
        for province in PROVINCES[::7]
    ]
    plan = shipped_plan()
    since = {p.start: dose_counts for p in plan.pairs}
    started = time.perf_counter()
    outcome = run(facts, dose_counts, since, terms, plan, date(2025, 1, 1), end)
    seconds = time.perf_counter() - started
    print(
        f"signals: {reports:,} reports (built in {built:.1f} s), {len(dose_counts):,} dose-count "
        f"rows, {len(outcome.findings):,} results, {outcome.summary['signals']} signals in "
        f"{seconds:.1f} s, peak {peak_mib():,.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("generate")
    make.add_argument("--persons", type=int, default=10_000_000)
    make.add_argument("--out", type=Path, required=True)
    measure = commands.add_parser("coverage")
    measure.add_argument("folder", type=Path)
    measure.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 6, 30))
    detect = commands.add_parser("signals")
    detect.add_argument("--reports", type=int, default=1_000_000)
    every = commands.add_parser("all")
    every.add_argument("--persons", type=int, default=10_000_000)
    every.add_argument("--reports", type=int, default=1_000_000)
    every.add_argument("--out", type=Path, required=True)
    arguments = parser.parse_args()
    if arguments.command == "generate":
        generate(arguments.persons, arguments.out)
    elif arguments.command == "coverage":
        coverage(arguments.folder, arguments.as_of)
    elif arguments.command == "signals":
        signals(arguments.reports)
    else:
        # Each stage in its own process, so that each peak is its own.
        me = [sys.executable, __file__]
        for stage in (
            ["generate", "--persons", str(arguments.persons), "--out", str(arguments.out)],
            ["coverage", str(arguments.out)],
            ["signals", "--reports", str(arguments.reports)],
        ):
            subprocess.run([*me, *stage], check=True)


if __name__ == "__main__":
    main()
