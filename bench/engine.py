"""Engine speed: forecast every vaccine group for every CDC test-case patient, many times.

    python bench/engine.py [TESTCASES.jsonl] [--rounds N] [--compiled]

Prints microseconds per patient (median over rounds, and the best round) on one core, the
schedule loaded once. With --compiled the engine (schedule/ and forecast/, which are fully typed)
is first compiled to C extensions with mypyc into build/mypyc/, and the same benchmark and the
CDC conformance run against that build. Figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CASES = REPO.parent / "shared" / "cdsi" / "testcases.jsonl"
BUILD = REPO / "build" / "mypyc"


def measure(cases: Path, rounds: int) -> None:
    from immunis import forecast as engine_package
    from immunis.conformance import case_inputs, read_cases, run_case
    from immunis.forecast import forecast
    from immunis.schedule.catalog import load_schedule

    started = time.perf_counter()
    schedule = load_schedule("us-acip")
    load_seconds = time.perf_counter() - started
    raw_cases = list(read_cases(cases))
    patients = [case_inputs(case) for case in raw_cases]
    for patient, doses, assessment in patients:  # warm-up round
        forecast(patient, doses, assessment, schedule)

    # CPU time of this process as well as wall time: on a shared machine the first stays honest.
    per_patient_us = []
    per_patient_cpu_us = []
    for _ in range(rounds):
        started = time.perf_counter()
        started_cpu = time.process_time()
        for patient, doses, assessment in patients:
            forecast(patient, doses, assessment, schedule)
        per_patient_us.append((time.perf_counter() - started) / len(patients) * 1e6)
        per_patient_cpu_us.append((time.process_time() - started_cpu) / len(patients) * 1e6)

    passed = sum(run_case(case, schedule).passed for case in raw_cases)
    engine_file = Path(sys.modules["immunis.forecast.engine"].__file__ or "")
    kind = "mypyc-compiled" if engine_file.suffix == ".so" else "pure Python"
    print(f"engine: {kind} ({Path(engine_package.__file__ or '').parent})")
    print(f"schedule load: {load_seconds * 1000:.0f} ms ({len(schedule.antigens)} antigens)")
    print(f"patients: {len(patients)}, vaccine groups each: {len(schedule.vaccine_groups)}")
    print(
        f"wall: median {statistics.median(per_patient_us):.0f} us/patient, "
        f"best {min(per_patient_us):.0f} us/patient over {rounds} rounds"
    )
    print(
        f"cpu:  median {statistics.median(per_patient_cpu_us):.0f} us/patient, "
        f"best {min(per_patient_cpu_us):.0f} us/patient (load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(f"conformance on this build: {passed}/{len(raw_cases)}")


def compile_engine() -> Path:
    """A copy of the package with schedule/ and forecast/ compiled by mypyc."""
    if BUILD.exists():
        shutil.rmtree(BUILD)
    shutil.copytree(REPO / "src" / "immunis", BUILD / "immunis")
    # The engine proper: every forecast module and the schedule model it reads (the same
    # modules the wheel's build hook compiles).
    modules = sorted(
        str(path.relative_to(BUILD))
        for path in (BUILD / "immunis" / "forecast").glob("*.py")
        if path.name != "__init__.py"
    )
    modules.append("immunis/schedule/model.py")
    print(f"compiling {len(modules)} modules with mypyc into {BUILD} ...", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "mypyc", *modules],
        cwd=BUILD,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"mypyc failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return BUILD


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("cases", nargs="?", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--compiled", action="store_true", help="benchmark a mypyc build")
    args = parser.parse_args()
    if not args.compiled:
        measure(args.cases, args.rounds)
        return
    build = compile_engine()
    env = {**os.environ, "PYTHONPATH": str(build)}
    subprocess.run(
        [sys.executable, __file__, str(args.cases), "--rounds", str(args.rounds)],
        env=env,
        check=True,
    )


if __name__ == "__main__":
    main()
