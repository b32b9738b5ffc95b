"""A recorded dose corrected to another lot moves its dose in the stock ledger: back to the lot it
was wrongly taken from, out of the lot it came from, which must be one that may be given. Edits
that leave the lot and the site alone touch no stock and check no lot again. On both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from immunis.errors import InvalidInput
from immunis.registry import service as registry
from immunis.registry.models import Immunization
from immunis.registry.schemas import ImmunizationIn
from immunis.supply import service
from immunis.supply.models import StockMovement
from immunis.supply.release import ReleaseStatus
from tests.interop.fhir.helpers import dose, send
from tests.supply.conftest import TODAY, SupplyWorld

RELEASED = ReleaseStatus.RELEASED


def _correcting(supply: SupplyWorld, dose_id: str, **changes: Any) -> Callable[[Session], None]:
    """A transaction's work: the recorded dose with `changes`, the rest as it is."""
    vaccinator = supply.actor("vaccinator")

    def correct(session: Session) -> None:
        recorded = registry.get_immunization(session, vaccinator, dose_id)
        fields = recorded.model_dump(include=set(ImmunizationIn.model_fields))
        registry.update_immunization(
            session,
            vaccinator,
            dose_id,
            recorded.person_id,
            ImmunizationIn.model_validate({**fields, **changes}),
        )

    return correct


def _ledger(supply: SupplyWorld, dose_id: str) -> list[tuple[str, str, int, str | None]]:
    """The dose's ledger lines, oldest first: kind, lot number, quantity, reason."""
    with supply.world.sessions() as session:
        lines = session.scalars(
            select(StockMovement)
            .where(StockMovement.immunization_id == dose_id)
            .order_by(StockMovement.id)
        )
        lots = {lot.id: lot.lot_number for lot in service.list_lots(session, supply.actor("lab"))}
        return [(line.kind, lots[line.lot_id], line.quantity, line.reason) for line in lines]


def _lot_number(supply: SupplyWorld, dose_id: str) -> str | None:
    with supply.world.sessions() as session:
        row = session.get(Immunization, dose_id)
        assert row is not None
        return row.lot_number


def test_a_dose_corrected_to_another_lot_moves_its_dose_between_the_lots(
    supply: SupplyWorld,
) -> None:
    wrong, right = supply.lot("HB5001"), supply.lot("HB5002")
    supply.receive("station", wrong.id, 5)
    supply.receive("station", right.id, 5)
    given = supply.give(supply.person("An"), "HB5001")
    assert (supply.balance("station", wrong.id), supply.balance("station", right.id)) == (4, 5)

    supply.run(_correcting(supply, given, lot_number="hb5002 "))  # typed by hand
    assert (supply.balance("station", wrong.id), supply.balance("station", right.id)) == (5, 4)
    assert _ledger(supply, given) == [
        ("administered", "HB5001", -1, None),
        ("returned", "HB5001", 1, "corrected"),
        ("administered", "HB5002", -1, None),
    ]

    # Sent again, the same correction moves nothing more.
    supply.run(_correcting(supply, given, lot_number="HB5002"))
    assert (supply.balance("station", wrong.id), supply.balance("station", right.id)) == (5, 4)
    assert len(_ledger(supply, given)) == 3


@pytest.mark.parametrize(
    ("status", "why"),
    [(ReleaseStatus.PENDING, "waiting for release"), (ReleaseStatus.QUARANTINED, "in quarantine")],
)
def test_a_correction_to_a_lot_that_may_not_be_given_is_refused_and_changes_nothing(
    supply: SupplyWorld, status: ReleaseStatus, why: str
) -> None:
    first = supply.lot("HB5003")
    supply.receive("station", first.id, 5)
    blocked = supply.lot("HB5004", status=ReleaseStatus.PENDING)
    supply.receive("station", blocked.id, 5)  # received while pending, then held back
    for step in {ReleaseStatus.PENDING: [], ReleaseStatus.QUARANTINED: [RELEASED, status]}[status]:
        supply.run(service.set_release_status, supply.actor("lab"), blocked.id, step, "test")
    given = supply.give(supply.person("An"), "HB5003")

    with pytest.raises(InvalidInput, match=why):
        supply.run(_correcting(supply, given, lot_number="HB5004"))
    assert (supply.balance("station", first.id), supply.balance("station", blocked.id)) == (4, 5)
    assert _lot_number(supply, given) == "HB5003"
    assert _ledger(supply, given) == [("administered", "HB5003", -1, None)]


def test_an_edit_that_keeps_the_lot_checks_no_lot_and_moves_no_stock(supply: SupplyWorld) -> None:
    lot = supply.lot("HB5005")
    supply.receive("station", lot.id, 5)
    given = supply.give(supply.person("An"), "HB5005")
    # Quarantined after the dose was given: the dose's other details can still be corrected.
    supply.run(
        service.set_release_status,
        supply.actor("lab"),
        lot.id,
        ReleaseStatus.QUARANTINED,
        "test: cold chain break reported",
    )

    supply.run(_correcting(supply, given, performer="Y tá Hoa", date_administered=TODAY))
    assert supply.balance("station", lot.id) == 4
    assert _ledger(supply, given) == [("administered", "HB5005", -1, None)]


def test_a_fhir_update_without_a_location_keeps_the_dose_where_it_was_given(
    supply: SupplyWorld,
) -> None:
    lot = supply.lot("HB5006")
    supply.receive("station", lot.id, 5)
    patient_id = supply.person("An")
    given = {
        "occurrenceDateTime": TODAY.isoformat(),
        "lotNumber": "HB5006",
        "expirationDate": lot.expiry_date.isoformat(),
    }
    made = send(supply.world, "POST", "/fhir/Immunization", "vaccinator", dose(patient_id, **given))
    assert made.status_code == 201, made.text
    dose_id = made.json()["id"]
    where = made.json()["location"]

    changed = dose(patient_id, id=dose_id, performer=[{"actor": {"display": "Y tá Hoa"}}], **given)
    assert "location" not in changed
    answer = send(supply.world, "PUT", f"/fhir/Immunization/{dose_id}", "vaccinator", changed)
    assert answer.status_code == 200, answer.text
    assert answer.json()["location"] == where
    assert supply.balance("station", lot.id) == 4
    assert _ledger(supply, dose_id) == [("administered", "HB5006", -1, None)]
