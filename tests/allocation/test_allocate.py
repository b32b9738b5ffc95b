"""Fair allocation: a hand-worked example, and invariants that hold for any input."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from immunis.allocation.allocate import (
    AllocationError,
    Lot,
    Policy,
    Province,
    allocate,
    split,
)

HANOI = Province("01", "Hà Nội", population=1000, tiers={1: 50, 2: 200}, cold_chain_capacity=900)
HUE = Province("46", "Huế", population=500, tiers={1: 30, 2: 100}, cold_chain_capacity=900)
LAI_CHAU = Province("12", "Lai Châu", population=250, tiers={1: 10, 2: 60}, cold_chain_capacity=40)


def test_a_hand_worked_allocation() -> None:
    lots = [Lot("B", 400, date(2026, 6, 1)), Lot("A", 300, date(2026, 3, 1))]
    result = allocate(
        lots, [HANOI, HUE, LAI_CHAU], Policy(doses_per_person=2, proportional_share=0.2)
    )
    # Proportional: 20% of the people, 2 doses each: 400, 200 and 100 doses wanted; Lai Châu can
    # store only 40, and the 60 it cannot take go to the others in proportion to population.
    assert result.by_phase["proportional"] == {"01": 400, "46": 200, "12": 40}
    # 60 doses left for tier 1: unmet need after phase 1 counts those already covered
    # (Hà Nội 200 people covered >= 50 in tier 1, Huế 100 >= 30, Lai Châu 20 >= 10): none.
    assert result.by_phase["tier 1"] == {"01": 0, "46": 0, "12": 0}
    # Tier 2: Hà Nội 200 - 150 left over = 50 people (100 doses), Huế 100 - 70 = 30 (60),
    # Lai Châu is full. 60 doses shared 100:60 -> 37.5 : 22.5 -> 38 and 22 by largest remainder.
    assert result.by_phase["tier 2"] == {"01": 38, "46": 22, "12": 0}
    assert result.doses == {"01": 438, "46": 222, "12": 40}
    assert result.unallocated == 0
    # The earliest-expiring lot A goes first, to the provinces served in the first phase.
    assert [(s.lot_id, s.province_code, s.doses) for s in result.lots][:2] == [
        ("A", "01", 300),
        ("B", "01", 138),
    ]
    assert any("Lai Châu" in step and "cold chain" in step for step in result.steps)


def test_split_uses_largest_remainders_and_breaks_ties_by_code() -> None:
    assert split(10, {"a": 1, "b": 1, "c": 1}, {"a": 10, "b": 10, "c": 10}) == {
        "a": 4,
        "b": 3,
        "c": 3,
    }


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(AllocationError, match="twice"):
        allocate([Lot("A", 10, date(2026, 1, 1))], [HANOI, HANOI])
    with pytest.raises(AllocationError, match="negative"):
        allocate([Lot("A", -1, date(2026, 1, 1))], [HANOI])


provinces_strategy = st.lists(
    st.builds(
        lambda code, pop, t1, t2, cap, hold: Province(
            f"{code:02d}", f"P{code}", pop, {1: min(t1, pop), 2: min(t2, pop)}, cap, hold
        ),
        st.integers(1, 99),
        st.integers(0, 100_000),
        st.integers(0, 20_000),
        st.integers(0, 50_000),
        st.integers(0, 200_000),
        st.integers(0, 5_000),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda p: p.code,
)
lots_strategy = st.lists(
    st.builds(
        lambda i, n, d: Lot(f"L{i}", n, date(2026, 1, 1 + d)),
        st.integers(0, 999),
        st.integers(0, 100_000),
        st.integers(0, 27),
    ),
    max_size=5,
    unique_by=lambda lot: lot.lot_id,
)


@settings(max_examples=200, deadline=None)
@given(lots_strategy, provinces_strategy, st.integers(1, 3), st.floats(0, 1))
def test_allocation_invariants(
    lots: list[Lot], provinces: list[Province], doses_per_person: int, share: float
) -> None:
    policy = Policy(doses_per_person, share)
    result = allocate(lots, provinces, policy)
    total = sum(lot.doses for lot in lots)
    assert sum(result.doses.values()) + result.unallocated == total  # never more than available
    for province in provinces:
        assert result.doses[province.code] <= max(
            province.cold_chain_capacity - province.holding, 0
        )
    # Lots: every allocated dose comes from a lot, and no lot is over-spent.
    assert sum(s.doses for s in result.lots) == sum(result.doses.values())
    for lot in lots:
        assert sum(s.doses for s in result.lots if s.lot_id == lot.lot_id) <= lot.doses
    # Tiers are honoured: tier 2 gets doses only when tier 1's need is met or cannot be stored.
    if sum(result.by_phase.get("tier 2", {}).values()) > 0:
        for province in provinces:
            tier_one_need = province.tiers.get(1, 0) * doses_per_person
            got = (
                result.by_phase["proportional"][province.code]
                + result.by_phase["tier 1"][province.code]
            )
            full = result.doses[province.code] >= province.cold_chain_capacity - province.holding
            assert got >= tier_one_need or full
    assert allocate(lots, provinces, policy) == result  # deterministic
