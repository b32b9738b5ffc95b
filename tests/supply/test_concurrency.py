"""Stock cannot be overdrawn by requests that arrive at the same moment: on PostgreSQL the
balance row's lock makes them wait their turn, on SQLite its single writer does."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from immunis.db import make_engine, make_sessionmaker, transaction
from immunis.errors import Conflict
from immunis.supply import service
from immunis.supply.models import StockMovement
from immunis.supply.schemas import TransferIn
from tests.supply.conftest import TODAY, SupplyWorld

THREADS = 20


def test_twenty_dispatches_at_once_send_exactly_what_the_store_holds(
    supply: SupplyWorld, database_url: str
) -> None:
    lot = supply.lot("DTP9001", cvx="198")
    supply.receive("national", lot.id, 100)
    officer = supply.actor("national_officer")
    engine = make_engine(database_url, pool_size=THREADS, max_overflow=0)
    sessions = make_sessionmaker(engine)
    start = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def send_ten() -> None:
        start.wait()
        try:
            with transaction(sessions) as session:
                service.dispatch(
                    session,
                    officer,
                    TransferIn(
                        from_site_id=supply.sites["national"],
                        to_site_id=supply.sites["province"],
                        lot_id=lot.id,
                        quantity=10,
                        dispatched_on=TODAY,
                    ),
                )
            outcomes.append("sent")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=send_ten) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()

    assert sorted(outcomes) == ["refused"] * 10 + ["sent"] * 10
    with supply.world.sessions() as session:
        dispatched = session.scalar(
            select(func.sum(StockMovement.quantity)).where(StockMovement.kind == "dispatch")
        )
    assert dispatched == -100
    assert supply.balance("national", lot.id) == 0
