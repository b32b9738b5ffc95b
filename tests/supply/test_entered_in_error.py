"""A dose marked entered in error gives its stock back, once; restored, it takes it again. Through
the service, FHIR and HL7 v2, on both databases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from immunis.access.models import AuditEvent
from immunis.db import make_engine, make_sessionmaker, transaction, utcnow
from immunis.errors import Conflict
from immunis.registry import service as registry
from immunis.registry.models import Immunization
from immunis.registry.schemas import ImmunizationIn, ImmunizationStatus
from immunis.supply import availability, service
from immunis.supply.models import OpenedVial, StockBalance, StockMovement
from tests.interop.fhir.helpers import dose, send
from tests.interop.hl7v2.messages import BIRTH, Answer, hep_b_at_birth, vxu, wire
from tests.supply.conftest import TODAY, SupplyWorld

ADMINISTERED = ("administered", -1, None)
RETURNED = ("returned", 1, "entered-in-error")
WRITTEN_OFF = ("wasted", -1, "opened_vial_discarded")
WRITE_OFF_REVERSED = ("wasted", 1, "opened_vial_discarded")


def _ledger(supply: SupplyWorld, dose_id: str) -> list[tuple[str, int, str | None]]:
    """The immunization's lines in the stock ledger, oldest first."""
    with supply.world.sessions() as session:
        lines = session.scalars(
            select(StockMovement)
            .where(StockMovement.immunization_id == dose_id)
            .order_by(StockMovement.id)
        )
        return [(line.kind, line.quantity, line.reason) for line in lines]


def _stock(supply: SupplyWorld, site: str, lot_id: str) -> int:
    """The lot's balance at the site, after checking the ledger and the running balance agree."""
    with supply.world.sessions() as session:
        running = session.get(StockBalance, (lot_id, supply.sites[site]))
    assert running is not None
    assert running.quantity == supply.balance(site, lot_id)
    return running.quantity


def _vials(supply: SupplyWorld) -> list[tuple[int, bool]]:
    with supply.world.sessions() as session:
        vials = session.scalars(select(OpenedVial).order_by(OpenedVial.opened_at)).all()
    return [(v.doses_left, v.closed_at is None) for v in vials]


def _marking(
    supply: SupplyWorld, dose_id: str, status: ImmunizationStatus
) -> Callable[[Session], None]:
    """A transaction's work: set a recorded dose's status, its details kept as they are."""
    vaccinator = supply.actor("vaccinator")

    def mark(session: Session) -> None:
        recorded = registry.get_immunization(session, vaccinator, dose_id)
        kept = ImmunizationIn.model_validate(
            recorded.model_dump(include=set(ImmunizationIn.model_fields))
        )
        registry.update_immunization(
            session, vaccinator, dose_id, recorded.person_id, kept, status=status
        )

    return mark


def _mark(supply: SupplyWorld, dose_id: str, status: ImmunizationStatus) -> None:
    supply.run(_marking(supply, dose_id, status))


def _bcg(supply: SupplyWorld, lot_number: str, *, doses_per_vial: int, received: int) -> str:
    lot = supply.lot(lot_number, cvx="19", doses_per_vial=doses_per_vial, hours=6)
    supply.receive("station", lot.id, received)
    return lot.id


def test_a_single_dose_marked_in_error_over_fhir_goes_back_once_and_out_again_when_restored(
    supply: SupplyWorld,
) -> None:
    lot = supply.lot("HB3001")
    supply.receive("station", lot.id, 5)
    patient_id = supply.person("An")
    given = {
        "occurrenceDateTime": TODAY.isoformat(),
        "lotNumber": "HB3001",
        "expirationDate": lot.expiry_date.isoformat(),
    }
    response = send(
        supply.world, "POST", "/fhir/Immunization", "vaccinator", dose(patient_id, **given)
    )
    assert response.status_code == 201, response.text
    dose_id = response.json()["id"]
    assert _stock(supply, "station", lot.id) == 4

    def put(status: str) -> None:
        changed = dose(patient_id, id=dose_id, status=status, **given)
        answer = send(supply.world, "PUT", f"/fhir/Immunization/{dose_id}", "vaccinator", changed)
        assert answer.status_code == 200, answer.text

    put("entered-in-error")
    assert _stock(supply, "station", lot.id) == 5
    assert _ledger(supply, dose_id) == [ADMINISTERED, RETURNED]
    with supply.world.sessions() as session:
        # What booking promises against: usable stock reads the running balance.
        assert availability.usable_doses(session, supply.sites["station"], "08", TODAY) == 5

    put("entered-in-error")
    assert _stock(supply, "station", lot.id) == 5
    assert _ledger(supply, dose_id) == [ADMINISTERED, RETURNED]

    put("completed")
    assert _stock(supply, "station", lot.id) == 4
    assert _ledger(supply, dose_id) == [ADMINISTERED, RETURNED, ADMINISTERED]


