"""Many clients booking at the same moment never overbook: not a session's capacity, and not the
usable stock left once earlier bookings' doses are promised. Each client is a thread with its
own session and transaction, all released together; on PostgreSQL 200 clients (through a pool of
40 connections: the server takes 100 in all) race for the last 50 places or doses, on SQLite 30
clients for the last 10."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from immunis.booking import counters, service
from immunis.booking.lifecycle import HOLDING_DOSES
from immunis.booking.models import Appointment, AppointmentVaccine, ClinicSession
from immunis.booking.schemas import AppointmentIn, SessionOut
from immunis.booking.slots import slot_starts
from immunis.db import make_engine, make_sessionmaker, transaction
from immunis.errors import Conflict
from immunis.registry import service as registry
from immunis.registry.schemas import PersonIn
from immunis.supply import availability
from tests.booking.conftest import HEPB, NOW, TODAY, TOMORROW, BookingWorld
from tests.supply.conftest import BA_DINH

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Race:
    clients: int
    left: int  # places (or doses) still to be had when the race starts
    connections: int


RACES = {"postgresql": Race(200, 50, 40), "sqlite": Race(30, 10, 30)}


@dataclass
class Watch:
    """The most doses ever promised beyond the usable stock, seen while the race ran."""

    worst_overpromise: int = -(10**9)
    samples: int = 0
    done: threading.Event = field(default_factory=threading.Event)


def _race(booking: BookingWorld, database_url: str) -> Race:
    return RACES["sqlite" if database_url.startswith("sqlite") else "postgresql"]


def _babies(booking: BookingWorld, count: int) -> list[str]:
    vaccinator = booking.supply.actor("vaccinator")
    born = TODAY.fromordinal(TODAY.toordinal() - 70)
    with transaction(booking.world.sessions) as session:
        return [
            registry.create_person(
                session,
                vaccinator,
                PersonIn(family_name="Lê", given_name=f"Bé {n}", birth_date=born, address=BA_DINH),
            ).id
            for n in range(count)
        ]


def _book_all_at_once(
    booking: BookingWorld,
    database_url: str,
    clinics: list[SessionOut],
    people: list[str],
    watch: Watch,
) -> Counter[str]:
    """Every person books at the same moment, round the sessions and their slots."""
    race = _race(booking, database_url)
    engine = make_engine(database_url, pool_size=race.connections, max_overflow=0, pool_timeout=300)
    sessions = make_sessionmaker(engine)
    vaccinator = booking.supply.actor("vaccinator")
    start = threading.Barrier(len(people))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def client(number: int, person_id: str) -> None:
        clinic = clinics[number % len(clinics)]
        starts = slot_starts(clinic.start_time, clinic.end_time, clinic.slot_minutes)
        data = AppointmentIn(
            person_id=person_id,
            session_id=clinic.id,
            slot_start=starts[number // len(clinics) % len(starts)],
            vaccines=[HEPB],
            schedule="vn",
        )
        start.wait()
        try:
            with transaction(sessions) as session:
                service.book(session, vaccinator, data, NOW)
            outcome = "booked"
        except Conflict:
            outcome = "refused"
        with lock:
            outcomes[outcome] += 1

    def watcher() -> None:
        watching = make_sessionmaker(make_engine(database_url, pool_size=1, max_overflow=0))
        while not watch.done.is_set():
            with watching() as session:
                promised = counters.reserved(session, booking.station, [HEPB]).get(HEPB, 0)
                usable = availability.usable_doses(session, booking.station, HEPB, TOMORROW)
            watch.worst_overpromise = max(watch.worst_overpromise, promised - usable)
            watch.samples += 1
        watching.kw["bind"].dispose()

    threads = [threading.Thread(target=client, args=item) for item in enumerate(people)]
    observer = threading.Thread(target=watcher)
    observer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    watch.done.set()
    observer.join()
    engine.dispose()
    return outcomes


def _fill_slots(booking: BookingWorld, clinic: SessionOut, per_slot: int) -> None:
    """Book `per_slot` people into every slot of the session, one after another."""
    starts = slot_starts(clinic.start_time, clinic.end_time, clinic.slot_minutes)
    people = iter(_babies(booking, per_slot * len(starts)))
    for start in starts:
        for _ in range(per_slot):
            booking.book(next(people), clinic, at=f"{start:%H:%M}", who="vaccinator")


def _tally(booking: BookingWorld, clinics: list[SessionOut]) -> tuple[int, int, int, int, int]:
    """The sessions' counters, their appointments, the most in one slot, the doses promised and
    the doses promised according to the appointments themselves."""
    ids = [clinic.id for clinic in clinics]
    with booking.world.sessions() as session:
        counter = session.scalar(
            select(func.sum(ClinicSession.booked)).where(ClinicSession.id.in_(ids))
        )
        counts = list(
            session.execute(
                select(func.count())
                .where(Appointment.session_id.in_(ids))
                .group_by(Appointment.session_id, Appointment.slot_start)
            ).scalars()
        )
        promised = counters.reserved(session, booking.station, [HEPB])[HEPB]
        holding = session.scalar(
            select(func.count())
            .select_from(AppointmentVaccine)
            .join(Appointment, Appointment.id == AppointmentVaccine.appointment_id)
            .where(Appointment.status.in_([s.value for s in HOLDING_DOSES]))
        )
    return int(counter or 0), sum(counts), max(counts), promised, int(holding or 0)


def test_the_last_places_of_a_session_go_to_exactly_that_many_clients(
    booking: BookingWorld, database_url: str
) -> None:
    race = _race(booking, database_url)
    booking.stock("HB1001", 1000)
    # Six slots; two places in each are taken before the race.
    capacity = race.left + 12
    clinic = booking.plan(capacity=capacity)
    _fill_slots(booking, clinic, per_slot=2)
    watch = Watch()
    people = _babies(booking, race.clients)

    outcomes = _book_all_at_once(booking, database_url, [clinic], people, watch)

    assert outcomes == {"booked": race.left, "refused": race.clients - race.left}
    counter, appointments, fullest_slot, promised, holding = _tally(booking, [clinic])
    assert (counter, appointments) == (capacity, capacity)
    assert fullest_slot <= clinic.places_per_slot
    assert promised == holding == capacity
    assert watch.samples > 0 and watch.worst_overpromise <= 0


def test_the_last_doses_in_stock_go_to_exactly_that_many_clients(
    booking: BookingWorld, database_url: str
) -> None:
    race = _race(booking, database_url)
    booking.stock("HB1001", 12 + race.left)
    # Three sessions with room for everyone: only the stock they share is short, and the
    # sessions' own locks do not queue the clients of different sessions behind each other.
    clinics = [
        booking.plan(start=start, end=end, capacity=race.clients + 12)
        for start, end in (("07:00", "10:00"), ("10:00", "13:00"), ("13:00", "16:00"))
    ]
    _fill_slots(booking, clinics[0], per_slot=2)
    watch = Watch()
    people = _babies(booking, race.clients)

    outcomes = _book_all_at_once(booking, database_url, clinics, people, watch)

    assert outcomes == {"booked": race.left, "refused": race.clients - race.left}
    counter, appointments, _, promised, holding = _tally(booking, clinics)
    assert counter == appointments == promised == holding == 12 + race.left
    assert watch.samples > 0 and watch.worst_overpromise <= 0
