"""Bookings per second on PostgreSQL, beside pgbench's TPC-B-like transactions on the same server.

    python bench/booking.py [--url POSTGRESQL_URL] [--clients 8] [--workers 2] [-n 4000]
                            [--rounds 3] [--sites 10] [--seconds 10]
                            [--booked-by vaccinator|parent]

Makes a scratch database on the server at --url (default IMMUNIS_TEST_POSTGRES_URL), migrates
it, and drops it at the end. It holds --sites stations, each open all day, offering hepatitis B
(CVX 8) with a released lot in stock and one clinic session tomorrow; and babies of 70 days,
spread over the stations. In each round, --clients clients, each with its own connection and a
transaction per booking, book -n babies through `booking.service.book` (the forecast checked,
the session's place and the station's dose taken, the appointment written and audited), each at
their own station, round its slots: booked by the station's vaccinator, or with --booked-by
parent by each baby's mother signed in as a citizen (her booking also writes the grant that lets
the station see the baby's record). The clients are threads shared out over --workers processes,
as a server runs its application in worker processes (uvicorn --workers); --workers 1 puts them
all in one interpreter, behind its one lock.

pgbench runs in a scratch database of its own, made once with `pgbench -i -s 1`: after each
round of bookings, `pgbench -c <clients> -j 2 -T <seconds>` with its built-in TPC-B-like script.
Alternating the two evens out a machine whose speed drifts (shared virtual machines do). Prints,
for each round, bookings per second, pgbench's transactions per second and their ratio, and the
CPU a booking cost (the bench's processes, and the rest of the machine: PostgreSQL, the kernel,
anything else running); then the median ratio, and the load average before and after.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import queue
import re
import shutil
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from datetime import time as clock
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from immunis.access.policy import Actor, Role
from immunis.access.service import actor_for, create_user
from immunis.admin_cli import operator
from immunis.booking import planning, service
from immunis.booking.schemas import AppointmentIn, OfferedVaccine, SessionIn, WeeklyHours
from immunis.booking.slots import slot_starts
from immunis.db import make_engine, make_sessionmaker, transaction
from immunis.migrate import upgrade
from immunis.registry import service as registry
from immunis.registry import sites
from immunis.registry.schemas import GuardianLink, PersonIn, SiteIn
from immunis.supply import service as supply
from immunis.supply.release import ReleaseStatus
from immunis.supply.schemas import LotIn, ReceiptIn

HEPB = "8"
MOTHERS = date(1996, 5, 1)  # the mothers' birth date, when parents book
WARM_UP = 20  # bookings first made untimed, one by one: schedules loaded, statements cached
SLOT_MINUTES = 10


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server at `server_url`, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _user(
    session: Session,
    username: str,
    role: Role,
    site_id: str | None = None,
    person_id: str | None = None,
) -> Actor:
    user = create_user(session, username=username, role=role, site_id=site_id, person_id=person_id)
    session.flush()
    return actor_for(session, user)


def seed(
    sessions: sessionmaker[Session],
    site_count: int,
    babies: int,
    tomorrow: date,
    now: datetime,
    booked_by: str = "vaccinator",
) -> list[tuple[Actor, AppointmentIn]]:
    """The stations, their stock and sessions, and the babies; one booking to make per baby, by
    the station's vaccinator or (`booked_by="parent"`) by the baby's mother, signed in as a
    citizen: her bookings also let the station see the baby's record (an access grant)."""
    per_site = math.ceil(babies / site_count)
    with transaction(sessions) as session:
        lab = _user(session, "bench-lab", Role.LAB)
        officer = _user(session, "bench-officer", Role.NATIONAL_OFFICER)
        lot = supply.register_lot(
            session,
            lab,
            LotIn(
                cvx=HEPB, mvx="SKB", lot_number="BENCH-HB", expiry_date=tomorrow + timedelta(365)
            ),
        )
        supply.set_release_status(session, lab, lot.id, ReleaseStatus.RELEASED, "bench")
    stations = []
    with transaction(sessions) as session:
        for number in range(site_count):
            site = sites.create_site(
                session, operator(), SiteIn(code=f"BENCH-{number:03}", name=f"Trạm {number}")
            )
            vaccinator = _user(session, f"bench-vaccinator-{number}", Role.VACCINATOR, site.id)
            supply.receive_stock(
                session,
                officer,
                ReceiptIn(
                    site_id=site.id, lot_id=lot.id, quantity=per_site + 10, occurred_on=now.date()
                ),
            )
            every_day = [WeeklyHours(weekday=d, opens=clock(7), closes=clock(17)) for d in range(7)]
            planning.set_opening_hours(session, vaccinator, site.id, every_day)
            planning.offer_vaccine(session, vaccinator, site.id, OfferedVaccine(cvx=HEPB))
            starts = slot_starts(clock(7), clock(17), SLOT_MINUTES)
            clinic = planning.create_session(
                session,
                vaccinator,
                SessionIn(
                    site_id=site.id,
                    day=tomorrow,
                    start_time=clock(7),
                    end_time=clock(17),
                    slot_minutes=SLOT_MINUTES,
                    capacity=math.ceil(per_site / len(starts)) * len(starts),
                    vaccines=[HEPB],
                ),
                now,
            )
            stations.append((vaccinator, clinic.id, starts))
    bookings = []
    born = now.date() - timedelta(days=70)
    for first in range(0, babies, 500):
        with transaction(sessions) as session:
            for number in range(first, min(first + 500, babies)):
                vaccinator, clinic_id, starts = stations[number % site_count]
                guardians = []
                if booked_by == "parent":
                    mother = registry.create_person(
                        session,
                        vaccinator,
                        PersonIn(family_name="Lê", given_name=f"Mẹ {number}", birth_date=MOTHERS),
                    )
                    guardians = [GuardianLink(guardian_id=mother.id, relationship="mother")]
                baby = registry.create_person(
                    session,
                    vaccinator,
                    PersonIn(
                        family_name="Lê",
                        given_name=f"Bé {number}",
                        birth_date=born,
                        guardians=guardians,
                    ),
                )
                booker = vaccinator
                if booked_by == "parent":
                    booker = _user(
                        session, f"bench-mother-{number}", Role.CITIZEN, person_id=mother.id
                    )
                slot = starts[number // site_count % len(starts)]
                data = AppointmentIn(
                    person_id=baby.id,
                    session_id=clinic_id,
                    slot_start=slot,
                    vaccines=[HEPB],
                    schedule="vn",
                )
                bookings.append((booker, data))
    return bookings


def book_all(
    sessions: sessionmaker[Session],
    bookings: list[tuple[Actor, AppointmentIn]],
    clients: int,
    now: datetime,
) -> float:
    """Make every booking with `clients` threads; the seconds it took."""
    work: queue.SimpleQueue[tuple[Actor, AppointmentIn]] = queue.SimpleQueue()
    for item in bookings:
        work.put(item)
    failures: list[BaseException] = []

    def client() -> None:
        while True:
            try:
                actor, data = work.get_nowait()
            except queue.Empty:
                return
            try:
                with transaction(sessions) as session:
                    service.book(session, actor, data, now)
            except Exception as error:  # reported after the run: every booking must succeed
                failures.append(error)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} bookings failed, the first: {failures[0]!r}")
    return elapsed


