"""Engine speed: forecast every vaccine group for every CDC test-case patient, many times.

    python bench/engine.py [TESTCASES.jsonl] [--rounds N]

Prints microseconds per patient (median over rounds, and the best round) on one core with the
schedule loaded once. Figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from immunis.conformance import case_inputs, read_cases
from immunis.forecast import forecast
from immunis.schedule.catalog import load_schedule

DEFAULT_CASES = Path(__file__).resolve().parents[1].parent / "shared" / "cdsi" / "testcases.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="?", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    schedule = load_schedule("us-acip")
    load_seconds = time.perf_counter() - started
    patients = [case_inputs(case) for case in read_cases(args.cases)]
    for patient, doses, assessment in patients:  # warm-up round
        forecast(patient, doses, assessment, schedule)

    per_patient_us = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for patient, doses, assessment in patients:
            forecast(patient, doses, assessment, schedule)
        elapsed = time.perf_counter() - started
        per_patient_us.append(elapsed / len(patients) * 1e6)

    print(f"schedule load: {load_seconds * 1000:.0f} ms ({len(schedule.antigens)} antigens)")
    print(f"patients: {len(patients)}, vaccine groups each: {len(schedule.vaccine_groups)}")
    print(
        f"median: {statistics.median(per_patient_us):.0f} us/patient, "
        f"best: {min(per_patient_us):.0f} us/patient over {args.rounds} rounds"
    )


if __name__ == "__main__":
    main()