def test_a_dose_from_a_vial_still_open_goes_back_into_it(supply: SupplyWorld) -> None:
    lot_id = _bcg(supply, "BCG4001", doses_per_vial=10, received=20)
    first = supply.give(supply.person("An"), "BCG4001", cvx="19")
    supply.give(supply.person("Bình"), "BCG4001", cvx="19")
    assert (_vials(supply), _stock(supply, "station", lot_id)) == ([(8, True)], 18)

    _mark(supply, first, "entered-in-error")
    assert (_vials(supply), _stock(supply, "station", lot_id)) == ([(9, True)], 19)
    assert _ledger(supply, first) == [ADMINISTERED, RETURNED]

    _mark(supply, first, "entered-in-error")
    assert (_vials(supply), _stock(supply, "station", lot_id)) == ([(9, True)], 19)

    _mark(supply, first, "completed")
    assert (_vials(supply), _stock(supply, "station", lot_id)) == ([(8, True)], 18)
    assert _ledger(supply, first) == [ADMINISTERED, RETURNED, ADMINISTERED]


def test_a_dose_from_a_finished_vial_is_written_off_with_it_and_the_balance_stays(
    supply: SupplyWorld,
) -> None:
    lot_id = _bcg(supply, "BCG4002", doses_per_vial=2, received=10)
    first = supply.give(supply.person("An"), "BCG4002", cvx="19")
    supply.give(supply.person("Bình"), "BCG4002", cvx="19")
    assert (_vials(supply), _stock(supply, "station", lot_id)) == ([(0, False)], 8)

    _mark(supply, first, "entered-in-error")
    _mark(supply, first, "entered-in-error")
    assert (_vials(supply), _stock(supply, "station", lot_id)) == ([(0, False)], 8)
    assert _ledger(supply, first) == [ADMINISTERED, RETURNED, WRITTEN_OFF]
    with supply.world.sessions() as session:
        note = session.scalars(
            select(StockMovement.note).where(
                StockMovement.immunization_id == first, StockMovement.kind == "wasted"
            )
        ).one()
    assert note is not None and "vial was closed" in note

    # Given after all: the write-off is reversed, and no vial is opened for a dose long given.
    _mark(supply, first, "completed")
    assert (_vials(supply), _stock(supply, "station", lot_id)) == ([(0, False)], 8)
    assert _ledger(supply, first) == [
        ADMINISTERED,
        RETURNED,
        WRITTEN_OFF,
        WRITE_OFF_REVERSED,
        ADMINISTERED,
    ]


def test_a_dose_from_a_discarded_vial_leaves_the_balance_as_it_was(supply: SupplyWorld) -> None:
    lot_id = _bcg(supply, "BCG4003", doses_per_vial=10, received=100)
    first = supply.give(supply.person("An"), "BCG4003", cvx="19", at=utcnow() - timedelta(hours=7))
    assert supply.run(service.close_expired_vials, utcnow()) == 1
    assert (_vials(supply), _stock(supply, "station", lot_id)) == ([(0, False)], 90)

    _mark(supply, first, "entered-in-error")
    assert (_vials(supply), _stock(supply, "station", lot_id)) == ([(0, False)], 90)
    assert _ledger(supply, first) == [ADMINISTERED, RETURNED, WRITTEN_OFF]


def test_a_vial_past_its_time_is_discarded_rather_than_given_the_dose_back(
    supply: SupplyWorld,
) -> None:
    lot_id = _bcg(supply, "BCG4004", doses_per_vial=10, received=100)
    first = supply.give(supply.person("An"), "BCG4004", cvx="19", at=utcnow() - timedelta(hours=7))
    assert (_vials(supply), _stock(supply, "station", lot_id)) == ([(9, True)], 99)

    _mark(supply, first, "entered-in-error")
    # The vial's nine doses go as its time is up; the dose it gave back goes with them.
    assert (_vials(supply), _stock(supply, "station", lot_id)) == ([(0, False)], 90)
    assert _ledger(supply, first) == [ADMINISTERED, RETURNED, WRITTEN_OFF]