def _worker(
    url: str,
    share: list[tuple[Actor, AppointmentIn]],
    clients: int,
    now: datetime,
    ready: Barrier,
    go: Barrier,
    cpu_seconds: Queue[float],
) -> None:
    """One worker process: its own engine, a few bookings untimed (schedules loaded, statements
    prepared), then its share with `clients` threads once every worker is ready."""
    engine = make_engine(url, pool_size=clients, max_overflow=0)
    sessions = make_sessionmaker(engine)
    book_all(sessions, share[:WARM_UP], 1, now)
    ready.wait()
    go.wait()
    started = time.process_time()
    book_all(sessions, share[WARM_UP:], clients, now)
    cpu_seconds.put(time.process_time() - started)
    engine.dispose()


def _busy_seconds() -> float:
    """CPU seconds the machine has spent busy (all cores, /proc/stat), for the split below."""
    first_line = Path("/proc/stat").read_text().splitlines()[0]
    fields = [int(value) for value in first_line.split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Run(NamedTuple):
    seconds: float
    bench_cpu: float  # CPU seconds of the booking processes
    machine_cpu: float  # CPU seconds of the whole machine meanwhile


def run_workers(
    url: str, bookings: list[tuple[Actor, AppointmentIn]], clients: int, workers: int, now: datetime
) -> Run:
    """Book with `clients` threads in all, over `workers` processes, started together."""
    context = multiprocessing.get_context("fork")
    ready, go = context.Barrier(workers + 1), context.Barrier(workers + 1)
    cpu_seconds: Queue[float] = context.Queue()
    shares = [bookings[index::workers] for index in range(workers)]
    per_worker = [clients // workers + (index < clients % workers) for index in range(workers)]
    processes = [
        context.Process(target=_worker, args=(url, share, count, now, ready, go, cpu_seconds))
        for share, count in zip(shares, per_worker, strict=True)
    ]
    for process in processes:
        process.start()
    ready.wait()
    busy = _busy_seconds()
    started = time.perf_counter()
    go.wait()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    busy = _busy_seconds() - busy
    if any(process.exitcode for process in processes):
        raise SystemExit("a worker failed (see above)")
    return Run(elapsed, sum(cpu_seconds.get() for _ in processes), busy)


class Pgbench:
    """pgbench against a scratch database of its own, initialized once (`pgbench -i -s 1`)."""

    def __init__(self, url: str, clients: int, seconds: int) -> None:
        self.program = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
        target = make_url(url)
        self.connection = [
            "-h",
            target.host or "127.0.0.1",
            "-p",
            str(target.port or 5432),
            "-U",
            target.username or "postgres",
            target.database or "",
        ]
        self.options = ["-c", str(clients), "-j", "2", "-T", str(seconds)]
        subprocess.run(
            [self.program, "-i", "-s", "1", "-q", *self.connection], check=True, capture_output=True
        )

    @property
    def command(self) -> str:
        return " ".join(["pgbench", *self.options])

    def tps(self) -> float:
        """Transactions per second of its built-in TPC-B-like script, without the initial
        connection time."""
        run = subprocess.run(
            [self.program, *self.options, *self.connection],
            check=True,
            capture_output=True,
            text=True,
        )
        found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout)
        if found is None:
            raise SystemExit(f"no tps in pgbench's output:\n{run.stdout}")
        return float(found.group(1))


def _load() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("IMMUNIS_TEST_POSTGRES_URL"))
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients, both sides")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes the clients run in"
    )
    parser.add_argument("-n", type=int, default=4000, help="bookings to make in each round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of bookings, then pgbench")
    parser.add_argument("--sites", type=int, default=10, help="stations the bookings go to")
    parser.add_argument("--seconds", type=int, default=10, help="pgbench's run in each round")
    parser.add_argument(
        "--booked-by",
        choices=["vaccinator", "parent"],
        default="vaccinator",
        help="who books: the station's vaccinator, or the baby's mother online",
    )
    args = parser.parse_args()
    if not args.url or not args.url.startswith("postgresql"):
        parser.error("give a PostgreSQL server: --url or IMMUNIS_TEST_POSTGRES_URL")
    if not 1 <= args.workers <= args.clients:
        parser.error("--workers must be between 1 and --clients")
    print(f"load average before (1, 5, 15 min): {_load()}; {os.cpu_count()} cores")
    now = datetime.now().astimezone()
    tomorrow = now.date() + timedelta(days=1)
    per_round = args.n + WARM_UP * args.workers
    with (
        scratch_database(args.url, "immunis_bench") as url,
        scratch_database(args.url, "pgbench_bench") as pgbench_url,
    ):
        upgrade(url)
        engine = make_engine(url)
        bookings = seed(
            make_sessionmaker(engine),
            args.sites,
            per_round * args.rounds,
            tomorrow,
            now,
            args.booked_by,
        )
        version = ".".join(str(part) for part in engine.dialect.server_version_info or ())
        engine.dispose()
        pgbench = Pgbench(pgbench_url, args.clients, args.seconds)
        print(
            f"PostgreSQL {version}; {args.n} bookings a round by {args.booked_by}s at "
            f"{args.sites} stations, "
            f"{args.clients} clients in {args.workers} worker process(es); {pgbench.command} "
            "(TPC-B-like, scale 1)"
        )
        ratios = []
        for number in range(args.rounds):
            share = bookings[number * per_round : (number + 1) * per_round]
            run = run_workers(url, share, args.clients, args.workers, now)
            rate = args.n / run.seconds
            tps = pgbench.tps()
            ratios.append(rate / tps)
            in_workers = run.bench_cpu / args.n * 1000
            elsewhere = (run.machine_cpu - run.bench_cpu) / args.n * 1000
            print(
                f"round {number + 1}: {rate:.0f} bookings/s, pgbench {tps:.0f} tps, ratio "
                f"{rate / tps:.2f}; CPU per booking {in_workers:.2f} ms in the workers, "
                f"{elsewhere:.2f} ms elsewhere (PostgreSQL, kernel, other work); busy "
                f"{run.machine_cpu / run.seconds:.2f} of {os.cpu_count()} cores"
            )
    print(
        f"ratio bookings/s : pgbench tps, median of {args.rounds} rounds = "
        f"{statistics.median(ratios):.2f} (target 0.5)"
    )
    print(f"load average after (1, 5, 15 min): {_load()}")


if __name__ == "__main__":
    main()
