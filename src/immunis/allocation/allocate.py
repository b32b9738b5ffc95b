"""Fair allocation under shortage (pure, deterministic, explained step by step).

The policy follows the shape of COVAX's allocation framework:
1. **Proportional phase**: every province gets doses in proportion to its population, until each
   has enough to cover `proportional_share` of its population (COVAX's first 20%).
2. **Needs phase**: what is left goes to priority tiers in order (tier 1 first, e.g. health
   workers, then older people, ...). Within a tier, each province gets doses in proportion to its
   still-unmet need in that tier; a tier is finished before the next one starts.
3. **Cold chain**: no province receives more than it can store (its capacity minus what it holds);
   what a full province cannot take is offered to the others in the same step.
4. **Lots**: doses are handed out earliest expiry first, the soonest-expiring lots to the provinces
   with the most urgent (lowest-numbered tier) allocation.

Whole doses only: shares are rounded with the largest-remainder method, ties broken by province
code, so the same inputs always give the same allocation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name: str
    population: int
    # People in each priority tier (tier number -> people); tier 1 is served first.
    tiers: Mapping[int, int]
    cold_chain_capacity: int  # doses the province can store
    holding: int = 0  # doses it already holds


@dataclass(frozen=True, slots=True)
class Lot:
    lot_id: str
    doses: int
    expiry: date


@dataclass(frozen=True, slots=True)
class Policy:
    doses_per_person: int = 2
    proportional_share: float = 0.2


@dataclass(frozen=True, slots=True)
class LotShare:
    lot_id: str
    province_code: str
    doses: int
    expiry: date


@dataclass(frozen=True, slots=True)
class Allocation:
    doses: dict[str, int]  # province code -> doses
    by_phase: dict[str, dict[str, int]]  # phase name -> province -> doses
    lots: list[LotShare]
    unallocated: int
    steps: list[str] = field(default_factory=list)


class AllocationError(ValueError):
    """The inputs cannot be allocated (negative counts, duplicate province codes...)."""


def split(total: int, weights: Mapping[str, float], caps: Mapping[str, int]) -> dict[str, int]:
    """`total` whole doses shared in proportion to `weights`, never above `caps`; what a capped
    recipient cannot take is shared again among the others (largest remainder, ties by key)."""
    result = {key: 0 for key in weights}
    remaining = total
    open_keys = [k for k in sorted(weights) if weights[k] > 0 and caps.get(k, 0) > 0]
    while remaining > 0 and open_keys:
        weight_sum = sum(weights[k] for k in open_keys)
        exact = {k: remaining * weights[k] / weight_sum for k in open_keys}
        shares = {k: int(exact[k]) for k in open_keys}
        leftover = remaining - sum(shares.values())
        by_remainder = sorted(open_keys, key=lambda k: (-(exact[k] - shares[k]), k))
        for key in by_remainder[:leftover]:
            shares[key] += 1
        given = 0
        still_open = []
        for key in open_keys:
            room = caps[key] - result[key]
            take = min(shares[key], room)
            result[key] += take
            given += take
            if caps[key] - result[key] > 0:
                still_open.append(key)
        remaining -= given
        if given == 0:
            break
        open_keys = still_open
    return result


def allocate(
    available: Sequence[Lot], provinces: Sequence[Province], policy: Policy = Policy()
) -> Allocation:
    """Share the doses in `available` between `provinces` under `policy`, with the reasons."""
    codes = [p.code for p in provinces]
    if len(set(codes)) != len(codes):
        raise AllocationError("a province appears twice")
    for province in provinces:
        if min(province.population, province.cold_chain_capacity, province.holding) < 0 or any(
            n < 0 for n in province.tiers.values()
        ):
            raise AllocationError(f"negative count for province {province.code}")
    if any(lot.doses < 0 for lot in available):
        raise AllocationError("a lot has a negative number of doses")
    if not 0 <= policy.proportional_share <= 1 or policy.doses_per_person < 1:
        raise AllocationError("the policy's share must be in [0, 1] and doses per person >= 1")

    total = sum(lot.doses for lot in available)
    steps = [f"{total} doses available in {len(available)} lots for {len(provinces)} provinces."]
    room = {p.code: max(p.cold_chain_capacity - p.holding, 0) for p in provinces}
    given = {p.code: 0 for p in provinces}
    by_phase: dict[str, dict[str, int]] = {}

    # 1. Proportional phase
    target = {
        p.code: int(p.population * policy.proportional_share) * policy.doses_per_person
        for p in provinces
    }
    caps = {code: min(target[code], room[code]) for code in given}
    phase = split(min(total, sum(caps.values())), {p.code: p.population for p in provinces}, caps)
    _add(given, phase)
    by_phase["proportional"] = phase
    remaining = total - sum(phase.values())
    steps.append(
        f"Proportional phase: up to {policy.proportional_share:.0%} of each population "
        f"({policy.doses_per_person} doses each), shared by population: "
        f"{sum(phase.values())} doses given, {remaining} left."
    )
    _note_capped(steps, provinces, target, room, phase)

    # 2. Needs phase, tier by tier; people already covered in phase 1 count against tier 1 first.
    covered_people = {code: phase[code] // policy.doses_per_person for code in given}
    for tier in sorted({t for p in provinces for t in p.tiers}):
        if remaining <= 0:
            break
        need: dict[str, int] = {}
        for province in provinces:
            people = province.tiers.get(tier, 0)
            absorbed = min(people, covered_people[province.code])
            covered_people[province.code] -= absorbed
            need[province.code] = (people - absorbed) * policy.doses_per_person
        caps = {code: min(need[code], room[code] - given[code]) for code in given}
        phase = split(min(remaining, sum(max(c, 0) for c in caps.values())), need, caps)
        _add(given, phase)
        by_phase[f"tier {tier}"] = phase
        remaining -= sum(phase.values())
        steps.append(
            f"Tier {tier}: unmet need {sum(need.values())} doses, shared by need: "
            f"{sum(phase.values())} given, {remaining} left."
        )
        _note_capped(
            steps, provinces, need, {c: room[c] - given[c] + phase[c] for c in given}, phase
        )

    if remaining:
        steps.append(
            f"{remaining} doses stay unallocated: every tier's need is met or cold chains are full."
        )
    lots = _hand_out_lots(available, given, by_phase, steps)
    return Allocation(given, by_phase, lots, remaining, steps)


def _add(into: dict[str, int], more: Mapping[str, int]) -> None:
    for code, doses in more.items():
        into[code] += doses


def _note_capped(
    steps: list[str],
    provinces: Sequence[Province],
    wanted: Mapping[str, int],
    room: Mapping[str, int],
    given: Mapping[str, int],
) -> None:
    for province in provinces:
        code = province.code
        if given[code] < wanted[code] and given[code] >= room[code]:
            steps.append(
                f"  {province.name} ({code}) is capped by its cold chain at {given[code]} doses "
                f"in this step (wanted {wanted[code]})."
            )


def _urgency(code: str, by_phase: Mapping[str, Mapping[str, int]]) -> tuple[int, str]:
    """The most urgent phase a province received doses in (proportional first, then tiers)."""
    for rank, phase in enumerate(by_phase):
        if by_phase[phase].get(code, 0) > 0:
            return rank, code
    return len(by_phase), code


def _hand_out_lots(
    available: Sequence[Lot],
    given: Mapping[str, int],
    by_phase: Mapping[str, Mapping[str, int]],
    steps: list[str],
) -> list[LotShare]:
    """Earliest expiry first, to the most urgent allocations first."""
    queue = sorted((code for code in given if given[code] > 0), key=lambda c: _urgency(c, by_phase))
    owed = dict(given)
    shares: list[LotShare] = []
    for lot in sorted(available, key=lambda lot: (lot.expiry, lot.lot_id)):
        left = lot.doses
        for code in queue:
            if left == 0:
                break
            take = min(left, owed[code])
            if take:
                shares.append(LotShare(lot.lot_id, code, take, lot.expiry))
                owed[code] -= take
                left -= take
    if shares:
        steps.append(
            "Lots handed out earliest expiry first, most urgent provinces first: "
            + ", ".join(f"{s.lot_id}->{s.province_code} {s.doses}" for s in shares)
            + "."
        )
    return shares