def test_a_dose_cannot_be_restored_when_its_lot_has_no_stock_left(supply: SupplyWorld) -> None:
    lot = supply.lot("HB3004")
    supply.receive("station", lot.id, 1)
    first = supply.give(supply.person("Hà"), "HB3004")
    _mark(supply, first, "entered-in-error")
    supply.give(supply.person("Khánh"), "HB3004")  # the dose given back is given to another
    with pytest.raises(Conflict, match="only 0 doses of lot HB3004"):
        _mark(supply, first, "completed")
    # Refused as a whole: the record stays entered in error, the stock untouched.
    with supply.world.sessions() as session:
        assert registry.get_immunization(session, supply.actor("vaccinator"), first).status == (
            "entered-in-error"
        )
    assert _ledger(supply, first) == [ADMINISTERED, RETURNED]
    assert _stock(supply, "station", lot.id) == 0


def test_a_reported_dose_marked_in_error_moves_no_stock(supply: SupplyWorld) -> None:
    lot = supply.lot("HB3002")
    supply.receive("station", lot.id, 5)
    baby = supply.person("Chi")
    reported = ImmunizationIn(
        date_administered=TODAY - timedelta(days=30),
        cvx="08",
        lot_number="HB3002",
        source="historical",
    )
    recorded, _ = supply.run(
        registry.record_immunization, supply.actor("vaccinator"), baby, reported
    )
    _mark(supply, recorded.id, "entered-in-error")
    _mark(supply, recorded.id, "completed")
    assert _ledger(supply, recorded.id) == []
    assert _stock(supply, "station", lot.id) == 5


def test_a_dose_given_where_stock_is_kept_elsewhere_moves_no_stock(supply: SupplyWorld) -> None:
    baby = supply.person("Dũng")
    dose_id = supply.give(baby, "ELSEWHERE9")  # the station has never held a lot here
    _mark(supply, dose_id, "entered-in-error")
    _mark(supply, dose_id, "completed")
    assert _ledger(supply, dose_id) == []


def test_a_vaccination_update_withdrawing_a_dose_from_stock_gives_it_back(
    supply: SupplyWorld,
) -> None:
    supply.sites["private"] = supply.world.sites["HN-PRIVATE-01"]
    lot = supply.lot("HB2501")
    supply.receive("private", lot.id, 10, on=BIRTH - timedelta(days=7))

    def deliver(control_id: str, action: str) -> None:
        message = wire(vxu(control_id, doses=[hep_b_at_birth(action=action)]))
        response = supply.world.client.post(
            "/hl7/v2",
            content=message,
            headers={**supply.world.headers("integration"), "Content-Type": "application/hl7-v2"},
        )
        assert response.status_code == 200, response.text
        answer = Answer.of(response.content)
        assert answer.code == "AA", answer.errors()

    deliver("VNVC-0001", "A")
    assert _stock(supply, "private", lot.id) == 9
    with supply.world.sessions() as session:
        dose_id = session.scalars(select(Immunization.id)).one()

    deliver("VNVC-0002", "D")
    assert _stock(supply, "private", lot.id) == 10
    assert _ledger(supply, dose_id) == [ADMINISTERED, RETURNED]
    with supply.world.sessions() as session:
        returned = session.scalars(
            select(StockMovement.id).where(StockMovement.kind == "returned")
        ).one()
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "stock_movement", AuditEvent.entity_id == str(returned)
            )
        ).one()
    assert (event.channel, event.role, event.detail["kind"]) == ("hl7", "integration", "returned")

    deliver("VNVC-0003", "D")
    assert _stock(supply, "private", lot.id) == 10
    assert _ledger(supply, dose_id) == [ADMINISTERED, RETURNED]


def test_the_same_dose_marked_in_error_by_several_requests_at_once_comes_back_once(
    supply: SupplyWorld, database_url: str
) -> None:
    lot = supply.lot("HB3003")
    supply.receive("station", lot.id, 5)
    dose_id = supply.give(supply.person("Giang"), "HB3003")
    mark = _marking(supply, dose_id, "entered-in-error")
    requests = 8
    engine = make_engine(database_url, pool_size=requests, max_overflow=0)
    sessions = make_sessionmaker(engine)
    start = threading.Barrier(requests)
    failures: list[BaseException] = []

    def send_mark() -> None:
        start.wait()
        try:
            with transaction(sessions) as session:
                mark(session)
        except Exception as error:  # a thread's error would otherwise pass unseen
            failures.append(error)

    threads = [threading.Thread(target=send_mark) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()

    assert failures == []
    assert _ledger(supply, dose_id) == [ADMINISTERED, RETURNED]
    assert _stock(supply, "station", lot.id) == 5
