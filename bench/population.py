"""Population forecast speed: people forecast per second per core, in one process and on Dask.

    python bench/population.py [--persons 10000 100000] [--big] [--workers 2] [--compiled]

For each size, a synthetic population (`immunis synth`, seed 1, row groups of at most 10,000
people) is forecast under the Vietnam schedule: first partition by partition in this process (no
Dask), then by `forecast-all`'s runner on a LocalCluster of --workers worker processes. Both
include reading Parquet and writing results. Prints people per second of wall clock and per CPU
second (the rate a core of its own would give: the machine may be shared), the peak memory (max RSS
of this process, and of each worker), and the projection to 100 million people on 16 cores,
assuming the rate per core stays the same (linear scaling). --big adds 1,000,000 people, on the
cluster only. With --compiled, the engine is first compiled with mypyc (bench/engine.py's build,
into build/mypyc/) and everything runs against that build; workers inherit PYTHONPATH.
Figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 1)
ASSESSED = date(2026, 12, 1)
# Partitions of at most 10,000 people, and at least 10 of them so that every worker stays busy.
MAX_ROW_GROUP = 10_000
TARGET_PEOPLE = 100_000_000
TARGET_CORES = 16


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def engine_kind() -> str:
    import immunis.forecast.engine as engine

    return "mypyc-compiled" if str(engine.__file__).endswith(".so") else "pure Python"


def synthesize(persons: int, folder: Path) -> None:
    """`immunis synth` in a process of its own, so that its memory is measured apart."""
    row_group = max(500, min(MAX_ROW_GROUP, persons // 10 // 500 * 500))
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from immunis.cli import main; main()",
            "synth",
            "--persons",
            str(persons),
            "--seed",
            "1",
            "--as-of",
            AS_OF.isoformat(),
            "--chunk-size",
            str(row_group),
            "--out",
            str(folder),
        ],
        check=True,
        capture_output=True,
        # Generation is not what is measured: it runs on the pure-Python package.
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
    )
    seconds = time.perf_counter() - started
    manifest = json.loads((folder / "population.json").read_text())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"  synth: {manifest['rows']['persons']:,} records, {manifest['rows']['immunizations']:,} "
        f"doses in {seconds:.1f} s, chunks of {row_group:,} people; max RSS of the largest "
        f"synth so far {peak:,.0f} MiB"
    )


def single_process(folder: Path, out: Path) -> float:
    from immunis.batch.forecast_all import PartitionTask, run_partition
    from immunis.batch.partitions import parquet_partitions

    out.mkdir()
    started, started_cpu = time.perf_counter(), time.process_time()
    persons = 0
    for partition in parquet_partitions(folder, None):
        done = run_partition(PartitionTask(partition, "vn", ASSESSED, str(out), None))
        persons += done.persons
    seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    print(
        f"  one process, no Dask: {persons:,} people in {seconds:.1f} s wall, {cpu:.1f} s CPU = "
        f"{persons / seconds:,.0f} people/s wall, {persons / cpu:,.0f} per CPU second; "
        f"max RSS {max_rss_mib():,.0f} MiB"
    )
    return persons / cpu


def on_cluster(folder: Path, out: Path, workers: int) -> float:
    from dask.distributed import Client, LocalCluster

    from immunis.batch.forecast_all import RunRequest, run_forecast_all

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(install_handed_over_schedule)
        kinds = set(client.run(engine_kind).values())
        started = time.perf_counter()
        report = run_forecast_all(RunRequest(str(folder), "vn", ASSESSED, out), client)
        seconds = time.perf_counter() - started
        peaks = client.run(max_rss_mib)
    rate = report.persons / seconds
    cpu = sum(done.cpu_seconds for done in report.done)
    print(
        f"  LocalCluster, {workers} worker processes ({', '.join(sorted(kinds))}): "
        f"{report.persons:,} people in {report.partitions} partitions in {seconds:.1f} s wall = "
        f"{rate:,.0f} people/s, {rate / workers:,.0f} per core; tasks' CPU {cpu:.1f} s = "
        f"{report.persons / cpu:,.0f} per CPU second; "
        f"worker max RSS {', '.join(f'{peak:,.0f}' for peak in peaks.values())} MiB"
    )
    return rate / workers


# The mypyc build erases the schedule model's type hints, which the project-format (YAML) loader
# reads, so that build cannot load the vn schedule itself (reported; to remove once the loader no
# longer needs the hints). Until then a pure-Python process loads it and hands it over as plain
# data, rebuilt with the compiled classes in this process and in every worker.
def schedule_as_data(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name: schedule_as_data(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
        return ("class", type(value).__name__, fields)
    if isinstance(value, enum.Enum):
        return ("enum", type(value).__name__, value.value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return ("tuple", type(value).__name__, tuple(value))
    if isinstance(value, tuple | list):
        return tuple(schedule_as_data(item) for item in value)
    if isinstance(value, dict):
        return {key: schedule_as_data(item) for key, item in value.items()}
    return value


def schedule_from_data(value: Any) -> Any:
    from immunis.schedule import model

    if isinstance(value, tuple) and len(value) == 3 and value[0] in ("class", "enum", "tuple"):
        kind, name, content = value
        cls = getattr(model, name)
        if kind == "class":
            return cls(**{key: schedule_from_data(item) for key, item in content.items()})
        return cls(content) if kind == "enum" else cls(*content)
    if isinstance(value, tuple):
        return tuple(schedule_from_data(item) for item in value)
    if isinstance(value, dict):
        return {key: schedule_from_data(item) for key, item in value.items()}
    return value


def install_handed_over_schedule() -> None:
    """In a process of the compiled build: the vn schedule from the pure-Python loader."""
    import immunis.batch.forecast_all as forecast_all

    payload = os.environ.get("IMMUNIS_BENCH_SCHEDULE")
    if payload and engine_kind() == "mypyc-compiled":
        schedule = schedule_from_data(pickle.loads(Path(payload).read_bytes()))
        forecast_all.load_schedule = lambda schedule_id: schedule  # type: ignore[assignment]


def project(per_core: float) -> str:
    seconds = TARGET_PEOPLE / (per_core * TARGET_CORES)
    return f"{seconds / 60:,.0f} min for {TARGET_PEOPLE:,} people on {TARGET_CORES} cores"


def measure(sizes: list[int], big: bool, workers: int) -> None:
    install_handed_over_schedule()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"engine: {engine_kind()}; {os.cpu_count()} cores here; load average {load}")
    for persons in [*sizes, *([1_000_000] if big else [])]:
        print(f"{persons:,} people")
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch) / "population"
            synthesize(persons, folder)
            if persons <= 100_000:
                per_cpu_second = single_process(folder, Path(scratch) / "single")
                print(f"    projection (per CPU second): {project(per_cpu_second)}")
            per_core = on_cluster(folder, Path(scratch) / "cluster", workers)
            print(f"    projection (Dask, wall clock per core): {project(per_core)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--persons", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--big", action="store_true", help="also 1,000,000 people (minutes)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--compiled", action="store_true", help="run on the mypyc build")
    args = parser.parse_args()
    if not args.compiled:
        measure(args.persons, args.big, args.workers)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from engine import compile_engine

    from immunis.schedule.catalog import load_schedule

    build = compile_engine()
    handed_over = build / "vn-schedule.pickle"
    handed_over.write_bytes(pickle.dumps(schedule_as_data(load_schedule("vn"))))
    command = [sys.executable, __file__, "--workers", str(args.workers), "--persons"]
    command += [str(size) for size in args.persons] + (["--big"] if args.big else [])
    environment = {
        **os.environ,
        "PYTHONPATH": str(build),
        "IMMUNIS_BENCH_SCHEDULE": str(handed_over),
    }
    subprocess.run(command, env=environment, check=True)


if __name__ == "__main__":
    main()
